package dissect

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// These tests feed the Analyzer hand-cut TCP segments carrying the bytes of
// a real crypto/tls handshake, so reassembly is judged on real TLS, with no
// pcap file in between.

var (
	clientAddr = netip.MustParseAddrPort("10.0.0.1:40000")
	serverAddr = netip.MustParseAddrPort("10.0.0.2:443")
	t0         = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

// rejection is a recorded TLS 1.2 handshake in which the client rejects the
// server's full chain with a plaintext alert (Java style).
var rejection = sync.OnceValues(func() (*pcaptest.Conversation, error) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
	if err != nil {
		return nil, err
	}
	return pcaptest.Record(pcaptest.TLSOptions{
		PKI: pki, MaxVersion: tls.VersionTLS12, ClientRoots: x509.NewCertPool(),
		Chain: pcaptest.ChainFull, OnReject: pcaptest.ReplaceAlert, RejectAlert: pcaptest.AlertCertificateUnknown,
	})
})

func conversation(t *testing.T) *pcaptest.Conversation {
	t.Helper()
	c, err := rejection()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seg is one TCP segment to send.
type seg struct {
	fromServer bool
	seq, ack   uint32
	flags      string // any of "S", "A", "F", "R", "P"
	payload    []byte
	clientPort uint16 // 0: clientAddr's
}

const clientISN, serverISN = 1000, 5000

// frame serialises s as Ethernet/IPv4/TCP.
func frame(t testing.TB, s seg) []byte {
	t.Helper()
	src, dst := clientAddr, serverAddr
	if s.clientPort != 0 {
		src = netip.AddrPortFrom(src.Addr(), s.clientPort)
	}
	if s.fromServer {
		src, dst = dst, src
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: s.seq, Ack: s.ack, Window: 65535,
		SYN: strings.Contains(s.flags, "S"), ACK: strings.Contains(s.flags, "A"), FIN: strings.Contains(s.flags, "F"),
		RST: strings.Contains(s.flags, "R"), PSH: strings.Contains(s.flags, "P")}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(s.payload)); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// analyze runs segs through a fresh Analyzer, 100 µs apart, and returns the
// connections it handed over and its counters.
func analyze(t testing.TB, o Options, segs []seg) ([]*Conn, Stats) {
	t.Helper()
	var conns []*Conn
	a := NewAnalyzer(o, func(c *Conn) { conns = append(conns, c) })
	for i, s := range segs {
		data := frame(t, s)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 100 * time.Microsecond), CaptureLength: len(data), Length: len(data)}
		a.Packet(data, ci, layers.LinkTypeEthernet)
	}
	a.Flush()
	return conns, a.Stats()
}

// stream describes how to cut a conversation into segments.
type stream struct {
	cut      func(dir int, b []byte) [][]byte // split one write into segment payloads
	noSYN    bool                             // start without the 3-way handshake
	closeRST bool                             // the client ends with FIN then RST
}

// segments turns a conversation into segments: the 3-way handshake, each
// write cut by st.cut and acknowledged, then the client's FIN (and RST).
func (st stream) segments(c *pcaptest.Conversation) []seg {
	var out []seg
	next := [2]uint32{clientISN + 1, serverISN + 1}
	if !st.noSYN {
		out = append(out,
			seg{seq: clientISN, flags: "S"},
			seg{fromServer: true, seq: serverISN, ack: clientISN + 1, flags: "SA"},
			seg{seq: clientISN + 1, ack: serverISN + 1, flags: "A"})
	}
	for _, e := range c.Events {
		if e.Kind != pcaptest.Data {
			continue
		}
		d := int(e.Dir)
		for _, p := range st.cut(d, e.Data) {
			out = append(out, seg{fromServer: d == 1, seq: next[d], ack: next[1-d], flags: "PA", payload: p})
			next[d] += uint32(len(p))
		}
		out = append(out, seg{fromServer: d == 0, seq: next[1-d], ack: next[d], flags: "A"})
	}
	out = append(out, seg{seq: next[0], ack: next[1], flags: "FA"})
	if st.closeRST {
		out = append(out, seg{seq: next[0] + 1, ack: next[1], flags: "RA"})
	}
	return out
}

func whole(_ int, b []byte) [][]byte { return [][]byte{b} }

