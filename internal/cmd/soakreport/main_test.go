package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// fakeConn is one connection of a fake soak.
type fakeConn struct {
	id      int
	client  string
	server  string
	verdict string
	cause   string
	start   time.Time
	// genFailed: the generator saw it fail (it logs it); by default,
	// whether the connection went to a failing server.
	genFailed bool
}

func (c fakeConn) failed() bool { return failedVerdict(c.verdict) }

// fakeSoak describes the files of a soak directory; mutations change it
// before it is written.
type fakeSoak struct {
	rssSlope  float64 // KiB per minute after the warm-up
	conns     []fakeConn
	pieces    [][]int // indexes into conns, per NDJSON piece (the last one gets the summary)
	ring      [][]int // indexes into conns, per ring file, oldest first
	ringExtra func(file int, w *pcapgo.NgWriter)
	cutLine   bool
	// changes to the counts
	metricsFailedDelta int
	ttDrops, tdDrops   int
}

var fakeStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var servers = map[string]string{
	"ok": "127.0.0.1:8443", "unknown_ca": "127.0.0.1:8444", "mismatch": "127.0.0.1:8445", "client_cert": "127.0.0.1:8446",
}

var kindOf = map[string]string{
	"127.0.0.1:8443": "ok", "127.0.0.1:8444": "unknown_ca", "127.0.0.1:8445": "mismatch", "127.0.0.1:8446": "client_cert",
}

// newFakeSoak makes 200 connections, one in five failing, in 4 NDJSON
// pieces, and a ring of 3 files holding the failed connections of the
// last half, one of them cut by a rotation.
func newFakeSoak() *fakeSoak {
	s := &fakeSoak{ttDrops: 0, tdDrops: 12}
	kinds := []struct{ server, verdict, cause string }{
		{"127.0.0.1:8444", "client_rejected_certificate", "truststore_missing_root"},
		{"127.0.0.1:8445", "client_aborted_after_server_flight", "unknown"},
		{"127.0.0.1:8446", "client_cert_rejected", "client_cert_required"},
	}
	for i := range 200 {
		c := fakeConn{id: i + 1, client: fmt.Sprintf("127.0.0.1:%d", 40000+i), server: "127.0.0.1:8443", verdict: "ok",
			start: fakeStart.Add(time.Duration(i) * 10 * time.Millisecond)}
		if i%5 == 4 {
			k := kinds[(i/5)%3]
			c.server, c.verdict, c.cause, c.genFailed = k.server, k.verdict, k.cause, true
		}
		s.conns = append(s.conns, c)
	}
	for p := range 4 {
		var idx []int
		for i := p * 50; i < (p+1)*50; i++ {
			idx = append(idx, i)
		}
		s.pieces = append(s.pieces, idx)
	}
	var failed []int
	for i := 100; i < 200; i++ {
		if s.conns[i].failed() {
			failed = append(failed, i)
		}
	}
	s.ring = [][]int{failed[:7], failed[6:14], failed[14:]} // failed[6] straddles files 0 and 1
	return s
}

