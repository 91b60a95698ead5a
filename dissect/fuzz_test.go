package dissect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/crypto/cryptobyte"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// FuzzAnalyze runs the whole pipeline (link/IP/TCP decoding, reassembly,
// TLS framing and parsing, handover) on an arbitrary frame sequence. The
// input is a link type index and a list of frames, each encoded as
//
//	length uint16 | time step int16 (milliseconds, may go back) | bytes
//
// (see fuzzFrameSource). The seeds are the frames of the generated captures
// in ../testdata/pcap.
//
// The Options are small, so that the fuzzer reaches every limit. Each input
// is analysed twice: once from a source that reuses one frame buffer and
// overwrites it before each read, as a zero-copy reader does, and once with
// a fresh buffer per frame; the results must be the same (anything dissect
// retained without copying would differ).
//
// Checked after every frame: the flow table, out-of-order buffers, record
// and handshake buffers and event lists stay within their caps. Checked at
// the end: every connection is handed over exactly once and the emitted
// connections add up to the Stats (connections, TLS connections, evictions,
// retransmissions, gaps, and every frame counted once as not decoded, late,
// or in a connection); the parsed messages a Conn holds re-parse to the
// same values from their own Raw bytes; events carry frame numbers of the
// capture, none before the connection's first frame.
func FuzzAnalyze(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		link, frames, err := fuzzSeedFromPcap(p, 8<<10)
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		if link >= 0 {
			f.Add(uint8(link), frames)
			n++
		}
	}
	if n < 10 {
		f.Fatalf("only %d seed captures have a fuzzed link type", n)
	}
	f.Fuzz(func(t *testing.T, link uint8, frames []byte) {
		lt := fuzzLinkTypes[int(link)%len(fuzzLinkTypes)]
		conns, st := fuzzRun(t, lt, frames, true)
		// The same frames in buffers of their own: nothing may change.
		conns2, st2 := fuzzRun(t, lt, frames, false)
		if !reflect.DeepEqual(st, st2) {
			t.Fatalf("Stats depend on buffer reuse:\n%+v\n%+v", st, st2)
		}
		for i := range conns {
			if !reflect.DeepEqual(conns[i], conns2[i]) {
				t.Fatalf("connection %d depends on buffer reuse: dissect kept bytes of a frame without copying them", conns[i].ID)
			}
		}
	})
}

// fuzzRun analyses frames and checks the Analyzer after every frame and the
// connections it emitted at the end. With reuse, the source reuses one
// frame buffer and overwrites it before each read.
func fuzzRun(t *testing.T, lt layers.LinkType, frames []byte, reuse bool) ([]*Conn, Stats) {
	o := fuzzOptions
	o.Certs = NewCertCache(0)
	var emitted []*Conn
	a := NewAnalyzer(o, func(c *Conn) { emitted = append(emitted, c) })
	src := &fuzzFrameSource{lt: lt, in: frames, ts: fuzzEpoch, reuse: reuse}
	src.check = func() { checkAnalyzerBounds(t, a) }
	if err := a.Run(context.Background(), src); err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.Flush()
	checkAnalyzerBounds(t, a)
	if len(a.conns) != 0 {
		t.Fatalf("%d connections left after Flush", len(a.conns))
	}
	checkEmitted(t, a.Stats(), emitted, src)
	return emitted, a.Stats()
}

// fuzzLinkTypes are the link types FuzzAnalyze decodes frames as: those
// dissect supports, and one it does not.
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw,
	layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypePPP,
}

// fuzzOptions are small enough for the fuzzer to reach every limit.
// MaxPending is not below 16 KiB: once the handshake is over, dissect caps
// out-of-order bytes at 16 KiB even when MaxPending is smaller.
var fuzzOptions = Options{
	MaxConns:     8,
	MaxHandshake: 16 << 10,
	MaxPending:   16 << 10,
	MaxEvents:    32,
	Idle:         20 * time.Second,
	Linger:       time.Second,
}

var fuzzEpoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fuzzFrameSource is a PacketSource reading the FuzzAnalyze encoding. A
// truncated last frame keeps what is there.
type fuzzFrameSource struct {
	lt     layers.LinkType
	in     []byte
	ts     time.Time
	reuse  bool // return every frame in buf, overwritten first
	buf    []byte
	frames int
	bytes  int64
	check  func()
}