// sizes cuts b into pieces of the given sizes, cycling.
func sizes(n ...int) func(int, []byte) [][]byte {
	return func(_ int, b []byte) [][]byte {
		var out [][]byte
		for i := 0; len(b) > 0; i++ {
			k := min(n[i%len(n)], len(b))
			out = append(out, b[:k])
			b = b[k:]
		}
		return out
	}
}

// story is what a test compares between framings: each side's events in
// stream order, by kind (not frame numbers, nor how the two sides
// interleave, which reordering may change), and the chain.
func story(c *Conn) string {
	var b strings.Builder
	events := slices.Clone(c.Events)
	slices.SortStableFunc(events, func(x, y Event) int { return int(x.From) - int(y.From) })
	for _, e := range events {
		if e.Kind == EvGap {
			continue
		}
		fmt.Fprintf(&b, "%s:%s", e.From, e.Kind)
		if e.Kind == EvAlert {
			fmt.Fprintf(&b, "(%s)", e.Alert.Description)
		}
		b.WriteByte(' ')
	}
	for _, ci := range c.Chain {
		b.WriteString(ci.SHA256[:8] + " ")
	}
	return b.String()
}

func only(t *testing.T, conns []*Conn) *Conn {
	t.Helper()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

func TestReassemblyBaseline(t *testing.T) {
	conv := conversation(t)
	conns, st := analyze(t, Options{}, stream{cut: whole, closeRST: true}.segments(conv))
	c := only(t, conns)
	if !c.TLS || c.ClientHello == nil || c.ServerHello == nil || len(c.Chain) != 3 {
		t.Fatalf("TLS %v, hello %v/%v, %d certs", c.TLS, c.ClientHello != nil, c.ServerHello != nil, len(c.Chain))
	}
	if c.Client != clientAddr || c.Server != serverAddr || c.Flipped || c.Midstream() || c.Gaps() {
		t.Errorf("endpoints %v -> %v flipped %v midstream %v gaps %v", c.Client, c.Server, c.Flipped, c.Midstream(), c.Gaps())
	}
	for _, k := range []EventKind{EvSYN, EvClientHello, EvAlert, EvFIN, EvRST} {
		if !c.Has(Client, k) {
			t.Errorf("no client %v", k)
		}
	}
	for _, k := range []EventKind{EvSYN, EvServerHello, EvCertificate, EvServerKeyExchange, EvServerHelloDone} {
		if !c.Has(Server, k) {
			t.Errorf("no server %v", k)
		}
	}
	// Frame numbers: SYN 1, SYN-ACK 2, ACK 3, ClientHello 4; the client's
	// FIN and RST are the last two frames.
	n := len(stream{cut: whole, closeRST: true}.segments(conv))
	if e := c.First(Client, EvClientHello); e.Frame != 4 {
		t.Errorf("ClientHello in frame %d, want 4", e.Frame)
	}
	if fin, rst := c.Sides[Client].FIN, c.Sides[Client].RST; fin == nil || rst == nil || fin.Frame != n-1 || rst.Frame != n {
		t.Errorf("client FIN %+v RST %+v, want frames %d and %d", fin, rst, n-1, n)
	}
	if a := c.First(Client, EvAlert); a.Alert.Description.String() != "certificate_unknown" {
		t.Errorf("alert %v", a.Alert.Description)
	}
	cert, alert := c.First(Server, EvCertificate), c.First(Client, EvAlert)
	if !(cert.Frame < alert.Frame && alert.Frame < c.Sides[Client].FIN.Frame) {
		t.Errorf("order: Certificate %d, alert %d, FIN %d", cert.Frame, alert.Frame, c.Sides[Client].FIN.Frame)
	}
	if st.TCPConns != 1 || st.TLSConns != 1 || st.Gaps != 0 || st.Retransmits != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestReassemblySegmentation: however the bytes are cut into segments,
// the same story comes out.
func TestReassemblySegmentation(t *testing.T) {
	want := story(only(t, mustAnalyze(t, stream{cut: whole})))
	cases := map[string]func(int, []byte) [][]byte{
		"1-byte":     sizes(1),
		"3-7-11":     sizes(3, 7, 11),
		"mss-536":    sizes(536),
		"record-hdr": sizes(5, 1, 4, 1000), // splits inside record and handshake headers
		"client-1-byte-server-whole": func(d int, b []byte) [][]byte {
			if d == 0 {
				return sizes(1)(d, b)
			}
			return whole(d, b)
		},
	}
	for name, cut := range cases {
		t.Run(name, func(t *testing.T) {
			c := only(t, mustAnalyze(t, stream{cut: cut}))
			if got := story(c); got != want {
				t.Errorf("story\n got %s\nwant %s", got, want)
			}
			if c.Gaps() {
				t.Error("gaps reported")
			}
		})
	}
}

func mustAnalyze(t *testing.T, st stream) []*Conn {
	t.Helper()
	conns, _ := analyze(t, Options{}, st.segments(conversation(t)))
	return conns
}

// TestReassemblyDisorder shuffles data segments within small windows, and
// adds duplicates and overlapping retransmissions: the story is unchanged
// and no gap is reported.
func TestReassemblyDisorder(t *testing.T) {
	want := story(only(t, mustAnalyze(t, stream{cut: whole})))
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		segs := stream{cut: sizes(1 + r.IntN(300))}.segments(conversation(t))
		var data []seg
		var head, tail []seg
		for i, s := range segs {
			switch {
			case len(s.payload) == 0 && len(data) == 0:
				head = append(head, s)
			case len(s.payload) > 0:
				data = append(data, s)
			case i == len(segs)-1:
				tail = append(tail, s)
			}
		}
		data = shuffleWindows(r, retransmit(r, data, 10))
		in := slices.Concat(head, data, tail)
		conns, st := analyze(t, Options{}, in)
		c := only(t, conns)
		if got := story(c); got != want {
			t.Errorf("seed %d: story\n got %s\nwant %s", seed, got, want)
		}
		if c.Gaps() || st.Gaps != 0 {
			t.Errorf("seed %d: gaps %d", seed, st.Gaps)
		}
		if st.Retransmits == 0 {
			t.Errorf("seed %d: retransmissions not counted", seed)
		}
	}
}

// retransmit appends n segments of data again, duplicates or (one in two)
// partial retransmissions that overlap the segment's end.
func retransmit(r *rand.Rand, data []seg, n int) []seg {
	for range n {
		s := data[r.IntN(len(data))]
		if len(s.payload) > 2 && r.IntN(2) == 0 {
			k := 1 + r.IntN(len(s.payload)-1)
			s.seq += uint32(k)
			s.payload = s.payload[k:]
		}
		data = append(data, s)
	}
	return data
}

// shuffleWindows shuffles data within windows of 4 segments of the same
// direction. A segment does not move past one of the other direction: the
// peer would acknowledge it before it appears, and bytes acknowledged but
// missing when the peer answers are a hole (ackedHoles).
func shuffleWindows(r *rand.Rand, data []seg) []seg {
	for i := range data {
		j := i + r.IntN(4)
		if j < len(data) && !slices.ContainsFunc(data[i:j+1], func(s seg) bool { return s.fromServer != data[i].fromServer }) {
			data[i], data[j] = data[j], data[i]
		}
	}
	return data
}

// TestReassemblyGap: a lost segment in the middle of the Certificate makes
// a gap; the alert after it is still seen and the chain is not mis-parsed.
func TestReassemblyGap(t *testing.T) {
	segs := stream{cut: sizes(400)}.segments(conversation(t))
	// Drop the server's second data segment.
	n := 0
	for i, s := range segs {
		if s.fromServer && len(s.payload) > 0 {
			n++
			if n == 2 {
				segs = slices.Delete(segs, i, i+1)
				break
			}
		}
	}
	conns, st := analyze(t, Options{}, segs)
	c := only(t, conns)
	if !c.Gaps() || st.Gaps == 0 || c.Sides[Server].GapBytes != 400 {
		t.Errorf("gaps %v (%d bytes), stats %d", c.Gaps(), c.Sides[Server].GapBytes, st.Gaps)
	}
	if !c.Has(Server, EvGap) {
		t.Error("no gap event")
	}
	if len(c.Chain) != 0 {
		t.Errorf("chain of %d certificates parsed across a hole", len(c.Chain))
	}
	if a := c.First(Client, EvAlert); a == nil || a.Alert.Description.String() != "certificate_unknown" {
		t.Errorf("client alert after the gap: %+v", a)
	}
}

// TestReassemblyMidstream: a capture that starts after the handshake's
// beginning is flagged, and what follows is still read.
func TestReassemblyMidstream(t *testing.T) {
	segs := stream{cut: whole, noSYN: true}.segments(conversation(t))
	// Drop the ClientHello and its ACK: the capture starts at the server's flight.
	segs = segs[2:]
	conns, _ := analyze(t, Options{}, segs)
	c := only(t, conns)
	if !c.Midstream() {
		t.Error("not flagged midstream")
	}
	if c.ClientHello != nil {
		t.Error("ClientHello seen")
	}
	if c.Client != clientAddr {
		t.Errorf("client %v, want %v (direction from the server's flight)", c.Client, clientAddr)
	}
	if len(c.Chain) != 3 || !c.Has(Client, EvAlert) {
		t.Errorf("chain %d certs, alert %v", len(c.Chain), c.Has(Client, EvAlert))
	}
}

// TestNotTLS: a server that answers in plaintext marks the connection and
// costs nothing afterwards.
func TestNotTLS(t *testing.T) {
	conv := conversation(t)
	hello := conv.Events[0].Data
	resp := []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	segs := []seg{
		{seq: clientISN, flags: "S"},
		{fromServer: true, seq: serverISN, ack: clientISN + 1, flags: "SA"},
		{seq: clientISN + 1, ack: serverISN + 1, flags: "A"},
		{seq: clientISN + 1, ack: serverISN + 1, flags: "PA", payload: hello},
		{fromServer: true, seq: serverISN + 1, ack: clientISN + 1 + uint32(len(hello)), flags: "PA", payload: resp},
		{fromServer: true, seq: serverISN + 1 + uint32(len(resp)), ack: clientISN + 1 + uint32(len(hello)), flags: "FA"},
	}
	c := only(t, mustAnalyzeSegs(t, segs))
	if !c.Sides[Server].NotTLS || !c.Has(Server, EvNotTLS) || c.Sides[Client].NotTLS {
		t.Errorf("server NotTLS %v event %v, client %v", c.Sides[Server].NotTLS, c.Has(Server, EvNotTLS), c.Sides[Client].NotTLS)
	}
	if c.Sides[Server].FIN == nil {
		t.Error("server FIN not tracked")
	}
}

func mustAnalyzeSegs(t *testing.T, segs []seg) []*Conn {
	t.Helper()
	conns, _ := analyze(t, Options{}, segs)
	return conns
}

// TestHandshakeCap: a Certificate message claiming 16 MB does not make the
// Analyzer buffer it: the limit is reported.
func TestHandshakeCap(t *testing.T) {
	conv := conversation(t)
	hello := conv.Events[0].Data
	// A handshake record carrying the start of a 16 MB Certificate, followed
	// by 64 KB of records continuing it.
	var srv []byte
	msg := []byte{11, 0xff, 0xff, 0xff}
	srv = append(srv, 22, 3, 3, 0, byte(len(msg)))
	srv = append(srv, msg...)
	chunk := bytes.Repeat([]byte{0xab}, 16000)
	for range 4 {
		srv = append(srv, 22, 3, 3, byte(len(chunk)>>8), byte(len(chunk)))
		srv = append(srv, chunk...)
	}
	segs := []seg{
		{seq: clientISN, flags: "S"},
		{fromServer: true, seq: serverISN, ack: clientISN + 1, flags: "SA"},
		{seq: clientISN + 1, ack: serverISN + 1, flags: "PA", payload: hello},
	}
	next := uint32(serverISN + 1)
	for _, p := range sizes(1400)(1, srv) {
		segs = append(segs, seg{fromServer: true, seq: next, ack: clientISN + 1 + uint32(len(hello)), flags: "PA", payload: p})
		next += uint32(len(p))
	}
	conns, st := analyze(t, Options{MaxHandshake: 32 << 10}, segs)
	c := only(t, conns)
	found := slices.ContainsFunc(c.Anomalies, func(a Anomaly) bool { return a.Code == "limit_reached" })
	if !found || len(st.LimitsReached) == 0 {
		t.Errorf("no limit reported: anomalies %+v, stats %+v", c.Anomalies, st.LimitsReached)
	}
	if len(c.Chain) != 0 {
		t.Error("a chain came out of a truncated Certificate")
	}
}

// TestOutOfOrderCap: a stream that jumps far ahead cannot make the Analyzer
// buffer more than MaxPending bytes.
func TestOutOfOrderCap(t *testing.T) {
	segs := []seg{
		{seq: clientISN, flags: "S"},
		{fromServer: true, seq: serverISN, ack: clientISN + 1, flags: "SA"},
	}
	// 100 segments of 1000 bytes, all beyond a missing first byte.
	for i := range 100 {
		segs = append(segs, seg{seq: clientISN + 2 + uint32(i*1000), ack: serverISN + 1, flags: "PA", payload: bytes.Repeat([]byte{22}, 1000)})
	}
	conns, st := analyze(t, Options{MaxPending: 8 << 10}, segs)
	c := only(t, conns)
	if len(st.LimitsReached) == 0 && !c.Gaps() {
		t.Errorf("neither a limit nor a gap reported: %+v", st)
	}
}

// TestDirectionFromSynAck: a capture that starts at the SYN-ACK still gets
// client and server right.
func TestDirectionFromSynAck(t *testing.T) {
	segs := stream{cut: whole}.segments(conversation(t))[1:]
	c := only(t, mustAnalyzeSegs(t, segs))
	if c.Client != clientAddr || c.Server != serverAddr {
		t.Errorf("client %v server %v", c.Client, c.Server)
	}
	if c.ClientHello == nil || len(c.Chain) != 3 {
		t.Errorf("hello %v chain %d", c.ClientHello != nil, len(c.Chain))
	}
}

// TestManyConnections: connections are handed over in the order they
// started, each with its own frames.
func TestManyConnections(t *testing.T) {
	var all []gopacket.CaptureInfo
	var frames [][]byte
	base := stream{cut: whole}.segments(conversation(t))
	for k := range 3 {
		for _, s := range base {
			s.clientPort = uint16(40000 + k) // a new flow
			data := frame(t, s)
			frames = append(frames, data)
			all = append(all, gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(len(frames)) * time.Millisecond), CaptureLength: len(data), Length: len(data)})
		}
	}
	var conns []*Conn
	a := NewAnalyzer(Options{}, func(c *Conn) { conns = append(conns, c) })
	for i := range frames {
		a.Packet(frames[i], all[i], layers.LinkTypeEthernet)
	}
	a.Flush()
	if len(conns) != 3 {
		t.Fatalf("%d connections", len(conns))
	}
	for i, c := range conns {
		if c.ID != i+1 || c.Client.Port() != uint16(40000+i) || c.FirstFrame != i*len(base)+1 {
			t.Errorf("conn %d: id %d port %d first frame %d", i, c.ID, c.Client.Port(), c.FirstFrame)
		}
	}
	if st := a.Stats(); st.TCPConns != 3 || st.TLSConns != 3 {
		t.Errorf("stats %+v", st)
	}
}

