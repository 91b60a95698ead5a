package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestAppendString compares appendString with encoding/json (HTML escaping
// off, as the writer has it) on strings that put every byte value, and
// runes that need escaping, at every position of an 8-byte word and across
// word boundaries.
func TestAppendString(t *testing.T) {
	check := func(s string) {
		t.Helper()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		w := bytes.TrimSuffix(want.Bytes(), []byte("\n"))
		if got := appendString(nil, s); !bytes.Equal(got, w) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, w)
		}
		if got := appendString(nil, []byte(s)); !bytes.Equal(got, w) {
			t.Fatalf("appendString([]byte(%q)) = %s, want %s", s, got, w)
		}
	}
	base := "abcdefghijklmnopqrstuvwxyz0123456789"
	for c := range 256 {
		for pos := range 17 {
			for _, n := range []int{pos + 1, pos + 8, 24} {
				b := []byte(base[:n])
				b[pos] = byte(c)
				check(string(b))
			}
		}
	}
	for _, r := range []string{"é", "\u2028", "\u2029", "日", "\U0001F600", "\xe6\x97", "\ufffd", "\x7f", "~", " ", "!", "#", "[", "]"} {
		for pos := range 12 {
			check(base[:pos] + r + base[:12-pos])
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZ09 -_.:/\"\\\x00\x1f\x20\x7f\x80\xbf\xc3\xa9\xe2\x80\xa8\xff")
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = 'a' + byte(rng.IntN(26))
			}
		}
		check(string(b))
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	buf := make([]byte, 0, 64)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}