func (s *fuzzFrameSource) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	if s.check != nil {
		s.check()
	}
	for i := range s.buf {
		s.buf[i] = 0xee // what was returned before is gone
	}
	if !s.reuse {
		s.buf = nil
	}
	if len(s.in) < 4 {
		return nil, io.EOF
	}
	n := min(int(binary.BigEndian.Uint16(s.in)), len(s.in)-4)
	s.ts = s.ts.Add(time.Duration(int16(binary.BigEndian.Uint16(s.in[2:]))) * time.Millisecond)
	s.buf = append(s.buf[:0], s.in[4:4+n]...)
	s.in = s.in[4+n:]
	s.frames++
	s.bytes += int64(n)
	*ci = gopacket.CaptureInfo{Timestamp: s.ts, CaptureLength: n, Length: n}
	return s.buf, nil
}

func (s *fuzzFrameSource) LinkType() layers.LinkType { return s.lt }

// fuzzSeedFromPcap encodes the first frames of a pcap file, up to about max
// bytes, for FuzzAnalyze. link is -1 when the file's link type is not
// fuzzed.
func fuzzSeedFromPcap(path string, max int) (link int, frames []byte, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return -1, nil, err
	}
	defer fh.Close()
	r, err := pcapgo.NewReader(fh)
	if err != nil {
		return -1, nil, err
	}
	link = -1
	for i, lt := range fuzzLinkTypes {
		if lt == r.LinkType() {
			link = i
		}
	}
	var prev time.Time
	for len(frames) < max {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return -1, nil, err
		}
		step := time.Duration(0)
		if !prev.IsZero() {
			step = ci.Timestamp.Sub(prev)
		}
		prev = ci.Timestamp
		ms := int16(max64(-1<<15, min(1<<15-1, int64(step/time.Millisecond))))
		frames = binary.BigEndian.AppendUint16(frames, uint16(len(data)))
		frames = binary.BigEndian.AppendUint16(frames, uint16(ms))
		frames = append(frames, data...)
	}
	return link, frames, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// checkAnalyzerBounds checks the documented bounds on what the Analyzer
// holds (STYLE habit 20).
func checkAnalyzerBounds(t *testing.T, a *Analyzer) {
	t.Helper()
	if len(a.conns) > a.o.MaxConns {
		t.Fatalf("%d connections in a table of %d", len(a.conns), a.o.MaxConns)
	}
	for _, cs := range a.conns {
		c := cs.c
		if len(c.Events) > a.o.MaxEvents+fuzzEventReserve {
			t.Fatalf("connection %d holds %d events (cap %d + reserve)", c.ID, len(c.Events), a.o.MaxEvents)
		}
		for side := range cs.dirs {
			d := &cs.dirs[side]
			held := 0
			for _, p := range d.pend {
				held += len(p.data)
			}
			if held != d.pendN {
				t.Fatalf("connection %d %v: %d out-of-order bytes held, %d counted", c.ID, Side(side), held, d.pendN)
			}
			if d.pendN > a.o.MaxPending {
				t.Fatalf("connection %d %v: %d out-of-order bytes held (MaxPending %d)", c.ID, Side(side), d.pendN, a.o.MaxPending)
			}
			ts := &d.tls
			if len(ts.body) > tlsparse.MaxRecordLen || len(ts.first) > 8 || len(ts.v2) > sslv2Max+1<<16 {
				t.Fatalf("connection %d %v: record body %d, first %d, SSLv2 %d bytes", c.ID, Side(side), len(ts.body), len(ts.first), len(ts.v2))
			}
			if ts.hs != nil && ts.hs.Buffered() >= a.o.MaxHandshake {
				t.Fatalf("connection %d %v: %d handshake bytes buffered (MaxHandshake %d)", c.ID, Side(side), ts.hs.Buffered(), a.o.MaxHandshake)
			}
		}
	}
}

// fuzzEventReserve is the room beyond MaxEvents kept for alerts, FIN, RST,
// gaps and not-TLS events.
const fuzzEventReserve = 32

