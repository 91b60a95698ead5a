package diagnose

import (
	"crypto/x509"
	"sync"
	"weak"
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
