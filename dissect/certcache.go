package dissect

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"hash/maphash"
	"sync"
)

// CertCache parses each distinct certificate once and shares the result
// between connections. It is safe for concurrent use.
//
// A certificate is looked up by a fast seeded hash of its bytes, then the
// bytes themselves are compared: a lookup costs a hash and a comparison,
// not a SHA-256 of every certificate of every connection. The SHA-256 a
// CertInfo carries is computed once, when the certificate is first seen.
type CertCache struct {
	mu   sync.Mutex
	max  int
	n    int
	seed maphash.Seed
	m    map[uint64][]*CertInfo
}

// NewCertCache returns a cache holding at most max certificates (0: 8192).
// Past that, certificates are parsed every time they are seen.
func NewCertCache(max int) *CertCache {
	if max <= 0 {
		max = 8192
	}
	return &CertCache{max: max, seed: maphash.MakeSeed(), m: make(map[uint64][]*CertInfo)}
}

// Get returns the parsed form of der. der is copied; the result must not be
// modified.
func (cc *CertCache) Get(der []byte) *CertInfo {
	h := maphash.Bytes(cc.seed, der)
	cc.mu.Lock()
	for _, ci := range cc.m[h] {
		if bytes.Equal(ci.Raw, der) {
			cc.mu.Unlock()
			return ci
		}
	}
	cc.mu.Unlock()
	raw := append([]byte(nil), der...)
	sum := sha256.Sum256(raw)
	ci := &CertInfo{Raw: raw, SHA256: hex.EncodeToString(sum[:])}
	ci.Cert, ci.Err = x509.ParseCertificate(raw)
	if ci.Err != nil {
		ci.Cert = nil
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, c := range cc.m[h] {
		if bytes.Equal(c.Raw, der) {
			return c // another goroutine was first: share its parse
		}
	}
	if cc.n < cc.max {
		cc.m[h] = append(cc.m[h], ci)
		cc.n++
	}
	return ci
}