func (s *fakeSoak) write(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "soak.env"), []byte("SOAK_MINUTES=30\nSOAK_RATE=300\nnproc=2\n"), 0o644))

	var rss strings.Builder
	rss.WriteString("t_s,rss_kib,heap_inuse_bytes,goroutines,packets,handshakes\n")
	for i := range 181 {
		t := float64(i * 10)
		v := 40000 + 200*math.Sin(float64(i)) // noise
		if t < 120 {
			v -= 5000 * (120 - t) / 120 // warm-up
		} else {
			v += s.rssSlope * (t - 120) / 60
		}
		fmt.Fprintf(&rss, "%.0f,%.0f,%.0f,%d,%d,%d\n", t, v, v*512, 12, i*4500, i*3000)
	}
	rss.WriteString("1810,,,,,\n") // the process gone
	must(os.WriteFile(filepath.Join(dir, "rss.csv"), []byte(rss.String()), 0o644))

	type vc struct{ server, verdict, cause string }
	m := map[vc]int{}
	failed := 0
	for _, c := range s.conns {
		m[vc{c.server, c.verdict, c.cause}]++
		if c.failed() {
			failed++
		}
	}
	var prom strings.Builder
	prom.WriteString("# HELP tlstriage_handshakes_total Connections judged.\n# TYPE tlstriage_handshakes_total counter\n")
	first := true
	for k, n := range m {
		if first && failedVerdict(k.verdict) {
			n += s.metricsFailedDelta
			first = false
		}
		cause := ""
		if k.cause != "" {
			cause = fmt.Sprintf(`cause="%s",`, k.cause)
		}
		fmt.Fprintf(&prom, "tlstriage_handshakes_total{%sclient_stack=\"go\",server=\"%s\",sni=\"backend.example.test\",verdict=\"%s\"} %d\n", cause, k.server, k.verdict, n)
	}
	fmt.Fprintf(&prom, "tlstriage_kernel_drops_total %d\ntlstriage_interface_drops_total 0\ntlstriage_packets_total 3000\n", s.ttDrops)
	prom.WriteString("process_resident_memory_bytes 4.1e+07\ngo_info{version=\"go1.26 \\\"x\\\"\"} 1\n")
	must(os.WriteFile(filepath.Join(dir, "metrics.prom"), []byte(prom.String()), 0o644))

	must(os.WriteFile(filepath.Join(dir, "tlstriage.err"), fmt.Appendf(nil,
		"tlstriage: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"+
			"tlstriage: capture on lo: 3000 packets captured, 3000 received by the filter, %d dropped by the kernel, 0 dropped by the interface\n", s.ttDrops), 0o644))
	must(os.WriteFile(filepath.Join(dir, "tcpdump.err"), fmt.Appendf(nil,
		"tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n3000 packets captured\n6000 packets received by filter\n%d packets dropped by kernel\n", s.tdDrops), 0o644))

	gen := generatorReport{Rate: 300, Duration: "30m0s", ElapsedS: 1800, AchievedRate: 299.9, Started: len(s.conns),
		Servers: servers, Kinds: map[string]genCounts{}}
	for _, c := range s.conns {
		k := kindOf[c.server]
		gc := gen.Kinds[k]
		gc.Attempted++
		gen.Total.Attempted++
		if c.genFailed {
			gc.Failed++
			gen.Total.Failed++
		} else {
			gc.OK++
			gen.Total.OK++
		}
		gen.Kinds[k] = gc
	}
	b, err := json.Marshal(gen)
	must(err)
	must(os.WriteFile(filepath.Join(dir, "generator.json"), b, 0o644))
	var events bytes.Buffer
	for _, c := range s.conns {
		if c.genFailed {
			must(json.NewEncoder(&events).Encode(event{Start: c.start.Add(-time.Millisecond), Kind: kindOf[c.server], Version: "TLS 1.2",
				Client: c.client, Server: c.server, Stage: "handshake", Error: "remote error: tls: handshake failure"}))
		}
	}
	must(os.WriteFile(filepath.Join(dir, "generator.log"), events.Bytes(), 0o644))

	for p, idx := range s.pieces {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, i := range idx {
			c := s.conns[i]
			must(enc.Encode(map[string]any{"type": "connection", "id": c.id, "client": c.client, "server": c.server,
				"sni": "backend.example.test", "verdict": c.verdict, "cause": c.cause, "failed": c.failed(),
				"start": c.start.Format(time.RFC3339Nano)}))
		}
		name := fmt.Sprintf("conns.ndjson.%d", p+1)
		if p == len(s.pieces)-1 {
			name = "conns.ndjson"
			must(enc.Encode(map[string]any{"type": "summary", "connections": len(s.conns), "failed": failed}))
			if s.cutLine {
				buf.WriteString(`{"type":"connection","id":9`)
			}
		}
		must(os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
	}

	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[int]bool{}
	for f, idx := range s.ring {
		name := filepath.Join(dir, fmt.Sprintf("failed.pcapng%d", (f+3)%5)) // the ring wrapped: oldest is not 0
		fh, err := os.Create(name)
		must(err)
		w, err := pcapgo.NewNgWriter(fh, layers.LinkTypeEthernet)
		must(err)
		for _, i := range idx {
			c := s.conns[i]
			n := 4
			if seen[i] { // the second half of a straddling connection
				n = 2
			}
			seen[i] = true
			for range n {
				writePacket(t, w, start, c, c.verdict)
			}
		}
		if s.ringExtra != nil {
			s.ringExtra(f, w)
		}
		must(w.Flush())
		must(fh.Close())
		mod := start.Add(time.Duration(f) * time.Minute)
		must(os.Chtimes(name, mod, mod))
	}
}

func writePacket(t *testing.T, w *pcapgo.NgWriter, ts time.Time, c fakeConn, verdict string) {
	t.Helper()
	cip, cport, _ := net.SplitHostPort(c.client)
	sip, sport, _ := net.SplitHostPort(c.server)
	var cp, sp int
	fmt.Sscan(cport, &cp)
	fmt.Sscan(sport, &sp)
	eth := &layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(cip).To4(), DstIP: net.ParseIP(sip).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(cp), DstPort: layers.TCPPort(sp), ACK: true, Window: 64}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	comment := fmt.Sprintf("tlstriage: connection #%d %s -> %s: %s", c.id, c.client, c.server, verdict)
	if c.cause != "" {
		comment += ", cause " + c.cause
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
	if err := w.WritePacketWithOptions(ci, data, pcapgo.NgPacketOptions{Comments: []string{comment}}); err != nil {
		t.Fatal(err)
	}
}

