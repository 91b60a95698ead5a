package dissect

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// Floods and adversarial streams (issue 6). Each scenario is a function of
// its size, run small by a Test that asserts the bounds (flow table size,
// per-connection buffers, what is counted) and big by a Benchmark that
// reports the time per packet and the peak heap:
//
//	go test -run '^$' -bench Flood -benchtime 1x ./dissect

// flood feeds hand-built Ethernet/IPv4/TCP frames to an Analyzer on a
// simulated clock, and watches the flow table and (when sample > 0) the heap.
type flood struct {
	a       *Analyzer
	ts      time.Time
	step    time.Duration
	buf     []byte
	packets int
	emitted int
	evicted int     // emitted connections that ended "evicted"
	noNote  int     // of those, how many lack a limit_reached anomaly
	minLive int     // lowest ID of the connections not evicted
	conns   []*Conn // emitted connections, when keep is set
	keep    bool
	maxOpen int
	maxHeld int    // most bytes buffered by all connections together
	sample  int    // read the heap every sample packets (0: never)
	peak    uint64 // highest HeapInuse seen
	// record keeps a copy of every frame sent in frames, to replay them
	// elsewhere (a Sharded).
	record bool
	frames []inFrame
}

func newFlood(o Options, keep bool) *flood {
	f := &flood{ts: t0, step: 50 * time.Microsecond, keep: keep, minLive: math.MaxInt}
	f.a = NewAnalyzer(o, func(c *Conn) {
		f.emitted++
		if c.Ended == EndEvicted {
			f.evicted++
			if len(c.Anomalies) == 0 || c.Anomalies[len(c.Anomalies)-1].Code != "limit_reached" {
				f.noNote++
			}
		} else {
			f.minLive = min(f.minLive, c.ID)
		}
		if f.keep {
			f.conns = append(f.conns, c)
		}
	})
	return f
}

// send builds one frame and analyses it.
func (f *flood) send(src, dst netip.AddrPort, seq, ack uint32, flags TCPFlags, payload []byte) {
	b := f.buf[:0]
	b = append(b, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	total := 40 + len(payload)
	b = append(b, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, 6, 0, 0)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 0x50, byte(flags), 0xff, 0xff, 0, 0, 0, 0)
	b = append(b, payload...)
	f.buf = b
	f.ts = f.ts.Add(f.step)
	ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(b), Length: len(b)}
	if f.record {
		f.frames = append(f.frames, inFrame{bytes.Clone(b), ci, layers.LinkTypeEthernet})
	}
	f.a.Packet(b, ci, layers.LinkTypeEthernet)
	f.packets++
	f.maxOpen = max(f.maxOpen, len(f.a.conns))
	f.maxHeld = max(f.maxHeld, f.a.held)
	if f.sample > 0 && f.packets%f.sample == 0 {
		f.peak = max(f.peak, heapInuse())
	}
}

// finish flushes the Analyzer and returns its counters.
func (f *flood) finish() Stats {
	if f.sample > 0 {
		f.peak = max(f.peak, heapInuse())
	}
	f.a.Flush()
	return f.a.Stats()
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// heapAlloc is the live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// floodClient is the i-th client of a flood: a distinct address per
// connection (10.64.0.0/10), always port 40000.
func floodClient(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 64 | byte(i>>16)&0x3f, byte(i >> 8), byte(i)}), 40000)
}

const (
	fSYN = FlagSYN
	fACK = FlagACK
	fPA  = FlagPSH | FlagACK
	fFA  = FlagFIN | FlagACK
	fRA  = FlagRST | FlagACK
)

// synFlood sends n SYNs from n clients, none followed by anything.
func synFlood(f *flood, n int) {
	for i := range n {
		f.send(floodClient(i), serverAddr, clientISN, 0, fSYN, nil)
	}
}

