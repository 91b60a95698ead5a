package diagnose

import (
	"crypto/x509"
	"encoding/binary"
	"hash/fnv"
	"sync"
	"weak"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// sigCache remembers the signature checks already made. Connections to the
// same servers send the same certificates, shared through dissect's
// CertCache, and the truststore's certificates are shared too: the same
// child and parent come back connection after connection, and a signature
// check costs tens of microseconds.
//
// Entries are keyed by weak pointers: the cache keeps no certificate
// alive, and a certificate collected and another allocated at its address
// get different keys. It is bounded: past maxSigCache entries it starts
// again empty.
var sigCache memo[sigKey, bool]

const maxSigCache = 1 << 16

// memo is a bounded, concurrency-safe map from keys to values computed
// once: past maxSigCache entries it starts again empty.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// get returns the value remembered for k, computing and remembering it
// with compute the first time. compute runs without the lock held.
func (c *memo[K, V]) get(k K, compute func() V) V {
	c.mu.Lock()
	v, found := c.m[k]
	c.mu.Unlock()
	if found {
		return v
	}
	v = compute()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigCache {
		c.m = make(map[K]V)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

type sigKey struct {
	child, parent weak.Pointer[x509.Certificate]
}

// cachedCheckSig is checkSig, remembered.
func cachedCheckSig(child, parent *x509.Certificate) bool {
	k := sigKey{weak.Make(child), weak.Make(parent)}
	return sigCache.get(k, func() bool { return verifySig(child, parent) })
}

// certMemo remembers what is derived from a certificate alone and written
// into every report of a connection that sends it: its subject's one-line
// name, the description of its issuer, its key. Keyed and bounded as
// sigCache.
var certMemo memo[weak.Pointer[x509.Certificate], *certStrings]

type certStrings struct {
	name, issuer, key string
	issuerName        string // the issuer's one-line name
	bits              int
}

func memoOf(c *x509.Certificate) *certStrings {
	return certMemo.get(weak.Make(c), func() *certStrings {
		s := &certStrings{name: c.Subject.String(), issuer: issuerDesc(c), issuerName: c.Issuer.String()}
		s.key, s.bits = keyDescOf(c)
		return s
	})
}

// hostMemo remembers name checks: the same leaf and host come back
// connection after connection, and crypto/x509's check allocates.
var hostMemo memo[hostKey, hostResult]

type hostKey struct {
	cert weak.Pointer[x509.Certificate]
	host string
}

type hostResult struct {
	ok  bool
	why string
}

// nameMatches is checkName, remembered.
func nameMatches(c *x509.Certificate, host string) (bool, string) {
	r := hostMemo.get(hostKey{weak.Make(c), host}, func() hostResult {
		var r hostResult
		r.ok, r.why = checkName(c, host)
		return r
	})
	return r.ok, r.why
}

// chainMemo remembers chain reports: connections to the same server send
// the same chain (the same CertInfos, shared through dissect's CertCache),
// and its comparison with the truststore gives the same answer as long as
// every certificate is valid at the connection's time (AnalyzeChain).
// Chains of up to four certificates; keyed and bounded as sigCache.
var chainMemo memo[chainKey, *ChainReport]

type chainKey struct {
	store *truststore.Store
	n     int
	certs [4]weak.Pointer[dissect.CertInfo]
}

// trustMemo remembers whether a truststore holds a certificate: the store
// hashes the certificate (SHA-256) to find out, for every certificate of
// every connection, and the same certificates come back.
var trustMemo memo[trustKey, trustHit]

type trustKey struct {
	store *truststore.Store
	cert  weak.Pointer[x509.Certificate]
}

type trustHit struct {
	match *truststore.Cert
	how   string
}

// contains is trust.Contains(c), remembered.
func contains(trust *truststore.Store, c *x509.Certificate) (*truststore.Cert, string) {
	if trust == nil || c == nil {
		return trust.Contains(c)
	}
	h := trustMemo.get(trustKey{trust, weak.Make(c)}, func() trustHit {
		var h trustHit
		h.match, h.how = trust.Contains(c)
		return h
	})
	return h.match, h.how
}

// stackMemo remembers the stack of each distinct offer: a capture holds a
// few clients making many connections.
var stackMemo memo[uint64, clientstack.Stack]

// identify is clientstack.Identify, remembered by a hash of every feature
// Identify reads (GREASE values folded into one, as they change per
// connection).
func identify(ch *tlsparse.ClientHello) clientstack.Stack {
	if ch == nil {
		return clientstack.Identify(nil)
	}
	h := fnv.New64a()
	var b [2]byte
	u16 := func(v uint16) {
		if tlsparse.IsGREASE(v) {
			v = 0x0a0a
		}
		binary.BigEndian.PutUint16(b[:], v)
		h.Write(b[:])
	}
	list := func(vs []uint16) {
		u16(uint16(len(vs)))
		for _, v := range vs {
			u16(v)
		}
	}
	u16(uint16(ch.LegacyVersion))
	if ch.SSLv2 {
		u16(1)
	}
	list(ch.CipherSuites)
	list(ch.SupportedVersions)
	list(ch.SupportedGroups)
	list(ch.KeyShareGroups)
	list(ch.SignatureAlgorithms)
	u16(uint16(len(ch.ExtensionTypes)))
	for _, typ := range ch.ExtensionTypes {
		u16(typ)
	}
	for _, p := range ch.ALPN {
		u16(uint16(len(p)))
		h.Write([]byte(p))
	}
	return stackMemo.get(h.Sum64(), func() clientstack.Stack { return clientstack.Identify(ch) })
}
