package dissect

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"sync"
)

// CertCache parses each distinct certificate once (keyed by SHA-256) and
// shares the result between connections. It is safe for concurrent use.
type CertCache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]*CertInfo
}

// NewCertCache returns a cache holding at most max certificates (0: 8192).
// Past that, certificates are parsed every time they are seen.
func NewCertCache(max int) *CertCache {
	if max <= 0 {
		max = 8192
	}
	return &CertCache{max: max, m: make(map[[32]byte]*CertInfo)}
}

// Get returns the parsed form of der. der is copied; the result must not be
// modified.
func (cc *CertCache) Get(der []byte) *CertInfo {
	sum := sha256.Sum256(der)
	cc.mu.Lock()
	ci := cc.m[sum]
	cc.mu.Unlock()
	if ci != nil {
		return ci
	}
	raw := append([]byte(nil), der...)
	ci = &CertInfo{Raw: raw, SHA256: hex.EncodeToString(sum[:])}
	ci.Cert, ci.Err = x509.ParseCertificate(raw)
	if ci.Err != nil {
		ci.Cert = nil
	}
	cc.mu.Lock()
	if len(cc.m) < cc.max {
		cc.m[sum] = ci
	}
	cc.mu.Unlock()
	return ci
}
