package metrics

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/promtest"
	"github.com/tlstriage/tlstriage/tlsparse"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// conn is a hand-built connection to server with SNI sni (none when ""),
// whose ClientHello came 1 ms and server Finished 5 ms after its SYN.
func conn(server, sni string) *dissect.Conn {
	return &dissect.Conn{
		Client:      netip.MustParseAddrPort("10.0.0.1:50000"),
		Server:      netip.MustParseAddrPort(server),
		FirstTime:   t0,
		LastTime:    t0.Add(time.Second),
		ClientHello: &tlsparse.ClientHello{ServerName: sni},
		Events: []dissect.Event{
			dissect.Event{Kind: dissect.EvSYN, From: dissect.Client}.At(t0),
			dissect.Event{Kind: dissect.EvClientHello, From: dissect.Client}.At(t0.Add(time.Millisecond)),
			dissect.Event{Kind: dissect.EvEncryptedHandshake, From: dissect.Server}.At(t0.Add(5 * time.Millisecond)),
			dissect.Event{Kind: dissect.EvApplicationData, From: dissect.Client}.At(t0.Add(9 * time.Millisecond)),
			dissect.Event{Kind: dissect.EvFIN, From: dissect.Client}.At(t0.Add(time.Second)),
		},
	}
}

func result(v diagnose.Verdict, cause diagnose.Cause, stack clientstack.Name) *diagnose.Result {
	r := &diagnose.Result{Wire: diagnose.Wire{Verdict: v}, Cause: cause, Failed: diagnose.Failed(v)}
	r.ClientStack.Name = stack
	return r
}

// withLeaf gives c a leaf certificate.
func withLeaf(c *dissect.Conn, cn string, serial int64, notAfter time.Time) *dissect.Conn {
	c.Chain = []*dissect.CertInfo{{Cert: &x509.Certificate{
		Subject:      pkix.Name{CommonName: cn},
		Issuer:       pkix.Name{CommonName: "Test CA"},
		SerialNumber: big.NewInt(serial),
		NotAfter:     notAfter,
	}}}
	return c
}

