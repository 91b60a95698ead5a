package diagnose

import (
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/dissect"
)

// TestDecryptFindings turns hand-built key log outcomes into findings:
// decryption that followed a renegotiation or decompressed the records
// says so; one that stopped at a renegotiation is a warning naming why.
func TestDecryptFindings(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    dissect.Decryption
		want []string // "code: part of the summary", in order (Records and Failed are by side: client, server)
	}{
		{"plain TLS 1.2", dissect.Decryption{Keys: true, Records: [2]int{2, 2}},
			[]string{"decrypted: 2 records from the server, 2 from the client"}},
		{"through a renegotiation", dissect.Decryption{Keys: true, Records: [2]int{5, 6}, Renegotiated: [2]int{1, 1}},
			[]string{"decrypted: 6 records from the server, 5 from the client, through 1 renegotiation"}},
		{"through two renegotiations", dissect.Decryption{Keys: true, Records: [2]int{8, 9}, Renegotiated: [2]int{2, 2}},
			[]string{"decrypted: 9 records from the server, 8 from the client, through 2 renegotiations"}},
		{"compressed", dissect.Decryption{Keys: true, Records: [2]int{4, 4}, Deflate: true},
			[]string{"decrypted: 4 records from the server, 4 from the client, decompressed (DEFLATE)"}},
		{"new keys unknown", dissect.Decryption{Keys: true, Records: [2]int{4, 3}, Missing: []string{"CLIENT_RANDOM"},
			Failed: [2]string{"the session renegotiated and the new keys are unknown: x", "the session renegotiated and the new keys are unknown: x"}, FailedFrame: [2]int{16, 18}},
			[]string{"decryption_failed: server's records stopped at frame 18: the session renegotiated", "decryption_failed: client's records stopped at frame 16: the session renegotiated",
				"decrypted: 3 records from the server, 4 from the client", "keylog_incomplete: the key log lacks CLIENT_RANDOM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			got := decryptFindings(&dissect.Conn{Decryption: &d})
			if len(got) != len(tc.want) {
				t.Fatalf("findings %+v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				code, part, _ := strings.Cut(w, ": ")
				if string(got[i].Code) != code || !strings.Contains(got[i].Summary, part) {
					t.Errorf("finding %d: %s %q, want %s with %q", i, got[i].Code, got[i].Summary, code, part)
				}
			}
		})
	}
}
