package tlsparse

import "testing"

// TestCipherSuiteNamesOldSuites: the DHE_DSS, DH, Camellia and SEED suites
// found in old captures are named as IANA names them, not printed in hex.
func TestCipherSuiteNamesOldSuites(t *testing.T) {
	for s, want := range map[CipherSuite]string{
		0x0044: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA",
		0x0087: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA",
		0x0099: "TLS_DHE_DSS_WITH_SEED_CBC_SHA",
		0x009A: "TLS_DHE_RSA_WITH_SEED_CBC_SHA",
		0x00C4: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
		0x0045: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
	} {
		if got := s.String(); got != want {
			t.Errorf("%#04x: %s, want %s", uint16(s), got, want)
		}
	}
	if got := CipherSuite(0x0B0B).String(); got != "0x0B0B" {
		t.Errorf("an unknown suite reads %s", got)
	}
}

func TestNullCipherMAC(t *testing.T) {
	for _, c := range []struct {
		suite CipherSuite
		mac   int
	}{
		{0x0001, 16}, // TLS_RSA_WITH_NULL_MD5
		{0x0002, 20}, // TLS_RSA_WITH_NULL_SHA
		{0x003B, 32}, // TLS_RSA_WITH_NULL_SHA256
		{0x00B1, 48}, // TLS_PSK_WITH_NULL_SHA384
		{0xC006, 20}, // TLS_ECDHE_ECDSA_WITH_NULL_SHA
		{0x0000, 0},  // TLS_NULL_WITH_NULL_NULL: no MAC either
		{0x002F, 0},  // TLS_RSA_WITH_AES_128_CBC_SHA
		{0x1301, 0},  // TLS_AES_128_GCM_SHA256
		{0xFFFF, 0},  // unknown
	} {
		if got := c.suite.NullCipherMAC(); got != c.mac {
			t.Errorf("%v: MAC %d, want %d", c.suite, got, c.mac)
		}
	}
}