// hello returns the first write of each side of the recorded TLS 1.2
// handshake: the client's ClientHello and the server's flight (ServerHello,
// Certificate, ServerKeyExchange, ServerHelloDone).
func hello(tb testing.TB) (ch, flight []byte) {
	tb.Helper()
	c, err := rejection()
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range c.Events {
		switch {
		case e.Kind != pcaptest.Data:
		case e.Dir == pcaptest.ClientToServer && ch == nil:
			ch = e.Data
		case e.Dir == pcaptest.ServerToClient && flight == nil:
			flight = e.Data
		}
	}
	if len(ch) == 0 || len(flight) < 1448 {
		tb.Fatalf("ClientHello %d bytes, server flight %d bytes", len(ch), len(flight))
	}
	return ch, flight
}

// open sends the 3-way handshake of client i and returns the next
// sequence numbers of both sides.
func (f *flood) open(cl netip.AddrPort) (cseq, sseq uint32) {
	f.send(cl, serverAddr, clientISN, 0, fSYN, nil)
	f.send(serverAddr, cl, serverISN, clientISN+1, fSYN|fACK, nil)
	f.send(cl, serverAddr, clientISN+1, serverISN+1, fACK, nil)
	return clientISN + 1, serverISN + 1
}

// stream sends b from src to dst in segments of at most mss bytes from seq
// and returns the next sequence number.
func (f *flood) stream(src, dst netip.AddrPort, seq, ack uint32, b []byte, mss int) uint32 {
	for len(b) > 0 {
		k := min(mss, len(b))
		f.send(src, dst, seq, ack, fPA, b[:k])
		seq += uint32(k)
		b = b[k:]
	}
	return seq
}

// halfOpen opens n connections, each left in the middle of its handshake:
// the ClientHello and the first segment of the server's flight (the
// ServerHello and the start of the Certificate), then silence.
func halfOpen(f *flood, n int, ch, flight []byte) {
	first := flight[:min(1448, len(flight))]
	for i := range n {
		cl := floodClient(i)
		cseq, sseq := f.open(cl)
		cseq = f.stream(cl, serverAddr, cseq, sseq, ch, 1448)
		f.send(serverAddr, cl, sseq, cseq, fPA, first)
	}
}

// normal replays the whole recorded handshake (a rejection: FIN then RST
// from the client) for n clients, one after the other: the path the floods
// are compared with.
func normal(f *flood, n int, ch, flight []byte) {
	for i := range n {
		cl := floodClient(i)
		cseq, sseq := f.open(cl)
		cseq = f.stream(cl, serverAddr, cseq, sseq, ch, 1448)
		f.send(serverAddr, cl, sseq, cseq, fACK, nil)
		sseq = f.stream(serverAddr, cl, sseq, cseq, flight, 1448)
		f.send(cl, serverAddr, cseq, sseq, fACK, nil)
		f.send(cl, serverAddr, cseq, sseq, fFA, nil)
		f.send(cl, serverAddr, cseq+1, sseq, fRA, nil)
	}
}

// firstRecord returns the first TLS record of b (a whole record: b comes
// from crypto/tls).
func firstRecord(b []byte) []byte {
	return b[:5+int(binary.BigEndian.Uint16(b[3:5]))]
}

// tlsRecord frames body as one record of type typ.
func tlsRecord(typ byte, body []byte) []byte {
	r := []byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}
	return append(r, body...)
}

// serverHelloThen opens a connection, sends the ClientHello and the
// server's ServerHello record, and returns the sequence numbers.
func (f *flood) serverHelloThen(cl netip.AddrPort, ch, flight []byte) (cseq, sseq uint32) {
	cseq, sseq = f.open(cl)
	cseq = f.stream(cl, serverAddr, cseq, sseq, ch, 1448)
	sseq = f.stream(serverAddr, cl, sseq, cseq, firstRecord(flight), 1448)
	return cseq, sseq
}

