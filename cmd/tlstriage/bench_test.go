package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tlstriage/tlstriage/internal/bigcap"
)

// End-to-end benchmarks: tlstriage -r FILE --json > /dev/null, in process,
// with full verdicts and chains (the built-in Mozilla roots).
//
// The big captures are made by scripts/bench.sh (or go run
// ./internal/cmd/bigcap) into bench/ at the repository root, or into
// $TLSTRIAGE_BENCH_DIR; their benchmarks are skipped when the files are
// missing. The small variants are made in memory and always run.
//
//	go test ./cmd/tlstriage -run XXX -bench . -benchtime 3x

// benchDir is where the big captures are.
func benchDir() string {
	if d := os.Getenv("TLSTRIAGE_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "bench")
}

// benchFile runs the command on a capture file; sessions is how many
// connections it holds (0: not known, from the first run's counters).
func benchFile(b *testing.B, name string, sessions int, extra ...string) {
	path := filepath.Join(benchDir(), name)
	st, err := os.Stat(path)
	if err != nil {
		b.Skipf("%s: no such capture; make it with scripts/bench.sh (or go run ./internal/cmd/bigcap)", path)
	}
	b.SetBytes(st.Size())
	args := append([]string{"-r", path, "--json"}, extra...)
	if os.Getenv("TLSTRIAGE_BENCH_TEXT") != "" {
		args = append([]string{"-r", path}, extra...) // the text report
	}
	conns := runBench(b, args, func() io.Reader { return nil })
	if sessions == 0 {
		sessions = conns
	}
	b.ReportMetric(float64(b.N*sessions)/b.Elapsed().Seconds(), "handshakes/s")
}

// runBench runs the command b.N times and returns the number of TLS
// connections it reported.
func runBench(b *testing.B, args []string, stdin func() io.Reader) int {
	b.ReportAllocs()
	tuneGC() // as main does
	var stderr bytes.Buffer
	for b.Loop() {
		stderr.Reset()
		in := stdin()
		if in == nil {
			in = bytes.NewReader(nil)
		}
		if code := run(context.Background(), args, in, io.Discard, &stderr); code != exitOK && code != exitFailed {
			b.Fatalf("exit status %d: %s", code, stderr.Bytes())
		}
	}
	var packets, tcp, tlsConns int
	fmt.Sscanf(stderr.String(), "tlstriage: read %d packets, %d TCP connections, %d TLS connections", &packets, &tcp, &tlsConns)
	return tlsConns
}

// BenchmarkFile runs on the capture $TLSTRIAGE_BENCH_FILE (a path), with
// the extra flags in $TLSTRIAGE_BENCH_ARGS (say "-j 1"); the text report
// instead of JSON when $TLSTRIAGE_BENCH_TEXT is set.
func BenchmarkFile(b *testing.B) {
	f := os.Getenv("TLSTRIAGE_BENCH_FILE")
	if f == "" {
		b.Skip("set TLSTRIAGE_BENCH_FILE to a capture")
	}
	abs, err := filepath.Abs(f)
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("TLSTRIAGE_BENCH_DIR", filepath.Dir(abs))
	benchFile(b, filepath.Base(abs), 0, strings.Fields(os.Getenv("TLSTRIAGE_BENCH_ARGS"))...)
}

func BenchmarkBulk2GB(b *testing.B)       { benchFile(b, "bulk-2g.pcap", 0) }
func BenchmarkBulk200MB(b *testing.B)     { benchFile(b, "bulk-200m.pcap", 0) }
func BenchmarkHandshake200k(b *testing.B) { benchFile(b, "hs-200k.pcap", 0) }

// smallCaptures are the in-memory captures, by kind.
var smallCaptures sync.Map

func smallCapture(b *testing.B, kind bigcap.Kind, sessions int) ([]byte, int) {
	b.Helper()
	f, _ := smallCaptures.LoadOrStore(kind, sync.OnceValues(func() ([]byte, error) {
		ts, err := bigcap.NewTemplates(kind, 0)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		_, err = ts.Write(&buf, bigcap.Options{Sessions: sessions, Seed: 1})
		return buf.Bytes(), err
	}))
	data, err := f.(func() ([]byte, error))()
	if err != nil {
		b.Fatal(err)
	}
	return data, sessions
}

func benchSmall(b *testing.B, kind bigcap.Kind, sessions int) {
	data, n := smallCapture(b, kind, sessions)
	b.SetBytes(int64(len(data)))
	got := runBench(b, []string{"-r", "-", "--json"}, func() io.Reader { return bytes.NewReader(data) })
	if got != n {
		b.Fatalf("%d TLS connections reported, want %d", got, n)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "handshakes/s")
}

// BenchmarkSmallBulk: 200 bulk sessions (about 20 MB) read from memory.
func BenchmarkSmallBulk(b *testing.B) { benchSmall(b, bigcap.Bulk, 200) }

// BenchmarkSmallHandshake: 5,000 short connections (about 30 MB).
func BenchmarkSmallHandshake(b *testing.B) { benchSmall(b, bigcap.Handshake, 5000) }