// writesOf returns the data writes of a conversation, in order.
func writesOf(c *pcaptest.Conversation) []pcaptest.Event {
	var out []pcaptest.Event
	for _, e := range c.Events {
		if e.Kind == pcaptest.Data {
			out = append(out, e)
		}
	}
	return out
}

// TestUpgrade: TLS that starts after a plaintext exchange on the same
// connection (SMTP STARTTLS, an HTTP CONNECT) is found and analysed, the
// plaintext is not taken for a peer that does not speak TLS, and the
// protocol is named.
func TestUpgrade(t *testing.T) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	cases := []struct {
		name  string
		plain []pcaptest.Event
		want  Upgrade
	}{
		{"smtp", []pcaptest.Event{
			{Dir: s2c, Data: []byte("220 mail.example.test ESMTP\r\n")},
			{Dir: c2s, Data: []byte("EHLO client.example.test\r\n")},
			{Dir: s2c, Data: []byte("250-mail.example.test\r\n250 STARTTLS\r\n")},
			{Dir: c2s, Data: []byte("STARTTLS\r\n")},
			{Dir: s2c, Data: []byte("220 2.0.0 Ready to start TLS\r\n")},
		}, "smtp"},
		{"http-connect", []pcaptest.Event{
			{Dir: c2s, Data: []byte("CONNECT backend.example.test:443 HTTP/1.1\r\nHost: backend.example.test:443\r\n\r\n")},
			{Dir: s2c, Data: []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
		}, "http-connect"},
		{"postgresql", []pcaptest.Event{
			{Dir: c2s, Data: []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}},
			{Dir: s2c, Data: []byte("S")},
		}, "postgresql"},
		{"imap", []pcaptest.Event{
			{Dir: s2c, Data: []byte("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")},
			{Dir: c2s, Data: []byte("a001 STARTTLS\r\n")},
			{Dir: s2c, Data: []byte("a001 OK Begin TLS negotiation now\r\n")},
		}, "imap"},
		{"pop3", []pcaptest.Event{
			{Dir: s2c, Data: []byte("+OK POP3 ready\r\n")},
			{Dir: c2s, Data: []byte("STLS\r\n")},
			{Dir: s2c, Data: []byte("+OK Begin TLS\r\n")},
		}, "pop3"},
		{"ftp", []pcaptest.Event{
			{Dir: s2c, Data: []byte("220 FTP ready\r\n")},
			{Dir: c2s, Data: []byte("AUTH TLS\r\n")},
			{Dir: s2c, Data: []byte("234 AUTH TLS OK\r\n")},
		}, "ftp"},
		{"ldap", []pcaptest.Event{
			{Dir: c2s, Data: append([]byte{0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16}, "1.3.6.1.4.1.1466.20037"...)},
			{Dir: s2c, Data: []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}},
		}, "ldap"},
		{"xmpp", []pcaptest.Event{
			{Dir: c2s, Data: []byte("<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client'>")},
			{Dir: s2c, Data: []byte("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>")},
			{Dir: c2s, Data: []byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")},
			{Dir: s2c, Data: []byte("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")},
		}, "xmpp"},
		{"mysql", []pcaptest.Event{
			{Dir: s2c, Data: append([]byte{0x4a, 0, 0, 0, 10}, "8.0.36\x00abcdefgh"...)},
			{Dir: c2s, Data: []byte{0x20, 0, 0, 1, 0x85, 0xae, 0xff, 0x19, 0, 0, 0, 1, 0xff}},
		}, "mysql"},
	}
	want := story(only(t, mustAnalyze(t, stream{cut: whole})))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conv := &pcaptest.Conversation{Events: slices.Concat(tc.plain, writesOf(conversation(t)))}
			for i := range conv.Events {
				conv.Events[i].Kind = pcaptest.Data
			}
			conns, _ := analyze(t, Options{}, stream{cut: whole}.segments(conv))
			c := only(t, conns)
			if c.Upgrade != tc.want {
				t.Errorf("Upgrade = %q, want %q", c.Upgrade, tc.want)
			}
			if c.Sides[Client].NotTLS || c.Sides[Server].NotTLS || c.Has(Server, EvNotTLS) || c.Has(Client, EvNotTLS) {
				t.Error("plaintext before the handshake taken for not TLS")
			}
			if !c.Has(Client, EvPlaintext) {
				t.Error("no plaintext event")
			}
			var plain int64
			for _, e := range tc.plain {
				if e.Dir == c2s {
					plain += int64(len(e.Data))
				}
			}
			if c.Sides[Client].PlainBytes != plain {
				t.Errorf("client PlainBytes %d, want %d", c.Sides[Client].PlainBytes, plain)
			}
			got := story(c)
			got = strings.ReplaceAll(strings.ReplaceAll(got, "client:Plaintext ", ""), "server:Plaintext ", "")
			if got != want {
				t.Errorf("story\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestTLS13EmptyClientCertificate: in TLS 1.3 a client without a
// certificate answers a CertificateRequest with a short encrypted record
// (an empty Certificate) and then its Finished: no alert is invented, and
// the server's 19-byte alert is not counted as application data.
func TestTLS13EmptyClientCertificate(t *testing.T) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Scenario{TLS: pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, ClientRoots: pki.RootPool(),
		ClientAuth: tls.RequireAnyClientCert, Close: pcaptest.CloseServerFirst}}.Packets()
	if err != nil {
		t.Fatal(err)
	}
	var conns []*Conn
	a := NewAnalyzer(Options{}, func(c *Conn) { conns = append(conns, c) })
	for _, p := range pkts {
		a.Packet(p.Data, p.CI, layers.LinkTypeEthernet)
	}
	a.Flush()
	c := only(t, conns)
	if c.Has(Client, EvEncryptedAlert) {
		t.Errorf("client alert invented: %s", story(c))
	}
	if !c.Has(Server, EvEncryptedAlert) {
		t.Errorf("server alert not seen: %s", story(c))
	}
	if n := c.Sides[Server].AppData; n != 0 {
		t.Errorf("server AppData = %d, want 0 (only an alert was sent)", n)
	}
}