// result runs soakreport on the fake and returns its exit status and the
// check lines by name.
func result(t *testing.T, s *fakeSoak) (int, map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	s.write(t, dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{dir}, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	saved, err := os.ReadFile(filepath.Join(dir, "result.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, stdout.Bytes()) {
		t.Error("result.md differs from standard output")
	}
	checks := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Split(line, " | ")
		if len(f) >= 3 && strings.HasPrefix(line, "| ") {
			checks[strings.TrimPrefix(f[0], "| ")] = f[1]
		}
	}
	return code, checks, stdout.String()
}

func TestConsistentSoakPasses(t *testing.T) {
	code, checks, out := result(t, newFakeSoak())
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	for _, name := range []string{
		"RSS flat", "kernel drops ≤ tcpdump's", "failures: NDJSON = metrics", "failures: generator = tlstriage",
		"connections: generator = NDJSON = metrics", "failures meant, each counted once", "metrics = NDJSON per verdict and cause",
		"each generator failure: one NDJSON record", "failures meant: judged failed", "failed records: failed for the generator",
		"summary object = NDJSON", "NDJSON: no record twice", "NDJSON: every line whole",
		"ring: every packet of a failed connection", "ring: each connection once", "ring = NDJSON failures over its window",
	} {
		if checks[name] != "pass" {
			t.Errorf("check %q: %q, want pass", name, checks[name])
		}
	}
	for _, want := range []string{"1 straddle a rotation", "| failed.pcapng3 | 28 |", "4 pieces, 200 connection records"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Log(out)
	}
}

func TestSoakProblemsFail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(s *fakeSoak)
		check  string
	}{
		{"rss grows", func(s *fakeSoak) { s.rssSlope = 200 }, "RSS flat"},
		{"more drops than tcpdump", func(s *fakeSoak) { s.ttDrops, s.tdDrops = 5, 2 }, "kernel drops ≤ tcpdump's"},
		{"metrics count a failure twice", func(s *fakeSoak) { s.metricsFailedDelta = 1 }, "failures: NDJSON = metrics"},
		{"a failure meant judged ok", func(s *fakeSoak) { s.conns[4].verdict, s.conns[4].cause = "ok", "" }, "failures meant: judged failed"},
		{"a completed connection judged failed", func(s *fakeSoak) {
			s.conns[3].verdict, s.conns[3].cause = "server_reset", "unknown"
		}, "failed records: failed for the generator"},
		{"a failure missing from the NDJSON", func(s *fakeSoak) { s.pieces[0] = s.pieces[0][:len(s.pieces[0])-1] }, "each generator failure: one NDJSON record"},
		{"record in two pieces", func(s *fakeSoak) { s.pieces[1] = append(s.pieces[1], s.pieces[0][len(s.pieces[0])-1]) }, "NDJSON: no record twice"},
		{"cut line", func(s *fakeSoak) { s.cutLine = true }, "NDJSON: every line whole"},
		{"ring holds an ok connection", func(s *fakeSoak) {
			s.ringExtra = func(f int, w *pcapgo.NgWriter) {
				if f == 1 {
					writePacket(t, w, time.Now(), s.conns[150], "ok")
				}
			}
		}, "ring: every packet of a failed connection"},
		{"ring writes a connection twice", func(s *fakeSoak) { s.ring[2] = append(s.ring[2], s.ring[1][2]) }, "ring: each connection once"},
		{"ring misses a failure", func(s *fakeSoak) { s.ring[1] = append(s.ring[1][:3:3], s.ring[1][4:]...) }, "ring = NDJSON failures over its window"},
		{"ring misses the last failures", func(s *fakeSoak) { s.ring[2] = s.ring[2][:len(s.ring[2])-2] }, "ring = NDJSON failures over its window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeSoak()
			tc.mutate(s)
			code, checks, out := result(t, s)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if checks[tc.check] != "**FAIL**" {
				t.Errorf("check %q: %q, want **FAIL**:\n%s", tc.check, checks[tc.check], out)
			}
		})
	}
}

func TestParseSeries(t *testing.T) {
	s, ok := parseSeries(`tlstriage_handshakes_total{cause="",server="127.0.0.1:8443",sni="a \"b\" \\ c"} 1.5e+03`)
	if !ok || s.name != "tlstriage_handshakes_total" || s.value != 1500 || s.labels["sni"] != `a "b" \ c` || s.labels["server"] != "127.0.0.1:8443" {
		t.Errorf("got %+v, %v", s, ok)
	}
	if s, ok := parseSeries("go_goroutines 12"); !ok || s.value != 12 {
		t.Errorf("got %+v, %v", s, ok)
	}
	for _, bad := range []string{`x{a="b} 1`, `x{a=b} 1`, "x", `x{a="b"}`} {
		if _, ok := parseSeries(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestFit(t *testing.T) {
	slope, n := fit([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7})
	if n != 4 || math.Abs(slope-2) > 1e-9 {
		t.Errorf("fit = %v, %d; want 2, 4", slope, n)
	}
}

// TestExplainedDifference: the client of a connection to the ok server
// timed out after the handshake, which tlstriage rightly judged ok: the
// generator counts one failure more, matched connection by connection.
func TestExplainedDifference(t *testing.T) {
	s := newFakeSoak()
	s.conns[3].genFailed = true
	code, checks, out := result(t, s)
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	if got := checks["failures: generator = tlstriage"]; got != "note" {
		t.Errorf("failures: generator = tlstriage: %q, want note", got)
	}
	if !strings.Contains(out, "| ok | TLS 1.2 | handshake | `remote error: tls: handshake failure` | ok | 1 |") {
		t.Errorf("no row for the ok connection the generator saw fail:\n%s", out)
	}
}
