// Command bigcap writes big packet captures of TLS traffic for benchmarks
// (see package internal/bigcap): bulk-heavy (about 100 KB per session) or
// handshake-heavy (about 6 KB per connection).
//
// Usage, from the repository root:
//
//	go run ./internal/cmd/bigcap -kind bulk -size 2G -o bench/bulk-2g.pcap
//	go run ./internal/cmd/bigcap -kind bulk -size 200M -o bench/bulk-200m.pcap
//	go run ./internal/cmd/bigcap -kind handshake -sessions 200000 -o bench/hs-200k.pcap
//
// -roots FILE also writes the root certificates of the servers (PEM), the
// truststore for tlstriage --truststore. The output is never committed:
// bench/ is ignored by git.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/internal/bigcap"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bigcap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kindName := fs.String("kind", "bulk", "`bulk` (sessions with bulk data) or handshake (short connections)")
	size := fs.String("size", "200M", "approximate file `size` (K, M, G: powers of 1000), unless -sessions is given")
	sessions := fs.Int("sessions", 0, "number of sessions (overrides -size)")
	bulk := fs.Int("bulk", bigcap.DefaultBulkBytes, "application data `bytes` of one bulk session")
	span := fs.Duration("span", 10*time.Minute, "capture time the sessions start in")
	stretch := fs.Int("stretch", 0, "multiply the time between the packets of a session (0: 300 for bulk, 30 for handshake)")
	seed := fs.Uint64("seed", 1, "seed of the session sequence")
	out := fs.String("o", "", "output `file` (required)")
	roots := fs.String("roots", "", "also write the servers' root certificates (PEM) to `file`")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	kind, err := bigcap.ParseKind(*kindName)
	if err != nil {
		fmt.Fprintf(stderr, "bigcap: error: %v\n", err)
		return 2
	}
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(stderr, "bigcap: error: -size: %v\n", err)
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "bigcap: error: -o FILE is required")
		return 2
	}
	t0 := time.Now()
	ts, err := bigcap.NewTemplates(kind, *bulk)
	if err != nil {
		fmt.Fprintf(stderr, "bigcap: error: %v\n", err)
		return 1
	}
	recorded := time.Since(t0)
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(stderr, "bigcap: error: %v\n", err)
		return 1
	}
	st, err := ts.Write(f, bigcap.Options{Sessions: *sessions, Size: n, Span: *span, Stretch: *stretch, Seed: *seed})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "bigcap: error: %v\n", err)
		return 1
	}
	if *roots != "" {
		if err := os.WriteFile(*roots, ts.RootsPEM(), 0o644); err != nil {
			fmt.Fprintf(stderr, "bigcap: error: %v\n", err)
			return 1
		}
	}
	el := time.Since(t0)
	fmt.Fprintf(stderr, "bigcap: %s: %s, %d sessions, %d packets, %d bytes, at most %d open; recorded in %v, written in %v (%.0f MB/s)\n",
		*out, kind, st.Sessions, st.Packets, st.Bytes, st.MaxOpen, recorded.Round(time.Millisecond), (el - recorded).Round(time.Millisecond),
		float64(st.Bytes)/1e6/(el-recorded).Seconds())
	fmt.Fprintf(stderr, "bigcap: expected verdicts: %v\n", st.Verdicts)
	return 0
}

// parseSize parses "2G", "200M", "200MB", "1500000" (powers of 1000).
func parseSize(s string) (int64, error) {
	u := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(u, "K"):
		mult, u = 1e3, u[:len(u)-1]
	case strings.HasSuffix(u, "M"):
		mult, u = 1e6, u[:len(u)-1]
	case strings.HasSuffix(u, "G"):
		mult, u = 1e9, u[:len(u)-1]
	}
	v, err := strconv.ParseFloat(u, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}