// checkEmitted checks the connections handed over against the Stats.
func checkEmitted(t *testing.T, st Stats, conns []*Conn, src *fuzzFrameSource) {
	t.Helper()
	if st.Packets != int64(src.frames) || st.Bytes != src.bytes {
		t.Fatalf("Stats count %d packets, %d bytes; %d and %d were read", st.Packets, st.Bytes, src.frames, src.bytes)
	}
	if int64(len(conns)) != st.TCPConns {
		t.Fatalf("%d connections emitted, Stats.TCPConns = %d", len(conns), st.TCPConns)
	}
	seen := make(map[int]bool, len(conns))
	var tlsConns, evicted, retrans, gaps int64
	accounted := st.LateSegments
	for _, n := range st.NotDecoded {
		accounted += n
	}
	for _, c := range conns {
		if c.ID < 1 || c.ID > len(conns) || seen[c.ID] {
			t.Fatalf("connection ID %d emitted twice or out of 1..%d", c.ID, len(conns))
		}
		seen[c.ID] = true
		switch c.Ended {
		case "closed", "idle", "end of input":
		case "evicted":
			evicted++
		default:
			t.Fatalf("connection %d ended %q", c.ID, c.Ended)
		}
		if c.TLS {
			tlsConns++
		}
		if c.Sides[Client].Addr != c.Client || c.Sides[Server].Addr != c.Server {
			t.Fatalf("connection %d: sides %v/%v, endpoints %v/%v", c.ID, c.Sides[Client].Addr, c.Sides[Server].Addr, c.Client, c.Server)
		}
		if c.FirstFrame < 1 || c.FirstFrame > c.LastFrame || c.LastFrame > src.frames {
			t.Fatalf("connection %d: frames %d..%d of %d", c.ID, c.FirstFrame, c.LastFrame, src.frames)
		}
		if len(c.Events) > fuzzOptions.MaxEvents+fuzzEventReserve || c.Dropped < 0 {
			t.Fatalf("connection %d: %d events, %d dropped", c.ID, len(c.Events), c.Dropped)
		}
		if len(c.Anomalies) > maxAnomalies+1 { // + the eviction notice
			t.Fatalf("connection %d: %d anomalies", c.ID, len(c.Anomalies))
		}
		for _, e := range c.Events {
			if e.From != Client && e.From != Server {
				t.Fatalf("connection %d: event %v from side %d", c.ID, e.Kind, e.From)
			}
			// Not e.Frame <= c.LastFrame: events of the handover (bytes
			// declared lost, segments that were waiting behind them)
			// carry the frame being read then, which may belong to
			// another connection (TestHandoverEventFrame).
			if e.Frame < c.FirstFrame || e.Frame > src.frames {
				t.Fatalf("connection %d (frames %d..%d): %v event at frame %d", c.ID, c.FirstFrame, c.LastFrame, e.Kind, e.Frame)
			}
		}
		for _, si := range c.Sides {
			accounted += int64(si.Packets)
			retrans += int64(si.Retransmits)
			gaps += int64(si.Gaps)
		}
		checkRetained(t, c)
	}
	if tlsConns != st.TLSConns || evicted != st.Evicted || retrans != st.Retransmits || gaps != st.Gaps {
		t.Fatalf("emitted: %d TLS, %d evicted, %d retransmissions, %d gaps; Stats: %d, %d, %d, %d",
			tlsConns, evicted, retrans, gaps, st.TLSConns, st.Evicted, st.Retransmits, st.Gaps)
	}
	if accounted != st.Packets {
		t.Fatalf("%d frames accounted for (not decoded, late, in a connection), %d read", accounted, st.Packets)
	}
}

// checkRetained checks what a Conn keeps of the bytes it saw: hellos
// detached from their messages (no Raw, no Extensions: FuzzAnalyze's
// second run, in buffers of their own, checks the bytes they copied), and
// certificates whose bytes still hash to their SHA-256.
func checkRetained(t *testing.T, c *Conn) {
	t.Helper()
	for _, ch := range []*tlsparse.ClientHello{c.ClientHello, c.RetryClientHello} {
		if ch != nil && (ch.Raw != nil || ch.Extensions != nil) {
			t.Fatalf("connection %d: a ClientHello keeps its message or its extensions", c.ID)
		}
	}
	for _, sh := range []*tlsparse.ServerHello{c.ServerHello, c.HRR} {
		if sh != nil && (sh.Raw != nil || sh.Extensions != nil) {
			t.Fatalf("connection %d: a ServerHello keeps its message or its extensions", c.ID)
		}
	}
	for _, ci := range append(append([]*CertInfo(nil), c.Chain...), c.ClientChain...) {
		if ci == nil || (ci.Cert == nil) == (ci.Err == nil) {
			t.Fatalf("connection %d: certificate %+v", c.ID, ci)
		}
		if sum := sha256.Sum256(ci.Raw); hex.EncodeToString(sum[:]) != ci.SHA256 ||
			(ci.Cert != nil && !bytes.Equal(ci.Cert.Raw, ci.Raw)) {
			t.Fatalf("connection %d: certificate bytes changed", c.ID)
		}
	}
}

