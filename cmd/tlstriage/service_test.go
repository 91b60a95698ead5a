package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/promtest"
	"github.com/tlstriage/tlstriage/truststore"
)

// TestServiceLive runs the command as a service would: live on loopback
// with --metrics scraped by a real Prometheus, --json-file moved away and
// reopened on SIGHUP, -w rotated (-C, -W) and --metrics-file. Handshakes
// that complete and that fail are counted by Prometheus by verdict and
// cause exactly as the NDJSON records give them, every record is in one of
// the two NDJSON files once, the -w files hold the packets of the failed
// connections only, and promtool accepts the endpoint's output.
func TestServiceLive(t *testing.T) {
	requireLiveCapture(t)
	pki := newLivePKI(t)
	addr := startLiveServer(t, pki)
	dir := t.TempDir()
	port := freePort(t)
	jsonFile, metricsFile := filepath.Join(dir, "tls.ndjson"), filepath.Join(dir, "tlstriage.prom")
	ring := filepath.Join(dir, "failed.pcapng")
	prom := promtest.Start(t, "127.0.0.1:"+port)
	r := startLive(t, "-i", liveLoopback(), "-q", "--metrics", "127.0.0.1:"+port, "--metrics-file", metricsFile,
		"--json-file", jsonFile, "-w", ring, "-C", "2k", "-W", "50", fmt.Sprintf("tcp port %d", addr.Port))

	ok := &tls.Config{RootCAs: pki.roots, ServerName: "localhost"}
	reject := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12}
	alert := &tls.Config{RootCAs: pki.roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}} // the server's key is ECDSA
	handshakes := func(cfgs ...*tls.Config) {
		for _, cfg := range cfgs {
			liveClient(t, addr, cfg) // the verdicts are the command's to give
		}
	}
	records := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := 0
			for _, f := range []string{jsonFile + ".1", jsonFile} {
				b, _ := os.ReadFile(f)
				got += strings.Count(string(b), "\n")
			}
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d records in --json-file within 10s, want %d; stderr:\n%s", got, n, r.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	handshakes(ok, reject, alert, ok)
	records(4)
	// logrotate's way: move the file away, then SIGHUP.
	if err := os.Rename(jsonFile, jsonFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	handshakes(reject, ok)
	records(6)

	// What the records say, Prometheus counts.
	want := map[string]float64{}
	var recs []map[string]any
	for _, f := range []string{jsonFile + ".1", jsonFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty: each side of the SIGHUP should hold records", f)
		}
		recs = append(recs, liveObjects(t, string(b))...)
	}
	seen := map[string]bool{}
	failed := map[string]bool{}
	for _, rec := range recs {
		if _, isSummary := rec["connections"]; isSummary {
			continue
		}
		client, _ := rec["client"].(string)
		if seen[client] {
			t.Errorf("connection from %s recorded twice", client)
		}
		seen[client] = true
		verdict, _ := rec["verdict"].(string)
		cause, _ := rec["cause"].(string)
		want[promtest.Key(map[string]string{"verdict": verdict, "cause": cause})]++
		if f, _ := rec["failed"].(bool); f {
			failed[client] = true
		}
	}
	if len(seen) != 6 || len(failed) != 3 {
		t.Fatalf("%d connections recorded, %d failed; want 6 and 3:\n%v", len(seen), len(failed), recs)
	}
	prom.WaitFor(t, "sum by (verdict, cause) (tlstriage_handshakes_total)", want, 30*time.Second)
	prom.WaitFor(t, "sum(tlstriage_kernel_drops_total)", map[string]float64{"{}": 0}, 30*time.Second)

	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	promtest.CheckMetrics(t, body)
	for _, name := range []string{"tlstriage_packets_total", "tlstriage_handshake_duration_seconds_bucket", "tlstriage_certificate_not_after_timestamp_seconds", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	r.cancel()
	if code := r.wait(t); code != exitFailed {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitFailed, r.stderr.String())
	}
	if b, err := os.ReadFile(metricsFile); err != nil || !strings.Contains(string(b), "tlstriage_handshakes_total{") {
		t.Errorf("--metrics-file: %v\n%s", err, b)
	}
	// The -w ring: packets of the failed connections only, each commented
	// with its verdict, in more than one file.
	files, _ := filepath.Glob(ring + "*")
	if len(files) < 2 {
		t.Errorf("-w -C 2k wrote %d files, want several", len(files))
	}
	inRing := map[string]bool{}
	for _, f := range files {
		var out, errOut strings.Builder
		run(t.Context(), []string{"-r", f, "--json", "--all"}, nil, &out, &errOut)
		for _, rec := range liveObjects(t, out.String()) {
			// A piece of a connection without its SYN may be read the
			// other way round: its client is either end.
			client, _ := rec["client"].(string)
			if server, _ := rec["server"].(string); !failed[client] {
				client = server
			}
			if !failed[client] {
				t.Errorf("%s holds packets of %v -> %v, which did not fail", f, rec["client"], rec["server"])
			}
			inRing[client] = true
		}
	}
	if len(inRing) != len(failed) {
		t.Errorf("the -w files hold %d of the %d failed connections", len(inRing), len(failed))
	}
}