// TestUpgradeRefused: a client that asks to start TLS and gets a refusal
// is kept (not dropped as a connection without TLS) and marked.
func TestUpgradeRefused(t *testing.T) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	conv := &pcaptest.Conversation{Events: []pcaptest.Event{
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("220 mail.example.test ESMTP\r\n")},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("EHLO client.example.test\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("250 mail.example.test\r\n")},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("STARTTLS\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("454 4.7.0 TLS not available due to local problem\r\n")},
	}}
	conns, _ := analyze(t, Options{}, stream{cut: whole}.segments(conv))
	c := only(t, conns)
	if c.TLS || !c.UpgradeRefused || c.Upgrade != "smtp" {
		t.Errorf("TLS %v, UpgradeRefused %v, Upgrade %q", c.TLS, c.UpgradeRefused, c.Upgrade)
	}
	// A plaintext connection that never asks for TLS is not marked.
	plain := &pcaptest.Conversation{Events: []pcaptest.Event{
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")},
	}}
	conns, _ = analyze(t, Options{}, stream{cut: whole}.segments(plain))
	if c := only(t, conns); c.UpgradeRefused || c.Upgrade != "" {
		t.Errorf("plain HTTP: UpgradeRefused %v, Upgrade %q", c.UpgradeRefused, c.Upgrade)
	}
}