// bigCertificate sends, after the ServerHello, a Certificate message whose
// header claims 16 MB (2^24-1 bytes), and size bytes of it in 16 KB
// records; then the client gives up with an alert and a FIN.
func bigCertificate(f *flood, size int, ch, flight []byte) {
	cl := floodClient(0)
	cseq, sseq := f.serverHelloThen(cl, ch, flight)
	body := make([]byte, 16<<10)
	for i := range body {
		body[i] = byte(i)
	}
	copy(body, []byte{11, 0xff, 0xff, 0xff}) // certificate, 16777215 bytes
	var rec []byte
	for sent := 0; sent < size; sent += len(body) {
		rec = append(rec[:0], tlsRecord(22, body)...)
		sseq = f.stream(serverAddr, cl, sseq, cseq, rec, 1448)
		body[0], body[1], body[2], body[3] = 0, 1, 2, 3 // the header was in the first record only
	}
	cseq = f.stream(cl, serverAddr, cseq, sseq, pcaptest.AlertRecord(pcaptest.AlertCertificateUnknown), 1448)
	f.send(cl, serverAddr, cseq, sseq, fFA, nil)
}

// tinyRecords sends, after the ServerHello, n records of 1 byte (alert
// records too short to be alerts), as many to a segment as fit.
func tinyRecords(f *flood, n int, ch, flight []byte) {
	cl := floodClient(0)
	cseq, sseq := f.serverHelloThen(cl, ch, flight)
	var b []byte
	for i := range n {
		b = append(b, tlsRecord(21, []byte{byte(i)})...)
	}
	sseq = f.stream(serverAddr, cl, sseq, cseq, b, 1446)
	f.send(cl, serverAddr, cseq, sseq, fFA, nil)
}

// overlaps sends the ClientHello, but first n segments that overlap each
// other and the ClientHello's bytes, ahead of its first byte and with
// conflicting content (garbage); then the true ClientHello, in order.
func overlaps(f *flood, n int, ch []byte) {
	cl := floodClient(0)
	cseq, sseq := f.open(cl)
	junk := make([]byte, 600)
	for i := range junk {
		junk[i] = 0xa5
	}
	for i := range n {
		off := 1 + (i*37)%(2*len(ch)) // never the first byte: all wait out of order
		k := 1 + (i*101)%len(junk)
		f.send(cl, serverAddr, cseq+uint32(off), sseq, fPA, junk[:k])
	}
	// The true bytes, in order, twice: the second copy overlaps exactly.
	end := f.stream(cl, serverAddr, cseq, sseq, ch, 100)
	f.stream(cl, serverAddr, cseq, sseq, ch, 1448)
	f.send(cl, serverAddr, end, sseq, fFA, nil)
}

// oneByte sends b from the client in 1-byte segments, in order or last
// byte first, after the 3-way handshake.
func oneByte(f *flood, b []byte, reverse bool) {
	cl := floodClient(0)
	cseq, sseq := f.open(cl)
	for i := range b {
		j := i
		if reverse {
			j = len(b) - 1 - i
		}
		f.send(cl, serverAddr, cseq+uint32(j), sseq, fPA, b[j:j+1])
	}
	f.send(cl, serverAddr, cseq+uint32(len(b)), sseq, fFA, nil)
}

// checkHeld checks the memory accounting of limits.go: what the Analyzer
// charges is what its connections hold, and no more than MaxBuffered.
func checkHeld(t *testing.T, f *flood) {
	t.Helper()
	sum := 0
	for _, cs := range f.a.conns {
		if cs.held != cs.holding() {
			t.Errorf("connection %d holds %d bytes, charged %d", cs.c.ID, cs.holding(), cs.held)
		}
		sum += cs.held
	}
	if sum != f.a.held {
		t.Errorf("connections hold %d bytes, Analyzer.held %d", sum, f.a.held)
	}
	if f.maxHeld > f.a.o.MaxBuffered {
		t.Errorf("%d bytes buffered at once, MaxBuffered %d", f.maxHeld, f.a.o.MaxBuffered)
	}
}

