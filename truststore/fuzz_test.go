package truststore

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad writes arbitrary bytes to a file and loads it. Load must not panic,
// must return either a non-empty store or a one-line *Error with the package
// prefix, never both.
//
// The seeds in testdata/fuzz/FuzzLoad were written by WriteJKS, WritePKCS12
// and WritePEM from one small self-signed ECDSA P-256 certificate (CN=t), with
// the password "changeit", plus a truncated copy of the JKS.
func FuzzLoad(f *testing.F) {
	p := newPKI(f)
	f.Add(pemOf(f, p.root))
	f.Add(p.root.Raw)
	f.Add(jksOf(f, "changeit", p.root))
	f.Add(p12Of(f, "changeit", p.root))
	f.Add(p12Of(f, "", p.root))
	dir := f.TempDir()
	// Real files use at most 10000 iterations; a mutated count up to the
	// production cap would make every run take seconds.
	maxIterations = 20000
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"changeit", ""} {
			s, err := Load([]string{path}, pw)
			if err != nil {
				if s != nil {
					t.Fatal("store and error both returned")
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "truststore: "+path+": ") || strings.Contains(msg, "\n") {
					t.Fatalf("bad error message %q", msg)
				}
				continue
			}
			if s.Len() == 0 {
				t.Fatal("empty store without error")
			}
			for _, c := range s.Certs {
				if c == nil || c.Cert == nil {
					t.Fatal("nil certificate in store")
				}
				if m, how := s.Contains(c.Cert); m != c || how != "sha256" {
					t.Fatalf("Contains(own cert) = %v, %q", m, how)
				}
			}
			var b bytes.Buffer
			if err := WritePEM(&b, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
