package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenCase is one command line whose exit status, stdout and stderr are
// kept in testdata/golden/<name>.golden (NDJSON is indented there). The exit
// status is also asserted here, so that regenerating the golden files with
// -update cannot silently change it.
type goldenCase struct {
	name  string
	args  []string
	stdin string // capture fed on standard input, "" for none
	code  int
}

var goldenCases = []goldenCase{
	{"tls12-ok.text", []string{"-r", pcap("tls12-ok.pcap"), "--truststore", pki("truststore-root.pem"), "--color", "never"}, "", exitOK},
	{"tls12-ok.json", []string{"-r", pcap("tls12-ok.pcap"), "--truststore", pki("truststore-root.pem"), "--json"}, "", exitOK},
	{"tls12-ok-verbose.text", []string{"-r", pcap("tls12-ok.pcap"), "--truststore", pki("truststore-root.pem"), "--color", "never", "-v"}, "", exitOK},
	{"tls13-ok.text", []string{"-r", pcap("tls13-ok.pcap"), "--truststore", pki("truststore-root.pem"), "--color", "never"}, "", exitOK},
	{"tls13-ok.json", []string{"-r", pcap("tls13-ok.pcap"), "--truststore", pki("truststore-root.pem"), "--json"}, "", exitOK},
	{"playbook.text", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--truststore", pki("truststore-other.pem"), "--color", "never"}, "", exitFailed},
	{"playbook.json", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--truststore", pki("truststore-other.pem"), "--json"}, "", exitFailed},
	{"playbook-gz.text", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap.gz"), "--truststore", pki("truststore-other.pem"), "--color", "never"}, "", exitFailed},
	{"playbook-gz.json", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap.gz"), "--truststore", pki("truststore-other.pem"), "--json"}, "", exitFailed},
	{"playbook-brief.text", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--truststore", pki("truststore-other.pem"), "--color", "never", "--brief"}, "", exitFailed},
	{"tls13-client-abort.text", []string{"-r", pcap("tls13-client-abort.pcap"), "--color", "never"}, "", exitFailed},
	{"tls13-client-abort.json", []string{"-r", pcap("tls13-client-abort.pcap"), "--json"}, "", exitFailed},
	{"tls12-alert-unknown-ca.text", []string{"-r", pcap("tls12-alert-unknown-ca.pcap"), "--truststore", pki("truststore-other.pem"), "--color", "never"}, "", exitFailed},
	{"tls12-alert-unknown-ca.json", []string{"-r", pcap("tls12-alert-unknown-ca.pcap"), "--truststore", pki("truststore-other.pem"), "--json"}, "", exitFailed},
	{"not-tls.text", []string{"-r", pcap("not-tls.pcap"), "--color", "never"}, "", exitFailed},
	{"not-tls.json", []string{"-r", pcap("not-tls.pcap"), "--json"}, "", exitFailed},
	{"incomplete-chain.text", []string{"-r", pcap("incomplete-chain.pcap"), "--truststore", pki("truststore-root.pem"), "--color", "never"}, "", exitFailed},
	{"incomplete-chain.json", []string{"-r", pcap("incomplete-chain.pcap"), "--truststore", pki("truststore-root.pem"), "--json"}, "", exitFailed},
	{"hostname-mismatch.text", []string{"-r", pcap("hostname-mismatch.pcap"), "--truststore", pki("truststore-root.pem"), "--color", "never"}, "", exitFailed},
	{"hostname-mismatch.json", []string{"-r", pcap("hostname-mismatch.pcap"), "--truststore", pki("truststore-root.pem"), "--json"}, "", exitFailed},
	{"two-interfaces.text", []string{"-r", pcap("two-interfaces.pcapng"), "--truststore", pki("truststore-other.pem"), "--color", "never"}, "", exitFailed},
	{"two-interfaces.json", []string{"-r", pcap("two-interfaces.pcapng"), "--truststore", pki("truststore-other.pem"), "--json"}, "", exitFailed},
	{"ipv6.text", []string{"-r", pcap("ipv6.pcap"), "--truststore", pki("truststore-other.pem"), "--color", "never"}, "", exitFailed},
	{"many-connections-summary.json", []string{"-r", pcap("many-connections.pcap"), "--json", "--summary"}, "", exitFailed},
	{"many-connections.text", []string{"-r", pcap("many-connections.pcap"), "--color", "never", "--brief"}, "", exitFailed},
	{"two-files-stdin.json", []string{"-r", pcap("tls12-ok.pcap"), "-r", "-", "--truststore", pki("truststore-root.pem"), "--json"}, "tls13-ok.pcap", exitOK},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var stdin io.Reader
			if tc.stdin != "" {
				f, err := os.Open(pcap(tc.stdin))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				stdin = f
			}
			r := tlstriage(t, stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("stdout has ANSI escapes with colour off")
			}
			if slices.Contains(tc.args, "--json") {
				r.stdout = indentNDJSON(t, r.stdout)
			}
			cmd := strings.Join(tc.args, " ")
			if tc.stdin != "" {
				cmd += " < " + pcap(tc.stdin)
			}
			checkGolden(t, tc.name, cmd, r)
		})
	}
}

// indentNDJSON indents each JSON line of out so that golden diffs are
// readable; json.Indent keeps every value byte for byte. That stdout really
// is one object per line is checked by the contract tests.
func indentNDJSON(t *testing.T, out string) string {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines(out) {
		if err := json.Indent(&b, []byte(l), "", "  "); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, l)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// checkGolden compares the run with testdata/golden/<name>.golden, or
// writes it with -update. Each replacement pair (old, new) is applied to
// the output first, to scrub what differs between machines (temporary
// directories).
func checkGolden(t *testing.T, name, cmdline string, r result, replace ...string) {
	t.Helper()
	got := fmt.Sprintf("# tlstriage %s\n# exit status %d\n-- stdout --\n%s-- stderr --\n%s", cmdline, r.code, r.stdout, r.stderr)
	if len(replace) > 0 {
		got = strings.NewReplacer(replace...).Replace(got)
	}
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tlstriage -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/tlstriage -update regenerates it):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first differing line of want and got with a little
// context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	var b strings.Builder
	for j := max(0, i-3); j < i; j++ {
		fmt.Fprintf(&b, "  %s\n", gl[j])
	}
	for j := i; j < min(len(wl), i+3); j++ {
		fmt.Fprintf(&b, "- %s\n", wl[j])
	}
	for j := i; j < min(len(gl), i+3); j++ {
		fmt.Fprintf(&b, "+ %s\n", gl[j])
	}
	return fmt.Sprintf("first difference at line %d:\n%s", i+1, b.String())
}