// TestServiceFlagErrors: the service flags used wrongly give one error
// line and exit 2, before anything is read or written.
func TestServiceFlagErrors(t *testing.T) {
	dir := t.TempDir()
	existing := writeTemp(t, "exists.prom", []byte("keep me"))
	file := pcap("tls12-ok.pcap")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"-W without -C or -G", []string{"-r", file, "-w", dir + "/a.pcapng", "-W", "3"}, "-W needs -C or -G"},
		{"-C without -w", []string{"-r", file, "-C", "10"}, "give -w FILE"},
		{"-C not a size", []string{"-r", file, "-w", dir + "/b.pcapng", "-C", "ten"}, "-C takes a size"},
		{"-G negative", []string{"-r", file, "-w", dir + "/c.pcapng", "-G", "-1"}, "-G takes a positive"},
		{"--metrics cannot listen", []string{"-r", file, "--metrics", "256.0.0.1:9464"}, "--metrics:"},
		{"--metrics-file exists", []string{"-r", file, "--metrics-file", existing}, "exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tlstriage(t, nil, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
			if n := strings.Count(r.stderr, "error:"); n != 1 {
				t.Errorf("%d error lines, want 1:\n%s", n, r.stderr)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("--metrics-file overwrote a file without --force")
	}
}

// TestMetricsFileRun: a file run's --metrics-file counts the handshakes
// by verdict and cause as the JSON report does, in a file promtool
// accepts; -w -C splits the failed packets over several files, all of
// them read back to the failed connections.
func TestMetricsFileRun(t *testing.T) {
	dir := t.TempDir()
	prom, ring := filepath.Join(dir, "m.prom"), filepath.Join(dir, "failed.pcapng")
	recs := runJSON(t, exitFailed, "-r", pcap("many-connections.pcap"), "--metrics-file", prom, "-w", ring, "-C", "4k")
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	promtest.CheckMetrics(t, b)
	want := map[string]int{}
	failed := 0
	for _, rec := range recs {
		want[fmt.Sprintf("%v/%v", rec["verdict"], rec["cause"])]++
		if rec["failed"] == true {
			failed++
		}
	}
	got := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "tlstriage_handshakes_total{") {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[strings.Index(line, "{")+1:strings.LastIndex(line, "}")], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		var n int
		fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n)
		got[labels["verdict"]+"/"+labels["cause"]] += n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("--metrics-file counts %v, want %v as the report", got, want)
	}
	files, _ := filepath.Glob(ring + "*")
	if len(files) < 2 {
		t.Fatalf("-C 4k wrote %d files, want several", len(files))
	}
	var conns int
	for _, f := range files {
		r := tlstriage(t, nil, "-r", f, "--all", "--json")
		conns += len(ndjson(t, r.stdout))
	}
	if conns < failed {
		t.Errorf("the -w files hold %d connections, want at least the %d failed", conns, failed)
	}
}

// TestLiveKeepsNoMarks: live, -w writes each failed connection's packets
// when its verdict comes, so the session keeps nothing per connection for
// it (reading files, the marks serve the second reading). A service that
// runs for days must not grow with the failures it has seen.
func TestLiveKeepsNoMarks(t *testing.T) {
	for _, live := range []bool{false, true} {
		cfg := &config{live: liveConfig{write: filepath.Join(t.TempDir(), "w.pcapng")}}
		if live {
			cfg.live.iface = "lo"
		}
		sess, err := newSession(cfg, truststore.Mozilla(), io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		f, err := capture.OpenFile(pcap("many-connections.pcap"), nil)
		if err != nil {
			t.Fatal(err)
		}
		an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) { sess.deliver(c, sess.judge(c, nil)) })
		an.SetFile("many-connections.pcap")
		if err := an.Run(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		an.Flush()
		f.Close()
		if !sess.failed {
			t.Fatal("no failed connection: the test needs some")
		}
		if got := len(sess.marks); live && got != 0 || !live && got == 0 {
			t.Errorf("live %v: %d connections marked for -w", live, got)
		}
	}
}