func TestHandshakesByLabel(t *testing.T) {
	m := New(Options{})
	m.Observe(conn("10.0.0.2:443", "a.example"), result(diagnose.VerdictOK, "", clientstack.Go))
	m.Observe(conn("10.0.0.2:443", "a.example"), result(diagnose.VerdictOK, "", clientstack.Go))
	m.Observe(conn("10.0.0.3:8443", ""), result(diagnose.VerdictClientRejectedCertificate, diagnose.CauseExpired, clientstack.Java))
	m.Observe(conn("10.0.0.3:8443", ""), result(diagnose.VerdictClientRejectedCertificate, diagnose.CauseExpired, ""))
	noHello := conn("[2001:db8::2]:443", "")
	noHello.ClientHello = nil
	m.Observe(noHello, result(diagnose.VerdictNoServerResponse, diagnose.CauseUnknown, ""))

	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"ok", "", "10.0.0.2:443", "a.example", "go"}, 2},
		{[]string{"client_rejected_certificate", "expired", "10.0.0.3:8443", "", "java"}, 1},
		{[]string{"client_rejected_certificate", "expired", "10.0.0.3:8443", "", "unknown"}, 1}, // a ClientHello no rule knows
		{[]string{"no_server_response", "unknown", "[2001:db8::2]:443", "", ""}, 1},             // no ClientHello: no stack
	} {
		if got := testutil.ToFloat64(m.shakes.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("handshakes%q = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.shakes); n != 4 {
		t.Errorf("%d series, want 4", n)
	}
	if n := testutil.CollectAndCount(m.duration, "tlstriage_handshake_duration_seconds"); n != 3 {
		t.Errorf("%d duration histograms, want 3 (one per verdict)", n)
	}
}

// TestLabelCaps checks that servers and SNIs beyond their caps are counted
// under "other", and the overflow counted.
func TestLabelCaps(t *testing.T) {
	m := New(Options{MaxServers: 2, MaxSNIs: 3})
	ok := result(diagnose.VerdictOK, "", clientstack.Go)
	for i := range 5 {
		m.Observe(conn(fmt.Sprintf("10.0.0.%d:443", i+2), fmt.Sprintf("h%d.example", i)), ok)
	}
	m.Observe(conn("10.0.0.2:443", "h0.example"), ok) // already admitted
	m.Observe(conn("10.0.0.9:443", ""), ok)           // no SNI: never capped

	want := map[[2]string]float64{
		{"10.0.0.2:443", "h0.example"}: 2,
		{"10.0.0.3:443", "h1.example"}: 1,
		{Other, "h2.example"}:          1,
		{Other, Other}:                 2,
		{Other, ""}:                    1,
	}
	for k, v := range want {
		if got := testutil.ToFloat64(m.shakes.WithLabelValues("ok", "", k[0], k[1], "go")); got != v {
			t.Errorf("server %q sni %q: %v, want %v", k[0], k[1], got, v)
		}
	}
	if n := testutil.CollectAndCount(m.shakes); n != len(want) {
		t.Errorf("%d series, want %d", n, len(want))
	}
	if got := testutil.ToFloat64(m.overflow.WithLabelValues("server")); got != 4 {
		t.Errorf("server overflow %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.overflow.WithLabelValues("sni")); got != 2 {
		t.Errorf("sni overflow %v, want 2", got)
	}
}

// TestSeriesCap checks that label sets beyond MaxSeries lose their server
// and SNI.
func TestSeriesCap(t *testing.T) {
	m := New(Options{MaxSeries: 2})
	m.Observe(conn("10.0.0.2:443", "a.example"), result(diagnose.VerdictOK, "", clientstack.Go))
	m.Observe(conn("10.0.0.2:443", "a.example"), result(diagnose.VerdictServerAlert, diagnose.CauseProtocolMismatch, clientstack.Go))
	m.Observe(conn("10.0.0.3:443", "b.example"), result(diagnose.VerdictOK, "", clientstack.Go))
	m.Observe(conn("10.0.0.2:443", "a.example"), result(diagnose.VerdictOK, "", clientstack.Go))
	if got := testutil.ToFloat64(m.shakes.WithLabelValues("ok", "", Other, Other, "go")); got != 1 {
		t.Errorf("ok under other/other: %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.shakes.WithLabelValues("ok", "", "10.0.0.2:443", "a.example", "go")); got != 2 {
		t.Errorf("ok a.example: %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.overflow.WithLabelValues("series")); got != 1 {
		t.Errorf("series overflow %v, want 1", got)
	}
}

// TestCertificates checks the NotAfter gauge and the eviction of the least
// recently seen leaf.
func TestCertificates(t *testing.T) {
	m := New(Options{MaxCertificates: 2})
	ok := result(diagnose.VerdictOK, "", clientstack.Go)
	exp := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	m.Observe(withLeaf(conn("10.0.0.2:443", "a.example"), "a.example", 1, exp(10)), ok)
	m.Observe(withLeaf(conn("10.0.0.3:443", "b.example"), "b.example", 2, exp(20)), ok)
	m.Observe(withLeaf(conn("10.0.0.2:443", "a.example"), "a.example", 1, exp(10)), ok) // a is now the most recent
	m.Observe(withLeaf(conn("10.0.0.4:443", "c.example"), "c.example", 0xabc, exp(30)), ok)

	if got := testutil.ToFloat64(m.evicted); got != 1 {
		t.Errorf("evicted %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.notAfter); n != 2 {
		t.Errorf("%d certificate series, want 2", n)
	}
	want := `
# HELP tlstriage_certificate_not_after_timestamp_seconds NotAfter of the leaf certificates servers sent, as Unix seconds.
# TYPE tlstriage_certificate_not_after_timestamp_seconds gauge
tlstriage_certificate_not_after_timestamp_seconds{issuer="Test CA",serial="1",server="10.0.0.2:443",sni="a.example",subject="a.example"} %d
tlstriage_certificate_not_after_timestamp_seconds{issuer="Test CA",serial="abc",server="10.0.0.4:443",sni="c.example",subject="c.example"} %d
`
	want = fmt.Sprintf(want, exp(10).Unix(), exp(30).Unix())
	if err := testutil.CollectAndCompare(m.notAfter, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestUntrustedLabels checks that SNIs and subjects from the wire become
// valid, bounded label values, and that the exposition stays parseable.
func TestUntrustedLabels(t *testing.T) {
	m := New(Options{})
	bad := "bad\xff\xfe.example\n\"x\""
	long := strings.Repeat("é", 200) // 400 bytes
	ok := result(diagnose.VerdictOK, "", clientstack.Go)
	m.Observe(withLeaf(conn("10.0.0.2:443", bad), "cn\xc3", 7, t0), ok)
	m.Observe(conn("10.0.0.3:443", long), ok)

	var buf bytes.Buffer
	if err := m.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !utf8.ValidString(out) {
		t.Error("exposition is not valid UTF-8")
	}
	for _, want := range []string{`sni="bad\uFFFD.example\n\"x\""`, `subject="cn\uFFFD"`, `sni="` + strings.Repeat("é", 126) + `"`} {
		want = strings.ReplaceAll(want, `\uFFFD`, "\uFFFD")
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	promtest.CheckMetrics(t, buf.Bytes())
}

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"aé", 2, "a"}, // not inside the rune
		{"a\xffb", 10, "a\uFFFDb"},
		{"", 5, ""},
	} {
		if got := label(c.in, c.max); got != c.want {
			t.Errorf("label(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestHandshakeDuration(t *testing.T) {
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name   string
		events []dissect.Event
		want   time.Duration
	}{
		{"ok: last handshake message before data", []dissect.Event{
			dissect.Event{Kind: dissect.EvSYN}.At(ms(0)), dissect.Event{Kind: dissect.EvClientHello}.At(ms(1)),
			dissect.Event{Kind: dissect.EvServerHello}.At(ms(2)), dissect.Event{Kind: dissect.EvChangeCipherSpec}.At(ms(4)),
			dissect.Event{Kind: dissect.EvApplicationData}.At(ms(6)), dissect.Event{Kind: dissect.EvNewSessionTicket}.At(ms(7)),
			dissect.Event{Kind: dissect.EvFIN}.At(ms(900)),
		}, 4 * time.Millisecond},
		{"rejected: the alert", []dissect.Event{
			dissect.Event{Kind: dissect.EvClientHello}.At(ms(1)), dissect.Event{Kind: dissect.EvCertificate}.At(ms(2)),
			dissect.Event{Kind: dissect.EvAlert}.At(ms(5)), dissect.Event{Kind: dissect.EvFIN}.At(ms(6)),
		}, 5 * time.Millisecond},
		{"no answer: the RST", []dissect.Event{
			dissect.Event{Kind: dissect.EvClientHello}.At(ms(1)), dissect.Event{Kind: dissect.EvGap}.At(ms(3)), dissect.Event{Kind: dissect.EvRST}.At(ms(10000)),
		}, 10 * time.Second},
		{"nothing", nil, 0},
	} {
		c0 := &dissect.Conn{FirstTime: t0, Events: c.events}
		if got := HandshakeDuration(c0); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCapture(t *testing.T) {
	m := New(Options{})
	m.SetCapture(dissect.Stats{Packets: 10, Bytes: 1000, TCPConns: 3, TLSConns: 2, Evicted: 1,
		LimitsReached: map[string]int64{"flow table": 1, "buffer memory": 4}}, capture.Stats{})
	want := `
# HELP tlstriage_limits_reached_total Times a memory limit of the analysis was reached, by limit.
# TYPE tlstriage_limits_reached_total counter
tlstriage_limits_reached_total{limit="buffer memory"} 4
tlstriage_limits_reached_total{limit="flow table"} 1
# HELP tlstriage_packets_total Packets (frames) read by the analysis.
# TYPE tlstriage_packets_total counter
tlstriage_packets_total 10
`
	if err := testutil.CollectAndCompare(m.capture, strings.NewReader(want), "tlstriage_packets_total", "tlstriage_limits_reached_total"); err != nil {
		t.Error(err)
	}
	// Drops only when the source knows them.
	if n := testutil.CollectAndCount(m.capture, "tlstriage_kernel_drops_total"); n != 0 {
		t.Errorf("kernel drops shown for a source that does not know them")
	}
	m.SetCapture(dissect.Stats{Packets: 12}, capture.Stats{KernelDrops: 5, IfaceDrops: 2, Known: true})
	want = `
# HELP tlstriage_interface_drops_total Packets the interface or its driver dropped; live capture only.
# TYPE tlstriage_interface_drops_total counter
tlstriage_interface_drops_total 2
# HELP tlstriage_kernel_drops_total Packets the kernel dropped before tlstriage read them (capture buffer full); live capture only.
# TYPE tlstriage_kernel_drops_total counter
tlstriage_kernel_drops_total 5
# HELP tlstriage_packets_total Packets (frames) read by the analysis.
# TYPE tlstriage_packets_total counter
tlstriage_packets_total 12
`
	if err := testutil.CollectAndCompare(m.capture, strings.NewReader(want), "tlstriage_packets_total", "tlstriage_kernel_drops_total", "tlstriage_interface_drops_total"); err != nil {
		t.Error(err)
	}
}

// TestConcurrent observes from several goroutines while scraping (run
// with -race).
func TestConcurrent(t *testing.T) {
	m := New(Options{MaxServers: 5, MaxCertificates: 3})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				c := withLeaf(conn(fmt.Sprintf("10.0.%d.%d:443", g, i%10), "x.example"), "x", int64(i%7), t0)
				m.Observe(c, result(diagnose.VerdictOK, "", clientstack.Go))
				m.SetCapture(dissect.Stats{Packets: int64(i)}, capture.Stats{})
			}
		})
	}
	for range 5 {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wg.Wait()
	if got := sum(t, m, "tlstriage_handshakes_total"); got != 800 {
		t.Errorf("%v handshakes counted, want 800", got)
	}
	if n := testutil.CollectAndCount(m.shakes); n != 6 {
		t.Errorf("%d series, want 5 servers + other", n)
	}
	if got := testutil.ToFloat64(m.overflow.WithLabelValues("server")); got != 800-5*20 {
		t.Errorf("server overflow %v, want %d", got, 800-5*20)
	}
	if got := testutil.CollectAndCount(m.notAfter); got != 3 {
		t.Errorf("%d certificate series, cap 3", got)
	}
}

// sum adds the values of every series of a counter family.
func sum(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			n += mt.GetCounter().GetValue()
		}
	}
	return n
}

// TestDocRules checks the alerting rules of docs/metrics.md with promtool,
// and that the document names every metric of the package.
func TestDocRules(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{})
	m.Observe(withLeaf(conn("10.0.0.2:443", "a.example"), "a", 1, t0), result(diagnose.VerdictOK, "", clientstack.Go))
	m.SetCapture(dissect.Stats{LimitsReached: map[string]int64{"flow table": 1}}, capture.Stats{Known: true})
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "tlstriage_") && !bytes.Contains(doc, []byte("`"+name+"`")) {
			t.Errorf("docs/metrics.md does not document %s", name)
		}
	}
	_, rest, ok := bytes.Cut(doc, []byte("```yaml\n"))
	rules, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("docs/metrics.md has no yaml block of rules")
	}
	promtest.CheckRules(t, rules)
	// The rule file to install is the one documented.
	file, err := os.ReadFile(filepath.Join("..", "contrib", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, rules) {
		t.Error("contrib/prometheus/alerts.yml differs from the rules of docs/metrics.md")
	}
}