// TestResync: after a hole, framing starts again only at a segment that
// begins with record headers of the direction's version; random bytes (the
// middle of an encrypted record, of a certificate) do not pass for one.
func TestResync(t *testing.T) {
	lost := func() *tlsStream {
		t := &tlsStream{mode: modeTLS, rec: tlsparse.RecordHeader{Type: tlsparse.TypeHandshake, Version: tlsparse.VersionTLS12, Length: 100}}
		t.lost()
		return t
	}
	flight := []byte{20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 40}
	flight = append(flight, make([]byte, 40)...)
	if s := lost(); !s.resync(flight) || s.mode != modeTLS || !s.hsFailed {
		t.Errorf("a ChangeCipherSpec and an encrypted Finished at a segment's start: not resynced (mode %d)", s.mode)
	}
	for _, bad := range [][]byte{
		{20, 3, 1, 0, 1, 1},                 // another version
		{22, 3, 3, 0, 0},                    // empty record
		{23, 3, 3, 0x48, 0x01},              // too long
		{20, 3, 3, 0, 1, 1, 99, 3, 3, 0, 1}, // a header, then bytes that are not one
	} {
		if lost().resync(bad) {
			t.Errorf("resynced on % x", bad)
		}
	}
	notLost := &tlsStream{mode: modeNotTLS, rec: tlsparse.RecordHeader{Version: tlsparse.VersionTLS12}}
	if notLost.resync(flight) {
		t.Error("resynced a direction that is not TLS")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 64)
	for range 200000 {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if lost().resync(b) {
			t.Fatalf("random bytes taken for records: % x", b)
		}
	}
}

