package tlsdecrypt

import (
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// TestSuites12AgreeWithNames checks every TLS 1.2 suite decrypted against
// its IANA name: the cipher and key length, the MAC of CBC suites and the
// PRF hash (SHA-384 for the _SHA384 suites, SHA-256 for the others).
func TestSuites12AgreeWithNames(t *testing.T) {
	for id, s := range suites12 {
		name := tlsparse.CipherSuite(id).String()
		if strings.HasPrefix(name, "0x") {
			t.Errorf("0x%04X: not a named suite", id)
			continue
		}
		var kind cipherKind
		keyLen := 16
		switch {
		case strings.Contains(name, "_AES_128_GCM_"):
			kind = kindGCM
		case strings.Contains(name, "_AES_256_GCM_"):
			kind, keyLen = kindGCM, 32
		case strings.Contains(name, "_CHACHA20_POLY1305_"):
			kind, keyLen = kindChaCha, 32
		case strings.Contains(name, "_AES_128_CBC_"):
			kind = kindCBC
		case strings.Contains(name, "_AES_256_CBC_"):
			kind, keyLen = kindCBC, 32
		}
		if s.kind != kind || s.keyLen != keyLen {
			t.Errorf("%s: kind %d key %d, the name says %d, %d", name, s.kind, s.keyLen, kind, keyLen)
		}
		last := name[strings.LastIndexByte(name, '_')+1:]
		prf, macLen := 32, 0
		if last == "SHA384" {
			prf = 48
		}
		if kind == kindCBC {
			macLen = map[string]int{"SHA": 20, "SHA256": 32, "SHA384": 48}[last]
			if s.mac == nil || s.mac().Size() != macLen {
				t.Errorf("%s: MAC wrong", name)
			}
		}
		if s.hash().Size() != prf || s.macLen != macLen {
			t.Errorf("%s: PRF hash %d bytes, MAC %d; want %d, %d", name, s.hash().Size(), s.macLen, prf, macLen)
		}
	}
}
