package tlsdecrypt

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"
)

// deflateRecords compresses each plaintext as one record of a zlib stream
// flushed with Z_SYNC_FLUSH after each, as an RFC 3749 sender does.
func deflateRecords(t testing.TB, plaintexts ...[]byte) [][]byte {
	t.Helper()
	var stream bytes.Buffer
	w := zlib.NewWriter(&stream)
	var out [][]byte
	for _, p := range plaintexts {
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(stream.Bytes()))
		stream.Reset()
	}
	return out
}

// TestInflater follows a DEFLATE stream across records: later records
// refer back to earlier plaintext, and a close_notify compresses to more
// than its two bytes.
func TestInflater(t *testing.T) {
	req := []byte("GET / HTTP/1.1\r\nHost: backend.example.test\r\n\r\n")
	plaintexts := [][]byte{{0x14, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, req, req, {}, {1, 0}}
	records := deflateRecords(t, plaintexts...)
	if len(records[4]) <= 2 || len(records[2]) >= len(records[1]) {
		t.Fatalf("records of %d and %d bytes: the stream does not carry history", len(records[1]), len(records[2]))
	}
	var z Inflater
	for i, r := range records {
		pt, err := z.Decompress(r)
		if err != nil || !bytes.Equal(pt, plaintexts[i]) {
			t.Fatalf("record %d: %x, %v; want %x", i, pt, err, plaintexts[i])
		}
	}
}

// TestInflaterErrors: what is not the next part of a DEFLATE stream, and
// a record that decompresses to more than RFC 5246 allows, are errors that
// stay.
func TestInflaterErrors(t *testing.T) {
	big := deflateRecords(t, bytes.Repeat([]byte("a"), MaxDecompressed+1))[0]
	req := []byte("GET / HTTP/1.1\r\nHost: backend.example.test\r\n\r\n")
	ok := deflateRecords(t, []byte("hello"), req, req)
	for _, tc := range []struct {
		name    string
		records [][]byte
	}{
		{"no zlib header", [][]byte{{0x15, 0x03, 0x03, 0x00, 0x02}}},
		{"empty first record", [][]byte{{}}},
		{"garbage after the header", [][]byte{{0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0xff}}},
		{"a record lost: the next refers back to it", [][]byte{ok[0], ok[2]}},
		{"record cut", [][]byte{ok[0][:len(ok[0])-3]}},
		{"too large", [][]byte{big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var z Inflater
			var err error
			for _, r := range tc.records {
				if _, err = z.Decompress(r); err != nil {
					break
				}
			}
			if !errors.Is(err, ErrDecompress) {
				t.Fatalf("error %v, want ErrDecompress", err)
			}
			if _, err := z.Decompress(ok[0]); !errors.Is(err, ErrDecompress) {
				t.Errorf("after an error: %v", err)
			}
		})
	}
}

// FuzzInflater feeds arbitrary records: no panic, nothing over
// MaxDecompressed, and nothing after an error.
func FuzzInflater(f *testing.F) {
	recs := deflateRecords(f, []byte("hello"), []byte{1, 0})
	f.Add(recs[0], recs[1])
	f.Add([]byte{0x78, 0x9c, 0xff}, []byte{0})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var z Inflater
		failed := false
		for _, r := range [][]byte{a, b} {
			pt, err := z.Decompress(r)
			if failed && err == nil {
				t.Fatal("no error after an error")
			}
			if err != nil {
				failed = true
				if pt != nil {
					t.Fatal("plaintext with an error")
				}
			}
			if len(pt) > MaxDecompressed {
				t.Fatalf("%d bytes", len(pt))
			}
		}
	})
}
