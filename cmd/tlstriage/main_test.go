package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files under testdata/golden instead of
// comparing with them: go test ./cmd/tlstriage -update
var update = flag.Bool("update", false, "update golden files")

// pcapDir holds the committed captures, reached with a relative path so
// that the names printed in reports are the same on every machine.
const pcapDir = "../../testdata/pcap"

func TestMain(m *testing.M) {
	// Colour stays off in tests unless a test asks for it.
	os.Setenv("NO_COLOR", "1")
	os.Exit(m.Run())
}

// pcap returns the relative path of a committed capture.
func pcap(name string) string { return pcapDir + "/" + name }

// pki returns the relative path of a committed PKI file (truststores).
func pki(name string) string { return pcapDir + "/pki/" + name }

// result is what one in-process run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// tlstriage runs the command in-process with args; stdin may be nil.
func tlstriage(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, stdin, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
			t.Errorf("tlstriage %s: output mentions a panic:\n%s", strings.Join(args, " "), s)
		}
	}
	return r
}

// lines splits s into lines without the final empty one.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// writeTemp writes data to a new file in a test directory and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readFile reads a file or fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
