// Command soakreport reads what scripts/soak.sh left in its directory and
// writes the result of the soak run (issue 17) as markdown: tlstriage's
// memory over the run, its kernel drops against tcpdump's, and the failed
// handshakes as the generator, the metrics, the NDJSON pieces and the -w
// ring count them.
//
// Usage, from the repository root:
//
//	go run ./internal/cmd/soakreport [--warmup 2m] [-o FILE] DIR
//
// It writes the markdown to standard output and to DIR/result.md (-o
// changes the file; -o - writes standard output only). Exit status: 0 when
// every check passes, 1 when one fails, 2 when an input is missing or
// unreadable.
//
// The files of DIR (see scripts/soak.sh):
//
//	soak.env           KEY=VALUE lines: the run's settings and machine
//	rss.csv            t_s,rss_kib[,heap_inuse_bytes,goroutines,packets,handshakes], every 10 s
//	metrics.prom       the last scrape of tlstriage's /metrics
//	tlstriage.err      tlstriage's standard error (its capture summary at the end)
//	tcpdump.err        tcpdump's standard error (its counts at the end)
//	generator.json     what internal/cmd/handshakes did
//	conns.ndjson.N     the NDJSON pieces rotated away, N = 1, 2, ...
//	conns.ndjson       the last piece
//	failed.pcapngK     the -w ring, K = 0 ... W-1
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soakreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	warmup := fs.Duration("warmup", 2*time.Minute, "RSS samples before this are left out of the second slope")
	out := fs.String("o", "", "also write the markdown to `FILE` (default DIR/result.md; - for none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: soakreport [--warmup D] [-o FILE] DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "soakreport: error: want one argument, the soak directory")
		return 2
	}
	dir := fs.Arg(0)
	in, err := load(dir)
	if err != nil {
		fmt.Fprintf(stderr, "soakreport: error: %v\n", err)
		return 2
	}
	var buf bytes.Buffer
	ok := write(&buf, in, *warmup)
	stdout.Write(buf.Bytes())
	if *out == "" {
		*out = filepath.Join(dir, "result.md")
	}
	if *out != "-" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "soakreport: error: %v\n", err)
			return 2
		}
	}
	if !ok {
		return 1
	}
	return 0
}