// Regression tests for what FuzzAnalyze found in dissect. They are skipped
// until dissect is fixed; remove the Skip then.

// fuzzTCPFrame returns an Ethernet/IPv4/TCP frame from src to dst carrying
// payload, with the ACK flag set.
func fuzzTCPFrame(t *testing.T, src, dst netip.AddrPort, seq uint32, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, Ack: 1, ACK: true, Window: 502}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// TestHandoverEventFrame: a connection handed over because it went idle
// declares the bytes behind a hole lost; the gap event (and events of the
// segments that waited behind the hole) carry the number of the frame being
// read at the time, which belongs to another connection or to none.
func TestHandoverEventFrame(t *testing.T) {
	client, server := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:443")
	rec := []byte{0x16, 0x03, 0x01, 0x00, 0x40} // a handshake record header, body to come
	var conns []*Conn
	a := NewAnalyzer(Options{}, func(c *Conn) { conns = append(conns, c) })
	a.Packet(fuzzTCPFrame(t, client, server, 1000, rec), gopacket.CaptureInfo{Timestamp: fuzzEpoch}, layers.LinkTypeEthernet)
	a.Packet(fuzzTCPFrame(t, client, server, 1015, make([]byte, 10)), gopacket.CaptureInfo{Timestamp: fuzzEpoch.Add(time.Millisecond)}, layers.LinkTypeEthernet)
	arp := append(make([]byte, 12), 0x08, 0x06, 0, 1) // not IP, an hour later
	a.Packet(arp, gopacket.CaptureInfo{Timestamp: fuzzEpoch.Add(time.Hour)}, layers.LinkTypeEthernet)
	a.Flush()
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	c := conns[0]
	for _, e := range c.Events {
		if e.Frame < c.FirstFrame || e.Frame > c.LastFrame {
			t.Errorf("connection of frames %d..%d: %v event at frame %d", c.FirstFrame, c.LastFrame, e.Kind, e.Frame)
		}
	}
}

// TestClientHelloFromGuessedServer: without a SYN, the side that sends from
// a well-known port is taken for the server. When it sends a ClientHello,
// the sides are swapped from inside the handshake loop of record, which
// then goes on with the other direction's state: its HandshakeBuffer is nil
// and Next panics.
func TestClientHelloFromGuessedServer(t *testing.T) {
	client, server := netip.MustParseAddrPort("10.0.0.1:443"), netip.MustParseAddrPort("10.0.0.2:50000")
	var hello cryptobyte.Builder
	hello.AddUint8(0x16)
	hello.AddUint16(0x0301)
	hello.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(1) // ClientHello
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(make([]byte, 32))
			b.AddUint8(0)                                                                  // session id
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x1301) }) // cipher suites
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })        // compression
		})
	})
	var conns []*Conn
	a := NewAnalyzer(Options{}, func(c *Conn) { conns = append(conns, c) })
	a.Packet(fuzzTCPFrame(t, client, server, 1000, hello.BytesOrPanic()), gopacket.CaptureInfo{Timestamp: fuzzEpoch}, layers.LinkTypeEthernet)
	a.Flush()
	if len(conns) != 1 || conns[0].ClientHello == nil || conns[0].Client != client {
		t.Fatalf("want one connection with the ClientHello of client %v", client)
	}
}

// TestEvictionDeterministic: when the flow table is full, evict hands over
// the least recently active connections; among connections last seen at
// the same capture time, which ones go depends on map iteration order, so
// the same capture gives different results from run to run.
func TestEvictionDeterministic(t *testing.T) {
	server := netip.MustParseAddrPort("10.0.0.2:443")
	var first []int
	for run := range 10 {
		var evicted []int
		a := NewAnalyzer(Options{MaxConns: 8}, func(c *Conn) {
			if c.Ended == EndEvicted {
				evicted = append(evicted, c.ID)
			}
		})
		for i := range 9 {
			client := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i))
			a.Packet(fuzzTCPFrame(t, client, server, 1000, []byte{0x16}), gopacket.CaptureInfo{Timestamp: fuzzEpoch}, layers.LinkTypeEthernet)
		}
		a.Flush()
		if run == 0 {
			first = evicted
		} else if !slices.Equal(evicted, first) {
			t.Fatalf("run %d evicted connections %v, run 0 evicted %v", run, evicted, first)
		}
	}
}