// checkEvicted checks that every connection was handed over once, and that
// the evicted ones are counted and carry a limit_reached anomaly.
func checkEvicted(t *testing.T, f *flood, st Stats, n int) {
	t.Helper()
	if f.emitted != n || st.TCPConns != int64(n) || len(f.a.conns) != 0 {
		t.Fatalf("%d connections handed over, %d counted, %d left; want %d", f.emitted, st.TCPConns, len(f.a.conns), n)
	}
	if f.noNote > 0 {
		t.Errorf("%d evicted connections carry no limit_reached anomaly", f.noNote)
	}
	if int64(f.evicted) != st.Evicted {
		t.Errorf("%d connections ended evicted, Stats.Evicted %d", f.evicted, st.Evicted)
	}
}

// Per-connection memory, documented in README.md (Limits): a connection
// that sent only a SYN, and one left in the middle of its handshake
// (ClientHello, ServerHello and a partial Certificate).
const (
	synConnBytes      = 2 << 10
	halfOpenConnBytes = 6 << 10
)

func TestFloodConnBytes(t *testing.T) {
	ch, flight := hello(t)
	const n = 10_000
	for _, tc := range []struct {
		name string
		run  func(*flood)
		max  int
	}{
		{"syn", func(f *flood) { synFlood(f, n) }, synConnBytes},
		{"half-open", func(f *flood) { halfOpen(f, n, ch, flight) }, halfOpenConnBytes},
	} {
		f := newFlood(Options{MaxConns: 2 * n}, false)
		before := heapAlloc()
		tc.run(f)
		after := heapAlloc()
		if len(f.a.conns) != n {
			t.Fatalf("%s: %d connections open, want %d", tc.name, len(f.a.conns), n)
		}
		per := int(after-before) / n
		t.Logf("%s: %d bytes per connection", tc.name, per)
		if per > tc.max {
			t.Errorf("%s: %d bytes per connection, documented at most %d", tc.name, per, tc.max)
		}
		runtime.KeepAlive(f)
	}
}

// TestFloodSYN: SYNs from 20 times more clients than the flow table holds:
// the table stays at its size by evicting the least recently active, every
// connection is handed over once, the evictions are counted, and the heap
// holds no more than the table.
func TestFloodSYN(t *testing.T) {
	const n, table = 20_000, 1_000
	f := newFlood(Options{MaxConns: table}, false)
	before := heapAlloc()
	synFlood(f, n)
	grown := int64(heapAlloc()) - int64(before)
	if f.maxOpen > table {
		t.Errorf("%d connections open at once, MaxConns %d", f.maxOpen, table)
	}
	if limit := int64(table*synConnBytes + 256<<10); grown > limit {
		t.Errorf("heap grew by %d bytes for a table of %d, want at most %d", grown, table, limit)
	}
	st := f.finish()
	checkEvicted(t, f, st, n)
	if st.Evicted < n-table || st.LimitsReached["flow table"] != st.Evicted {
		t.Errorf("evicted %d, flow table limit reached %d times; want at least %d, equal", st.Evicted, st.LimitsReached["flow table"], n-table)
	}
	// Least recently active first: the survivors are the last clients.
	if f.minLive <= n-table {
		t.Errorf("connection %d survived; only the last %d should", f.minLive, table)
	}
}

// TestFloodHalfOpen: connections left in the middle of their handshake,
// five times more than the table holds, each holding a partial Certificate:
// the table stays at its size, and every connection, evicted or not, keeps
// its hellos. With less room for buffered bytes than the table would hold,
// the buffers stay under their cap by handing over connections early.
func TestFloodHalfOpen(t *testing.T) {
	ch, flight := hello(t)
	const n, table = 5_000, 1_000
	for _, o := range []Options{
		{MaxConns: table},
		{MaxConns: table, MaxBuffered: 512 << 10},
	} {
		f := newFlood(o, true)
		halfOpen(f, n, ch, flight)
		checkHeld(t, f)
		if f.maxOpen > table {
			t.Errorf("%d connections open at once, MaxConns %d", f.maxOpen, table)
		}
		st := f.finish()
		checkEvicted(t, f, st, n)
		limit := "flow table"
		if o.MaxBuffered > 0 {
			limit = "buffer memory"
		}
		if st.LimitsReached[limit] != st.Evicted || st.Evicted < n-table {
			t.Errorf("MaxBuffered %d: limits reached %v, %d evicted", o.MaxBuffered, st.LimitsReached, st.Evicted)
		}
		for _, c := range f.conns {
			if c.ClientHello == nil || c.ClientHello.ServerName == "" || c.ServerHello == nil {
				t.Fatalf("connection %d lost its hellos (ended %s)", c.ID, c.Ended)
			}
		}
	}
}