// streamRecorder stands in for the TLS framer above reassembly: it records
// what reassembly hands each direction of one connection.
type streamRecorder struct {
	t    *testing.T
	got  [2][]byte // the bytes, with zeros for the holes
	gaps [2][]recordedGap
	ends [2]int
}

type recordedGap struct {
	off    int64
	n      int
	follow bool
}

func (r *streamRecorder) wants(*connState, Side) bool { return true }

func (r *streamRecorder) bytes(_ *connState, side Side, p []byte, off int64, _ time.Time) {
	if off != int64(len(r.got[side])) {
		r.t.Errorf("%s bytes at offset %d, want %d", side, off, len(r.got[side]))
	}
	r.got[side] = append(r.got[side], p...)
}

func (r *streamRecorder) gap(_ *connState, side Side, n int, _ time.Time, follow bool) {
	r.gaps[side] = append(r.gaps[side], recordedGap{int64(len(r.got[side])), n, follow})
	r.got[side] = append(r.got[side], make([]byte, n)...)
}

func (r *streamRecorder) end(_ *connState, side Side) { r.ends[side]++ }

// reassemble runs segs through an Analyzer whose layer above reassembly is
// a streamRecorder.
func reassemble(t *testing.T, segs []seg) *streamRecorder {
	t.Helper()
	r := &streamRecorder{t: t}
	n := 0
	a := NewAnalyzer(Options{}, func(*Conn) { n++ })
	a.up = r
	for i, s := range segs {
		data := frame(t, s)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 100 * time.Microsecond), CaptureLength: len(data), Length: len(data)}
		a.Packet(data, ci, layers.LinkTypeEthernet)
	}
	a.Flush()
	if n != 1 || r.ends != [2]int{1, 1} {
		t.Fatalf("%d connections, ends %v", n, r.ends)
	}
	return r
}

