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
