package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/bigcap"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// slowJSON is the reference: encoding/json on NewRecord's result, as the
// JSON writer did before it had its own encoder.
func slowJSON(t *testing.T, c *dissect.Conn, r *diagnose.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewRecord(c, r)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compareConn checks one connection through a shared encoder (so that its
// caches are exercised) against the reference.
func compareConn(t *testing.T, e *jsonEncoder, what string, c *dissect.Conn, r *diagnose.Result) {
	t.Helper()
	want := slowJSON(t, c, r)
	var rec counted
	got := e.appendRecord(nil, c, r, &rec)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: connection %d:\n got %s\nwant %s", what, c.ID, got, want)
	}
	full := NewRecord(c, r)
	if rec.Verdict != full.Verdict || rec.Failed != full.Failed || rec.Cause != full.Cause || rec.SNI != full.SNI ||
		rec.JA3 != full.JA3 || rec.JA4 != full.JA4 {
		t.Fatalf("%s: connection %d: summary fields differ", what, c.ID)
	}
}

func analyse(t *testing.T, name string, data []byte, emit func(*dissect.Conn)) {
	t.Helper()
	f, err := capture.NewReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	an := dissect.NewAnalyzer(dissect.Options{}, emit)
	an.SetFile(name)
	an.Run(context.Background(), f)
	an.Flush()
}

// TestFastJSON compares the JSON writer's encoder with encoding/json on
// every committed capture, judged against several truststores and hosts,
// and on generated captures of many connections.
func TestFastJSON(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap*"))
	if err != nil || len(paths) == 0 {
		t.Fatal("no captures", err)
	}
	var stores []*truststore.Store
	stores = append(stores, truststore.Mozilla())
	for _, ts := range []string{"truststore-root.pem", "truststore-other.pem"} {
		s, err := truststore.Load([]string{filepath.Join("..", "testdata", "pcap", "pki", ts)}, "changeit")
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	e := newJSONEncoder()
	n := 0
	for _, p := range paths {
		data := readFile(t, p)
		analyse(t, p, data, func(c *dissect.Conn) {
			for _, s := range stores {
				for _, host := range []string{"", "other.example.test"} {
					compareConn(t, e, p, c, diagnose.Diagnose(c, diagnose.Options{Trust: s, Host: host}))
					n++
				}
			}
		})
	}
	for _, k := range []bigcap.Kind{bigcap.Bulk, bigcap.Handshake} {
		ts, err := bigcap.NewTemplates(k, 20<<10)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := ts.Write(&buf, bigcap.Options{Sessions: 300}); err != nil {
			t.Fatal(err)
		}
		analyse(t, k.String()+".pcap", buf.Bytes(), func(c *dissect.Conn) {
			compareConn(t, e, k.String(), c, diagnose.Diagnose(c, diagnose.Options{}))
			n++
		})
	}
	t.Logf("%d connections compared", n)
}

// TestFastJSONStrings checks escaping and odd values: control characters,
// invalid UTF-8, U+2028, HTML characters, an IPv6 zone, years out of
// range, negative and tiny durations.
func TestFastJSONStrings(t *testing.T) {
	nasty := []string{"", "plain", "a\"b\\c", "\x00\x01\x08\x0c\n\r\t\x1f\x7f", "<script>&amp;</script>", "\xff\xfe bad", "line\u2028sep\u2029", "日本語", "\xe2\x80", "emoji 😀"}
	e := newJSONEncoder()
	base := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	for i, s := range nasty {
		ch := &tlsparse.ClientHello{LegacyVersion: 0x0303, ServerName: s, ALPN: []string{s, "h2"}, CipherSuites: []uint16{0x1301, 0x0a0a, 0xffff},
			SupportedVersions: []uint16{0x0304, 0x0303, 0x7f1c}, ExtensionTypes: []uint16{0, 0xfe0d, 0x9999},
			SignatureAlgorithms: []uint16{0x0403, 0x1234}, SupportedGroups: []uint16{29, 0x4a4a, 4588}, ECPointFormats: []uint8{0}}
		c := &dissect.Conn{
			ID: i + 1, File: s, Client: netip.MustParseAddrPort("[fe80::1%eth" + string(rune('0'+i)) + "]:1234"), Server: netip.MustParseAddrPort("10.0.0.2:443"),
			FirstTime: base, LastTime: base.Add(time.Duration(i) * time.Nanosecond * 1777), ClientHello: ch,
			ServerHello: &tlsparse.ServerHello{LegacyVersion: 0x0303, CipherSuite: 0x9999, ALPN: s, SupportedVersion: 0x7f17},
			Upgrade:     dissect.Upgrade(s), Anomalies: []dissect.Anomaly{{Code: s, Frame: 3, Detail: s}}, Dropped: i, Flipped: i%2 == 0,
			Sides: [2]dissect.SideInfo{{FIN: &dissect.CloseInfo{Frame: 9}}, {RST: &dissect.CloseInfo{Frame: 10}}},
		}
		times := []time.Time{base, base.Add(-time.Hour), time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), base.Add(time.Nanosecond)}
		for k := dissect.EvSYN; k <= dissect.EvPlaintext+2; k++ {
			c.Events = append(c.Events, dissect.Event{Kind: k, From: dissect.Side(k % 2), Frame: int(k), Detail: s, Flags: dissect.TCPFlags(i * 7),
				Count: int(k % 3), Length: int(k) * 100, Alert: tlsparse.Alert{Level: tlsparse.AlertLevel(k % 3), Description: tlsparse.AlertDescription(k * 7)}}.At(times[int(k)%len(times)]))
		}
		r := &diagnose.Result{Wire: diagnose.Wire{Verdict: diagnose.Verdict(s), Detail: s, CloseAfterCert: time.Duration(i) * 1234567}, Failed: true, Cause: diagnose.Cause(s), CauseDetail: s, Fix: s,
			Findings: []diagnose.Finding{{Code: diagnose.FindingCode(s), Severity: diagnose.Severity(s), Summary: s}, {Code: "x", Evidence: []string{s, s}}}, TrustStore: s, Host: s, NameCheck: s}
		compareConn(t, e, "nasty", c, r)
		r.Chain = &diagnose.ChainReport{Trusted: i%2 == 1, Path: []string{s}, Certs: []diagnose.ChainCert{{Info: &dissect.CertInfo{SHA256: s, Err: errString(s)}, Role: s}}}
		compareConn(t, e, "nasty chain", c, r)
		c.ClientHello, c.ServerHello = nil, nil
		compareConn(t, e, "no hellos", c, r)
	}
	for _, f := range []float64{0, 1e-7, 5e-324, 0.001, 1, 123456.789, 1e20, 1e21, 1.5e300, -0.000001, -2.5} {
		got := appendFloat(nil, f)
		want, _ := json.Marshal(f)
		if !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type errString string

func (e errString) Error() string { return string(e) }

// TestFastJSONFields fails when a field is added to the JSON form of a
// connection: appendRecord (fastjson.go) writes the fields one by one and
// must learn the new one, after which this list is updated.
func TestFastJSONFields(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[Record]():             "type file id client server sni version cipher alpn start duration_ms frames chain chain_hidden alerts verdict verdict_detail failed cause cause_detail fix client_error,omitempty findings trust_store trusted,omitempty trust_path,omitempty host name_check close_after_certificate_ms,omitempty client_hello,omitempty hello_retry_request ja3,omitempty ja3_string,omitempty ja3s,omitempty ja3s_string,omitempty ja4,omitempty client_stack,omitempty client_cert_requested partial flipped upgrade,omitempty anomalies,omitempty timeline events_dropped,omitempty",
		reflect.TypeFor[Hello]():              "versions cipher_suites groups signature_algorithms key_share_groups alpn extensions psk early_data ech status_request sslv2",
		reflect.TypeFor[ChainCert]():          "position role subject issuer serial sha256 not_before not_after dns_names ip_addresses is_ca self_signed key signature_algorithm in_truststore truststore_match,omitempty truststore_alias,omitempty valid_at_capture issued_by_next aia_ca_issuers,omitempty parse_error,omitempty",
		reflect.TypeFor[Alert]():              "from level description encrypted decrypted,omitempty cut,omitempty frame time note,omitempty",
		reflect.TypeFor[TimelineEvent]():      "frame time rel_ms from event detail,omitempty decrypted,omitempty cut,omitempty file,omitempty",
		reflect.TypeFor[diagnose.Finding]():   "code severity summary evidence,omitempty",
		reflect.TypeFor[ClientStack]():        "name version,omitempty app,omitempty evidence profile forced,omitempty",
		reflect.TypeFor[dissect.Anomaly]():    "code frame detail",
		reflect.TypeFor[diagnose.ChainCert](): "Info Position Role SelfSigned IsCA InTruststore TrustMatch TrustAlias ValidAtCapture Validity IssuedByNext Key KeyBits",
	}
	// Fields appendRecord writes when the struct has them (added by the
	// key log work: decrypted alerts and events).
	optional := map[string]bool{"decrypted,omitempty": true}
	for typ, fields := range want {
		var got, known []string
		for f := range typ.Fields() {
			tag := f.Tag.Get("json")
			if tag == "" {
				tag = f.Name
			}
			if !optional[tag] {
				got = append(got, tag)
			}
		}
		for _, f := range strings.Fields(fields) {
			if !optional[f] {
				known = append(known, f)
			}
		}
		if !slices.Equal(got, known) {
			t.Errorf("%v has the fields\n\t%s\nand fastjson.go knows\n\t%s\nteach appendRecord (and the cache keys of appendChainCert) the change, then update this test",
				typ, strings.Join(got, " "), fields)
		}
	}
}

// TestAppendMS: the fast form of a duration in milliseconds is what
// appendFloat writes of ms(d), around the edges of its range too.
func TestAppendMS(t *testing.T) {
	ds := []time.Duration{0, 1, 999, 1000, 1001, 10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond,
		51900 * time.Microsecond, 127230 * time.Microsecond, -time.Microsecond, -1500 * time.Microsecond,
		time.Duration(1e15-1) * time.Microsecond, time.Duration(1e15) * time.Microsecond, -time.Duration(1e15) * time.Microsecond,
		math.MaxInt64, math.MinInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		ds = append(ds, time.Duration(rng.Int64N(1<<uint(rng.IntN(62)+1)))-time.Duration(rng.IntN(2))*time.Duration(rng.Int64N(1<<40)))
	}
	for _, d := range ds {
		if got, want := string(appendMS(nil, d)), string(appendFloat(nil, ms(d))); got != want {
			t.Fatalf("appendMS(%d) = %s, want %s", int64(d), got, want)
		}
	}
}

// TestAppendTime: a time is written as encoding/json writes rfc3339 of it,
// in any location, across the edges of the years the fast form covers, and
// for runs of times within one second (the form's cache).
func TestAppendTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	ts := []time.Time{
		time.Date(0, time.December, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, time.January, 1, 0, 0, 0, 0, east),
		time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, time.December, 31, 23, 59, 59, 0, east),
		time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0), time.Unix(-1, 999999999), time.Unix(1<<40, 5), time.Unix(-1<<40, 5),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		base := time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9))
		if rng.IntN(2) == 0 {
			base = base.In(east)
		}
		ts = append(ts, base, base.Add(time.Duration(rng.Int64N(int64(2*time.Second)))))
	}
	e := newJSONEncoder()
	for _, tm := range ts {
		want, _ := json.Marshal(rfc3339(tm))
		if got := e.appendTime(nil, tm); string(got) != string(want) {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// BenchmarkRecordJSON weighs the hand-written encoder against
// encoding/json on the records of a capture of many connections (what
// keeps the encoder: issue 16 asked for encoding/json if the benchmark
// allowed it).
func BenchmarkRecordJSON(b *testing.B) {
	conns := judgedConns(b)
	b.Run("fast", func(b *testing.B) {
		e := newJSONEncoder()
		var buf []byte
		var k counted
		for b.Loop() {
			for _, j := range conns {
				buf = e.appendRecord(buf[:0], j.c, j.r, &k)
			}
		}
		b.ReportMetric(float64(b.N*len(conns))/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("encoding_json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			for _, j := range conns {
				buf.Reset()
				if err := enc.Encode(NewRecord(j.c, j.r)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(conns))/b.Elapsed().Seconds(), "records/s")
	})
}

// judged is a connection and its diagnosis.
type judged struct {
	c *dissect.Conn
	r *diagnose.Result
}

// judgedConns analyses and diagnoses the connections of a committed capture
// of many.
func judgedConns(b *testing.B) []judged {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "pcap", "many-connections.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	var conns []judged
	f, err := capture.NewReader("many-connections.pcap", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) {
		conns = append(conns, judged{c, diagnose.Diagnose(c, diagnose.Options{})})
	})
	an.SetFile("many-connections.pcap")
	an.Run(context.Background(), f)
	an.Flush()
	return conns
}

// BenchmarkWritePrepared weighs writing records prepared ahead (-j) into
// the buffered output that reading files uses.
func BenchmarkWritePrepared(b *testing.B) {
	conns := judgedConns(b)
	p := NewJSON(nil, false).Preparer()
	xs := make([]*Prepared, len(conns))
	for b.Loop() {
		b.StopTimer()
		for i, j := range conns {
			xs[i] = p.Prepare(j.c, j.r)
		}
		w := bufio.NewWriterSize(io.Discard, 64<<10)
		out := NewJSON(w, false)
		b.StartTimer()
		for i, j := range conns {
			if err := out.WritePrepared(j.c, xs[i]); err != nil {
				b.Fatal(err)
			}
		}
		w.Flush()
	}
	b.ReportMetric(float64(b.N*len(conns))/b.Elapsed().Seconds(), "records/s")
}
