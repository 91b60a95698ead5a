package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Strings a hostile peer puts on the wire: ANSI sequences, a newline that
// would forge a report line, a BEL, an OSC title change, a C1 CSI and a
// right-to-left override.
const (
	evilSNI  = "evil\x1b[31m\nFORGED Verdict: ok\x07.example"
	evilALPN = "\x1b]0;pwned\x07h2\r\nFORGED alpn"
	evilDNS  = "x\x1b[2J\r\nFORGED dns.example"
	evilCN   = "cn\u202eevil\u009b31m\x1b[5m\nFORGED cn"
)

// evilCapture writes a capture of a real crypto/tls handshake whose SNI,
// ALPN and certificate names carry control characters. The client rejects
// the certificate (its names do not match), so the text report shows the
// chain in full.
func evilCapture(t *testing.T) string {
	t.Helper()
	p, err := pcaptest.NewPKI(pcaptest.PKIOptions{Leaf: pcaptest.LeafOptions{DNSNames: []string{evilDNS}, CommonName: evilCN}})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := pcaptest.Record(pcaptest.TLSOptions{
		ServerName: evilSNI,
		ALPN:       []string{evilALPN},
		MaxVersion: 0x0303, // TLS 1.2: the certificate is visible
		PKI:        p,
		Close:      pcaptest.CloseJava,
	})
	if err != nil {
		t.Fatal(err)
	}
	if conv.ClientErr == nil {
		t.Fatalf("the client accepted the certificate; the test wants a rejection")
	}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcap(&b, pcaptest.Ethernet.LinkType(), pkts); err != nil {
		t.Fatal(err)
	}
	// The strings really are on the wire.
	for _, s := range []string{evilSNI, evilALPN, evilDNS} {
		if !bytes.Contains(b.Bytes(), []byte(s)) {
			t.Fatalf("%q is not in the capture", s)
		}
	}
	return writeTemp(t, "evil.pcap", b.Bytes())
}

// checkTerminalSafe fails if s holds anything that a terminal interprets
// other than newlines ending report lines: C0 controls, DEL, C1 controls,
// bidirectional overrides, invalid UTF-8.
func checkTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 in the output", what)
	}
	for i, r := range s {
		bad := r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
		if bad {
			lo := max(0, i-40)
			t.Errorf("%s: raw %U at byte %d: ...%q...", what, r, i, s[lo:min(len(s), i+10)])
			return
		}
	}
	for _, l := range lines(s) {
		if strings.HasPrefix(strings.TrimSpace(l), "FORGED") {
			t.Errorf("%s: a wire string forged a line: %q", what, l)
		}
	}
}

func TestWireControlCharacters(t *testing.T) {
	path := evilCapture(t)

	for _, mode := range [][]string{nil, {"-v"}, {"--brief"}, {"--color", "always"}} {
		name := "text " + strings.Join(mode, " ")
		t.Run(name, func(t *testing.T) {
			args := append([]string{"-r", path, "--color", "never"}, mode...)
			r := tlstriage(t, nil, args...)
			if r.code != exitFailed {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitFailed, r.stderr)
			}
			out := r.stdout
			if slices.Contains(mode, "always") {
				out = stripANSI(out) // our own colour codes are fine; nothing else is
			}
			checkTerminalSafe(t, name, out)
			// The SNI is shown, escaped, not dropped.
			if !strings.Contains(out, `evil\x1b[31m\x0aFORGED Verdict: ok\x07.example`) {
				t.Errorf("the escaped SNI is not in the report:\n%s", out)
			}
			if len(mode) == 0 {
				for _, want := range []string{`\x1b]0;pwned\x07h2\x0d\x0aFORGED alpn`, `x\x1b[2J\x0d\x0aFORGED dns.example`, `cn\u202eevil\u009b31m\x1b[5m\x0aFORGED cn`} {
					if !strings.Contains(out, want) {
						t.Errorf("the report does not show %s:\n%s", want, out)
					}
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		r := tlstriage(t, nil, "-r", path, "--json", "--summary")
		recs := ndjson(t, r.stdout)
		if len(recs) != 2 {
			t.Fatalf("%d objects, want a connection and a summary", len(recs))
		}
		rec := recs[0]
		if got := str(t, rec, "sni"); got != evilSNI {
			t.Errorf("sni %q, want %q byte for byte", got, evilSNI)
		}
		if got := str(t, rec, "alpn"); got != evilALPN {
			t.Errorf("alpn %q, want %q", got, evilALPN)
		}
		chain := array(t, rec, "chain")
		if len(chain) == 0 {
			t.Fatal("no chain")
		}
		if names, _ := chain[0]["dns_names"].([]any); len(names) != 1 || names[0] != evilDNS {
			t.Errorf("dns_names %q, want [%q]", chain[0]["dns_names"], evilDNS)
		}
		if !strings.Contains(str(t, chain[0], "subject"), evilCN) {
			t.Errorf("subject %q does not hold %q", chain[0]["subject"], evilCN)
		}
		// encoding/json escapes C0 controls; no raw ESC or newline inside a line.
		if strings.Contains(r.stdout, "\x1b") || strings.Count(r.stdout, "\n") != 2 {
			t.Errorf("raw control characters in the JSON output")
		}
	})
}
