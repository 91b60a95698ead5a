package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/promtest"
)

// judged is one connection of a capture and its diagnosis.
type judged struct {
	c *dissect.Conn
	r *diagnose.Result
}

// analyseCaptures runs the analysis on every committed capture, as
// tlstriage -r does (one analyzer, files in turn), and diagnoses each
// connection with the built-in truststore.
func analyseCaptures(t *testing.T) ([]judged, dissect.Stats) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap*"))
	if err != nil || len(paths) == 0 {
		t.Fatal("no captures", err)
	}
	var out []judged
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) {
		out = append(out, judged{c, diagnose.Diagnose(c, diagnose.Options{})})
	})
	for _, p := range paths {
		f, err := capture.OpenFile(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		an.SetFile(filepath.Base(p))
		if err := an.Run(context.Background(), f); err != nil && err != io.EOF {
			t.Fatalf("%s: %v", p, err)
		}
		an.Flush()
		f.Close()
	}
	return out, an.Stats()
}

// byCause counts connections by verdict and cause, keyed as
// promtest.Key writes the labels.
func byCause(js []judged) map[string]float64 {
	want := map[string]float64{}
	for _, j := range js {
		want[promtest.Key(map[string]string{"verdict": string(j.r.Verdict), "cause": string(j.r.Cause)})]++
	}
	return want
}

// TestCaptures counts the connections of real captures (crypto/tls
// handshakes, internal/pcaptest) and checks the counts by verdict and
// cause against diagnose's, and the exposition against promtool.
func TestCaptures(t *testing.T) {
	js, st := analyseCaptures(t)
	m := New(Options{})
	for _, j := range js {
		m.Observe(j.c, j.r)
	}
	m.SetCapture(st, capture.Stats{})

	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "tlstriage_handshakes_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "verdict" || lp.GetName() == "cause" {
					l[lp.GetName()] = lp.GetValue()
				}
			}
			got[promtest.Key(l)] += mt.GetCounter().GetValue()
		}
	}
	want := byCause(js)
	if len(want) < 5 {
		t.Fatalf("only %d verdict and cause pairs in the captures: %v", len(want), want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("pairs counted: %v\nwant %v", got, want)
	}
	if got := sum(t, m, "tlstriage_packets_total"); got != float64(st.Packets) || got == 0 {
		t.Errorf("packets %v, want %d", got, st.Packets)
	}

	var buf bytes.Buffer
	if err := m.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tlstriage_handshakes_total", "tlstriage_handshake_duration_seconds_bucket",
		"tlstriage_certificate_not_after_timestamp_seconds", "tlstriage_tls_connections_total", "go_goroutines", "process_cpu_seconds_total"} {
		if !bytes.Contains(buf.Bytes(), []byte("\n"+name)) {
			t.Errorf("exposition lacks %s", name)
		}
	}
	promtest.CheckMetrics(t, buf.Bytes())
}

// TestPrometheus serves the metrics of real captures on loopback, lets a
// real Prometheus scrape them, and queries its HTTP API for the counts by
// verdict and cause, and for the expiry alert's expression.
func TestPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	js, st := analyseCaptures(t)
	m := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	// Half the connections before Prometheus starts, half while it scrapes.
	half := len(js) / 2
	for _, j := range js[:half] {
		m.Observe(j.c, j.r)
	}
	p := promtest.Start(t, ln.Addr().String())
	p.WaitFor(t, `sum by (verdict, cause) (tlstriage_handshakes_total)`, byCause(js[:half]), 30*time.Second)
	for _, j := range js[half:] {
		m.Observe(j.c, j.r)
	}
	m.SetCapture(st, capture.Stats{})
	p.WaitFor(t, `sum by (verdict, cause) (tlstriage_handshakes_total)`, byCause(js), 30*time.Second)

	p.WaitFor(t, `tlstriage_tls_connections_total`, map[string]float64{
		fmt.Sprintf(`{instance=%q,job="tlstriage"}`, ln.Addr().String()): float64(st.TLSConns),
	}, 30*time.Second)

	// The expiry alert of docs/metrics.md, evaluated by Prometheus.
	soon := map[string]bool{}
	for _, j := range js {
		if len(j.c.Chain) > 0 && j.c.Chain[0].Cert != nil && time.Until(j.c.Chain[0].Cert.NotAfter) < 14*24*time.Hour {
			soon[fmt.Sprintf("%x", j.c.Chain[0].Cert.SerialNumber)] = true
		}
	}
	if len(soon) == 0 {
		t.Fatal("no certificate of the captures expires within 14 days: the alert test needs one")
	}
	samples, err := p.Query(context.Background(), `count(count by (serial) (tlstriage_certificate_not_after_timestamp_seconds - time() < 14 * 86400))`)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Value != float64(len(soon)) {
		t.Errorf("certificates expiring within 14 days: %v, want %d", samples, len(soon))
	}

	// The endpoint answers at /metrics only.
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	promtest.CheckMetrics(t, body)
}
