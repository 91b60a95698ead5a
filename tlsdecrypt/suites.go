package tlsdecrypt

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// cipherKind is how a suite protects records.
type cipherKind uint8

const (
	kindGCM    cipherKind = iota + 1 // AES-GCM
	kindChaCha                       // ChaCha20-Poly1305
	kindCBC                          // AES-CBC with HMAC
)

// suite is what decryption needs to know of a cipher suite.
type suite struct {
	kind   cipherKind
	keyLen int              // encryption key bytes
	hash   func() hash.Hash // TLS 1.3 HKDF hash; TLS 1.2 PRF hash
	mac    func() hash.Hash // TLS 1.2 CBC: the HMAC hash
	macLen int
}

// TLS 1.3 suites (RFC 8446, Appendix B.4).
var suites13 = map[uint16]suite{
	0x1301: {kind: kindGCM, keyLen: 16, hash: sha256.New},    // TLS_AES_128_GCM_SHA256
	0x1302: {kind: kindGCM, keyLen: 32, hash: sha512.New384}, // TLS_AES_256_GCM_SHA384
	0x1303: {kind: kindChaCha, keyLen: 32, hash: sha256.New}, // TLS_CHACHA20_POLY1305_SHA256
}

var (
	gcm128    = suite{kind: kindGCM, keyLen: 16, hash: sha256.New}
	gcm256    = suite{kind: kindGCM, keyLen: 32, hash: sha512.New384}
	chacha12  = suite{kind: kindChaCha, keyLen: 32, hash: sha256.New}
	cbc128SHA = suite{kind: kindCBC, keyLen: 16, hash: sha256.New, mac: sha1.New, macLen: 20}
	cbc256SHA = suite{kind: kindCBC, keyLen: 32, hash: sha256.New, mac: sha1.New, macLen: 20}
	cbc128256 = suite{kind: kindCBC, keyLen: 16, hash: sha256.New, mac: sha256.New, macLen: 32}
	cbc256256 = suite{kind: kindCBC, keyLen: 32, hash: sha256.New, mac: sha256.New, macLen: 32}
	cbc256384 = suite{kind: kindCBC, keyLen: 32, hash: sha512.New384, mac: sha512.New384, macLen: 48}
)

// TLS 1.2 suites this package decrypts (IANA registry). The PRF hash is
// SHA-384 for the _SHA384 suites and SHA-256 for all others (RFC 5246,
// Section 5; RFC 5289).
var suites12 = map[uint16]suite{
	0x009C: gcm128,    // TLS_RSA_WITH_AES_128_GCM_SHA256
	0x009D: gcm256,    // TLS_RSA_WITH_AES_256_GCM_SHA384
	0x009E: gcm128,    // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
	0x009F: gcm256,    // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
	0xC02B: gcm128,    // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	0xC02C: gcm256,    // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	0xC02F: gcm128,    // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	0xC030: gcm256,    // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	0xCCA8: chacha12,  // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	0xCCA9: chacha12,  // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	0xCCAA: chacha12,  // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	0x002F: cbc128SHA, // TLS_RSA_WITH_AES_128_CBC_SHA
	0x0033: cbc128SHA, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
	0x0035: cbc256SHA, // TLS_RSA_WITH_AES_256_CBC_SHA
	0x0039: cbc256SHA, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
	0x003C: cbc128256, // TLS_RSA_WITH_AES_128_CBC_SHA256
	0x003D: cbc256256, // TLS_RSA_WITH_AES_256_CBC_SHA256
	0x0067: cbc128256, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
	0x006B: cbc256256, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
	0xC009: cbc128SHA, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
	0xC00A: cbc256SHA, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
	0xC013: cbc128SHA, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
	0xC014: cbc256SHA, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
	0xC023: cbc128256, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
	0xC024: cbc256384, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
	0xC027: cbc128256, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
	0xC028: cbc256384, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
}

// Supported reports whether records of cipher suite id under version
// (0x0303 for TLS 1.2, 0x0304 for TLS 1.3) can be decrypted.
func Supported(version, id uint16) bool {
	switch version {
	case 0x0304:
		_, ok := suites13[id]
		return ok
	case 0x0303:
		_, ok := suites12[id]
		return ok
	}
	return false
}