// TestFloodBigCertificate: a Certificate that claims 16 MB is given up at
// MaxHandshake without buffering it (counted once, a finding on the
// connection), and the connection's story goes on: the client's alert and
// FIN after it are recorded.
func TestFloodBigCertificate(t *testing.T) {
	ch, flight := hello(t)
	f := newFlood(Options{MaxHandshake: 64 << 10}, true)
	bigCertificate(f, 1<<20, ch, flight)
	checkHeld(t, f)
	if f.maxHeld > 64<<10 {
		t.Errorf("%d bytes buffered at once for a Certificate capped at 64 KiB", f.maxHeld)
	}
	st := f.finish()
	if st.LimitsReached["handshake message size"] != 1 || len(f.conns) != 1 {
		t.Fatalf("limits reached %v, %d connections", st.LimitsReached, len(f.conns))
	}
	c := f.conns[0]
	found := false
	for _, an := range c.Anomalies {
		found = found || an.Code == "limit_reached" && strings.Contains(an.Detail, "16777215")
	}
	if !found {
		t.Errorf("no limit_reached anomaly naming the claimed length: %+v", c.Anomalies)
	}
	if c.Has(Server, EvCertificate) || !c.Has(Client, EvAlert) || c.Sides[Client].FIN == nil {
		t.Errorf("story after the cap: %s", story(c))
	}
}

// TestFloodTinyRecords: 10,000 records of 1 byte make 10,000 events, of
// which MaxEvents (and the reserve for alerts) are kept: the rest are
// counted on the connection and once in the Stats; the client's FIN still
// finds room.
func TestFloodTinyRecords(t *testing.T) {
	ch, flight := hello(t)
	const n = 10_000
	f := newFlood(Options{}, true)
	tinyRecords(f, n, ch, flight)
	st := f.finish()
	c := f.conns[0]
	if len(c.Events) > f.a.o.MaxEvents+32 {
		t.Errorf("%d events kept, MaxEvents %d + 32", len(c.Events), f.a.o.MaxEvents)
	}
	if c.Dropped < n-f.a.o.MaxEvents-32 || st.LimitsReached["events per connection"] != 1 {
		t.Errorf("%d events dropped, limit reached %d times", c.Dropped, st.LimitsReached["events per connection"])
	}
	if c.Sides[Server].Records != n+1 {
		t.Errorf("%d server records counted, want %d", c.Sides[Server].Records, n+1)
	}
	if c.Sides[Client].FIN == nil || !c.Has(Client, EvFIN) {
		t.Error("the client's FIN was not recorded")
	}
}

// TestFloodOverlap: segments that overlap each other and the ClientHello
// with conflicting bytes, waiting ahead of the stream, are bounded by
// MaxPending (the entries too), and when the true bytes arrive the first
// copy of each byte wins: here the garbage that was waiting, so the stream
// is not taken for TLS, and nothing panics or grows.
func TestFloodOverlap(t *testing.T) {
	ch, _ := hello(t)
	f := newFlood(Options{MaxPending: 16 << 10}, true)
	overlaps(f, 5_000, ch)
	for _, cs := range f.a.conns {
		if d := &cs.dirs[Client]; len(d.pend) > 16<<10/pendingOverhead {
			t.Errorf("%d segments waiting, MaxPending allows %d", len(d.pend), 16<<10/pendingOverhead)
		}
	}
	checkHeld(t, f)
	st := f.finish()
	c := f.conns[0]
	if st.LimitsReached["out-of-order buffer"] == 0 || c.Sides[Client].Retransmits == 0 {
		t.Errorf("limits reached %v, %d retransmissions", st.LimitsReached, c.Sides[Client].Retransmits)
	}
}

