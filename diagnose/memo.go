package diagnose

import (
	"crypto/x509"
	"sync"
	"weak"

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
var sigCache = struct {
	sync.Mutex
	m map[sigKey]bool
}{m: make(map[sigKey]bool)}

const maxSigCache = 1 << 16

type sigKey struct {
	child, parent weak.Pointer[x509.Certificate]
}

// cachedCheckSig is checkSig, remembered.
func cachedCheckSig(child, parent *x509.Certificate) bool {
	k := sigKey{weak.Make(child), weak.Make(parent)}
	sigCache.Lock()
	ok, found := sigCache.m[k]
	sigCache.Unlock()
	if found {
		return ok
	}
	ok = verifySig(child, parent)
	sigCache.Lock()
	if len(sigCache.m) >= maxSigCache {
		clear(sigCache.m)
	}
	sigCache.m[k] = ok
	sigCache.Unlock()
	return ok
}

// certMemo remembers what is derived from a certificate alone and written
// into every report of a connection that sends it: its subject's one-line
// name, the description of its issuer, its key. Keyed and bounded as
// sigCache.
var certMemo = struct {
	sync.Mutex
	m map[weak.Pointer[x509.Certificate]]*certStrings
}{m: make(map[weak.Pointer[x509.Certificate]]*certStrings)}

type certStrings struct {
	name, issuer, key string
	bits              int
}

func memoOf(c *x509.Certificate) *certStrings {
	k := weak.Make(c)
	certMemo.Lock()
	s := certMemo.m[k]
	certMemo.Unlock()
	if s != nil {
		return s
	}
	s = &certStrings{name: c.Subject.String(), issuer: issuerDesc(c)}
	s.key, s.bits = keyDescOf(c)
	certMemo.Lock()
	if len(certMemo.m) >= maxSigCache {
		clear(certMemo.m)
	}
	certMemo.m[k] = s
	certMemo.Unlock()
	return s
}

// hostMemo remembers name checks: the same leaf and host come back
// connection after connection, and crypto/x509's check allocates.
var hostMemo = struct {
	sync.Mutex
	m map[hostKey]hostResult
}{m: make(map[hostKey]hostResult)}

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
	k := hostKey{weak.Make(c), host}
	hostMemo.Lock()
	r, found := hostMemo.m[k]
	hostMemo.Unlock()
	if found {
		return r.ok, r.why
	}
	r.ok, r.why = checkName(c, host)
	hostMemo.Lock()
	if len(hostMemo.m) >= maxSigCache {
		clear(hostMemo.m)
	}
	hostMemo.m[k] = r
	hostMemo.Unlock()
	return r.ok, r.why
}

// trustMemo remembers whether a truststore holds a certificate: the store
// hashes the certificate (SHA-256) to find out, for every certificate of
// every connection, and the same certificates come back.
var trustMemo = struct {
	sync.Mutex
	m map[trustKey]trustHit
}{m: make(map[trustKey]trustHit)}

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
	k := trustKey{trust, weak.Make(c)}
	trustMemo.Lock()
	h, found := trustMemo.m[k]
	trustMemo.Unlock()
	if found {
		return h.match, h.how
	}
	h.match, h.how = trust.Contains(c)
	trustMemo.Lock()
	if len(trustMemo.m) >= maxSigCache {
		clear(trustMemo.m)
	}
	trustMemo.m[k] = h
	trustMemo.Unlock()
	return h.match, h.how
}
