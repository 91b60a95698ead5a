package clientstack

import (
	"path/filepath"
	"testing"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// FuzzIdentify: any ClientHello that parses is named without a panic, as
// one of the stacks, with evidence; the same offer gets the same name.
func FuzzIdentify(f *testing.F) {
	files, _ := filepath.Glob("testdata/hello/*.hex")
	for _, file := range files {
		ch, _ := readHello(f, file)
		f.Add(ch.Raw)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := tlsparse.ParseClientHello(msg)
		if err != nil {
			return
		}
		s := Identify(ch)
		known := false
		for _, n := range Names {
			known = known || s.Name == n
		}
		if !known || s.Evidence == "" {
			t.Fatalf("Identify = %+v", s)
		}
		if again := Identify(ch); again != s {
			t.Fatalf("Identify is not stable: %+v then %+v", s, again)
		}
	})
}