// TestStreamLayer judges reassembly alone, through its interface with the
// layer above: whatever the segmentation, order, duplicates and partial
// retransmissions, each direction's bytes arrive once, in order, at their
// offsets; a lost segment is one gap of its size at its offset, with the
// bytes after it following.
func TestStreamLayer(t *testing.T) {
	conv := conversation(t)
	var want [2][]byte
	for _, e := range conv.Events {
		if e.Kind == pcaptest.Data {
			want[e.Dir] = append(want[e.Dir], e.Data...)
		}
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 11))
		segs := stream{cut: sizes(1 + rng.IntN(500))}.segments(conv)
		body := retransmit(rng, slices.Clone(segs[3:len(segs)-1]), 8)
		// Retransmissions that coalesce two segments, sent right after the
		// first of them: they overlap bytes delivered and bring new ones.
		for i := len(segs) - 3; i > 3; i-- {
			x, y := segs[i-1], segs[i]
			if len(x.payload) > 0 && len(y.payload) > 0 && x.fromServer == y.fromServer && rng.IntN(3) == 0 {
				m := x
				m.payload = slices.Concat(x.payload, y.payload)
				body = slices.Insert(body, i-3, m)
			}
		}
		r := reassemble(t, slices.Concat(segs[:3], shuffleWindows(rng, body), segs[len(segs)-1:]))
		for side := range 2 {
			if !bytes.Equal(r.got[side], want[side]) || len(r.gaps[side]) != 0 {
				t.Errorf("seed %d: %s got %d bytes (%d gaps), want %d", seed, Side(side), len(r.got[side]), len(r.gaps[side]), len(want[side]))
			}
		}
	}

	// The server's second segment of 400 bytes is lost.
	segs := stream{cut: sizes(400)}.segments(conv)
	n := 0
	for i, s := range segs {
		if s.fromServer && len(s.payload) > 0 {
			if n++; n == 2 {
				segs = slices.Delete(segs, i, i+1)
				break
			}
		}
	}
	r := reassemble(t, segs)
	if g := r.gaps[Server]; len(g) != 1 || g[0] != (recordedGap{400, 400, true}) {
		t.Errorf("server gaps %+v, want one of 400 bytes at 400, followed", g)
	}
	hole := slices.Clone(want[Server])
	clear(hole[400:800])
	if !bytes.Equal(r.got[Server], hole) || !bytes.Equal(r.got[Client], want[Client]) {
		t.Errorf("bytes around the hole: server %d, client %d", len(r.got[Server]), len(r.got[Client]))
	}
}

// TestTrimEvents: a connection that closes with its events in an array of
// eventsGrowTo, with room to spare, waits Linger in one of eventsClosed,
// its events unchanged.
func TestTrimEvents(t *testing.T) {
	segs := stream{cut: whole, closeRST: true}.segments(conversation(t))
	conns, _ := analyze(t, Options{}, segs)
	closed := only(t, conns)
	// Without the RST, the connection is still open at the end of input:
	// its events stay in the array they grew into.
	conns, _ = analyze(t, Options{}, segs[:len(segs)-1])
	open := only(t, conns)
	if cap(open.Events) != eventsGrowTo || cap(closed.Events) != eventsClosed {
		t.Fatalf("capacities %d open, %d closed; want %d and %d", cap(open.Events), cap(closed.Events), eventsGrowTo, eventsClosed)
	}
	if n := len(open.Events); len(closed.Events) != n+1 || !slices.Equal(closed.Events[:n], open.Events) || closed.Events[n].Kind != EvRST {
		t.Errorf("closed: %s\nopen: %s", story(closed), story(open))
	}
}