// TestFloodOneByteSegments: a ClientHello cut into 1-byte segments is read
// whole, in order and last byte first; a long stream sent last byte first
// holds no more segments than MaxPending allows.
func TestFloodOneByteSegments(t *testing.T) {
	ch, flight := hello(t)
	for _, reverse := range []bool{false, true} {
		f := newFlood(Options{}, true)
		oneByte(f, ch, reverse)
		f.finish()
		c := f.conns[0]
		want, err := tlsparse.ParseClientHello(bytes.Clone(ch[5:]))
		if err != nil {
			t.Fatal(err)
		}
		want.Detach()
		if c.ClientHello == nil || !reflect.DeepEqual(c.ClientHello, want) || c.Gaps() {
			t.Errorf("reverse %v: ClientHello %v, gaps %v", reverse, c.ClientHello != nil, c.Gaps())
		}
	}
	big := bytes.Repeat(flight, 64<<10/len(flight)+1)
	f := newFlood(Options{MaxPending: 16 << 10}, true)
	oneByte(f, big, true)
	checkHeld(t, f)
	st := f.finish()
	if st.LimitsReached["out-of-order buffer"] == 0 {
		t.Errorf("limits reached %v", st.LimitsReached)
	}
}

// BenchmarkFlood runs the floods at full size with the default Options
// and reports the time per packet (wall and CPU), the peak heap in use
// (sampled every 4096 packets, above what was in use before) and what was
// counted. Compare the time per packet with the normal path:
//
//	go test -run '^$' -bench Flood -benchtime 1x ./dissect
func BenchmarkFlood(b *testing.B) {
	ch, flight := hello(b)
	big := bytes.Repeat(flight, 256<<10/len(flight)+1)
	for _, bc := range []struct {
		name string
		run  func(*flood)
	}{
		{"normal-100k", func(f *flood) { normal(f, 100_000, ch, flight) }},
		{"syn-1M", func(f *flood) { synFlood(f, 1_000_000) }},
		{"half-open-100k", func(f *flood) { halfOpen(f, 100_000, ch, flight) }},
		{"certificate-16MB", func(f *flood) { bigCertificate(f, 16<<20, ch, flight) }},
		{"records-1-byte-10k", func(f *flood) { tinyRecords(f, 10_000, ch, flight) }},
		{"overlaps-100k", func(f *flood) { overlaps(f, 100_000, ch) }},
		{"hello-1-byte-segments", func(f *flood) { oneByte(f, ch, false) }},
		{"256KB-1-byte-segments-reversed", func(f *flood) { oneByte(f, big, true) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				base := heapInuse()
				f := newFlood(Options{}, false)
				f.sample = 4096
				start, cpu0 := time.Now(), cpuTime()
				bc.run(f)
				st := f.finish()
				el, cpu := time.Since(start), cpuTime()-cpu0
				b.ReportMetric(float64(el.Nanoseconds())/float64(f.packets), "ns/pkt")
				// CPU time (both cores: the collector's work too) is
				// steadier than wall time on a busy machine.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(f.packets), "cpu-ns/pkt")
				b.ReportMetric(float64(f.packets), "pkts")
				b.ReportMetric(float64(f.peak-min(base, f.peak))/(1<<20), "peak-MiB")
				b.ReportMetric(float64(f.maxOpen), "max-conns")
				b.ReportMetric(float64(f.maxHeld)/(1<<20), "max-buffered-MiB")
				b.ReportMetric(float64(st.Evicted), "evicted")
				var limits int64
				for _, n := range st.LimitsReached {
					limits += n
				}
				b.ReportMetric(float64(limits), "limits")
			}
		})
	}
}
