package pcaptest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// DefaultStart is the time of the first packet of generated captures, fixed
// so that outputs are stable and certificates can be judged at capture time.
var DefaultStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Default endpoints (documentation addresses, RFC 5737 and RFC 3849).
var (
	DefaultClient   = netip.MustParseAddrPort("10.0.0.1:43210")
	DefaultServer   = netip.MustParseAddrPort("10.0.0.2:443")
	DefaultClient6  = netip.MustParseAddrPort("[2001:db8::1]:43210")
	DefaultServer6  = netip.MustParseAddrPort("[2001:db8::2]:443")
	clientMAC       = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	serverMAC       = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	defaultClientIS = uint32(0x5ee0_0001)
	defaultServerIS = uint32(0xc0de_0001)
)

// Link is the link-layer framing of packets.
type Link int

// Link framings.
const (
	Ethernet     Link = iota // Ethernet II
	EthernetVLAN             // Ethernet with one 802.1Q tag
	EthernetQinQ             // Ethernet with an 802.1ad S-tag and an 802.1Q C-tag
	LinuxSLL                 // Linux cooked capture v1 (tcpdump -i any, old)
	LinuxSLL2                // Linux cooked capture v2 (tcpdump -i any)
	RawIP                    // raw IP, LINKTYPE_RAW (101)
	Null                     // BSD loopback, 4-byte host-order address family
)

// LinkType returns the pcap link type of l.
func (l Link) LinkType() layers.LinkType {
	switch l {
	case LinuxSLL:
		return layers.LinkTypeLinuxSLL
	case LinuxSLL2:
		return layers.LinkTypeLinuxSLL2
	case RawIP:
		return layers.LinkTypeRaw
	case Null:
		return layers.LinkTypeNull
	}
	return layers.LinkTypeEthernet
}

// Packet is one captured frame.
type Packet struct {
	Data []byte
	CI   gopacket.CaptureInfo
}

// FrameOptions says how a Conversation becomes packets. The zero value gives
// Ethernet, IPv4, 10.0.0.1:43210 -> 10.0.0.2:443, MSS 1448, starting at
// DefaultStart, with a 3-way handshake and an ACK for every data segment.
type FrameOptions struct {
	Link Link
	// VLAN is the 802.1Q VLAN id (default 100); OuterVLAN the QinQ S-tag (default 200).
	VLAN, OuterVLAN uint16
	IPv6            bool
	// Client and Server default to DefaultClient/DefaultServer (or the IPv6 ones).
	Client, Server netip.AddrPort
	// MSS is the largest TCP payload (default 1448); larger writes are split.
	MSS int
	// Start is the time of the first packet (default DefaultStart).
	Start time.Time
	// ClientISN and ServerISN are the initial sequence numbers.
	ClientISN, ServerISN uint32
	// AckEvery makes the receiver acknowledge every n-th data segment (and the
	// last of a write); default 1.
	AckEvery int
	// Reorder swaps the second and third data segments of the server's first
	// flight (or the first two if there are only two), unless the client
	// sent data between them.
	Reorder bool
	// Retransmit repeats the server's first data segment after the next
	// packet and adds an overlapping partial retransmission of the middle of
	// the second and third segments.
	Retransmit bool
	// MidStream drops the 3-way handshake and the next MidStream packets: the
	// capture starts in the middle of the connection.
	MidStream int
	// Drop removes the server's n-th data segment (1-based; 0 drops nothing)
	// as a capture loss: the client's ACKs still cover it.
	Drop int
	// RecordSize, if > 0, re-frames the plaintext handshake records of the
	// server's first flight into records of at most RecordSize bytes.
	RecordSize int
	// OneRecord joins the plaintext handshake records of the server's first
	// flight into one record, as stacks that pack a flight send it.
	OneRecord bool
	// IfIndex is the interface index written in SLL2 headers (default 1).
	IfIndex uint32
}

func (o *FrameOptions) defaults() {
	if !o.Client.IsValid() {
		o.Client = DefaultClient
		if o.IPv6 {
			o.Client = DefaultClient6
		}
	}
	if !o.Server.IsValid() {
		o.Server = DefaultServer
		if o.IPv6 {
			o.Server = DefaultServer6
		}
	}
	if o.MSS <= 0 {
		o.MSS = 1448
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.ClientISN == 0 {
		o.ClientISN = defaultClientIS
	}
	if o.ServerISN == 0 {
		o.ServerISN = defaultServerIS
	}
	if o.AckEvery <= 0 {
		o.AckEvery = 1
	}
	if o.VLAN == 0 {
		o.VLAN = 100
	}
	if o.OuterVLAN == 0 {
		o.OuterVLAN = 200
	}
	if o.IfIndex == 0 {
		o.IfIndex = 1
	}
}

// seg is a TCP segment before serialization.
type seg struct {
	dir                      Dir
	t                        time.Time
	seq, ack                 uint32
	syn, fin, rst, psh, ack_ bool
	payload                  []byte
	serverData               int // 1-based index among server data segments, 0 otherwise
}

// Frame turns a conversation into packets.
func Frame(c *Conversation, o FrameOptions) ([]Packet, error) {
	o.defaults()
	if o.Client.Addr().Is4() == o.IPv6 || o.Server.Addr().Is4() == o.IPv6 {
		return nil, fmt.Errorf("pcaptest: addresses %v, %v do not match IPv6=%v", o.Client, o.Server, o.IPv6)
	}
	events := c.Events
	if o.RecordSize > 0 || o.OneRecord {
		events = append([]Event(nil), events...)
		for i, e := range events {
			if e.Dir == ServerToClient && e.Kind == Data {
				if o.OneRecord {
					events[i].Data = joinHandshake(events[i].Data)
				}
				if o.RecordSize > 0 {
					events[i].Data = refragment(events[i].Data, o.RecordSize)
				}
				break
			}
		}
	}
	segs := tcpSegments(events, o)
	segs = mangle(segs, o)
	pkts := make([]Packet, 0, len(segs))
	var ipid [2]uint16
	ipid[0], ipid[1] = 0x4a10, 0x9c30
	for _, s := range segs {
		ipid[s.dir]++
		b, err := serialize(s, o, ipid[s.dir])
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, Packet{Data: b, CI: gopacket.CaptureInfo{Timestamp: s.t, CaptureLength: len(b), Length: len(b)}})
	}
	return pkts, nil
}

func tcpSegments(events []Event, o FrameOptions) []seg {
	var out []seg
	t := o.Start
	next := [2]uint32{o.ClientISN, o.ServerISN}
	dead := [2]bool{}
	add := func(s seg) { out = append(out, s) }
	// 3-way handshake.
	add(seg{dir: ClientToServer, t: t, seq: next[0], syn: true})
	next[0]++
	t = t.Add(28 * time.Microsecond)
	add(seg{dir: ServerToClient, t: t, seq: next[1], ack: next[0], syn: true, ack_: true})
	next[1]++
	t = t.Add(41 * time.Microsecond)
	add(seg{dir: ClientToServer, t: t, seq: next[0], ack: next[1], ack_: true})
	nserver := 0
	finSent := [2]bool{}
	// ackOf is what d acknowledges in e: all of the peer's stream, or for
	// a crossed close all but the peer's FIN.
	ackOf := func(d Dir, e Event) uint32 {
		if e.Crossed && finSent[d.peer()] {
			return next[d.peer()] - 1
		}
		return next[d.peer()]
	}
	pureAck := func(d Dir, at time.Time) {
		if !dead[d] {
			add(seg{dir: d, t: at, seq: next[d], ack: next[d.peer()], ack_: true})
		}
	}
	for i, e := range events {
		t = t.Add(e.Delay)
		d := e.Dir
		switch e.Kind {
		case Data:
			data := e.Data
			n := 0
			for len(data) > 0 {
				l := min(len(data), o.MSS)
				s := seg{dir: d, t: t, seq: next[d], ack: next[d.peer()], ack_: true, payload: data[:l], psh: l == len(data)}
				if d == ServerToClient {
					nserver++
					s.serverData = nserver
				}
				add(s)
				next[d] += uint32(l)
				data = data[l:]
				n++
				if n%o.AckEvery == 0 || len(data) == 0 {
					pureAck(d.peer(), t.Add(6*time.Microsecond))
				}
				t = t.Add(11 * time.Microsecond)
			}
		case FIN:
			add(seg{dir: d, t: t, seq: next[d], ack: ackOf(d, e), fin: true, ack_: true})
			next[d]++
			finSent[d] = true
			if e.Crossed && finSent[d.peer()] {
				pureAck(d, t.Add(20*time.Microsecond)) // the peer's FIN, received after all
			}
			// The peer acknowledges the FIN unless it answers at once.
			quick := i+1 < len(events) && events[i+1].Delay < time.Millisecond &&
				(events[i+1].Dir == d.peer() || events[i+1].Kind == RST)
			if !quick {
				pureAck(d.peer(), t.Add(35*time.Microsecond))
			}
		case RST:
			s := seg{dir: d, t: t, seq: next[d], ack: ackOf(d, e), rst: true, ack_: true}
			if e.NoAck {
				s.ack, s.ack_ = 0, false
			}
			add(s)
			dead[d], dead[d.peer()] = true, true
		}
	}
	return out
}

// mangle applies the capture anomalies of o.
func mangle(segs []seg, o FrameOptions) []seg {
	find := func(n int) int {
		for i, s := range segs {
			if s.serverData == n {
				return i
			}
		}
		return -1
	}
	if o.Reorder {
		i, j := find(2), find(3)
		if j < 0 {
			i, j = find(1), find(2)
		}
		if i >= 0 && j >= 0 && !answered(segs[i:j]) {
			ti, tj := segs[i].t, segs[j].t
			segs[i], segs[j] = segs[j], segs[i]
			segs[i].t, segs[j].t = ti, tj
		}
	}
	if o.Retransmit {
		if i := find(1); i >= 0 && i+1 < len(segs) {
			dup := segs[i]
			dup.t = segs[i+1].t.Add(3 * time.Microsecond)
			segs = insert(segs, i+2, dup)
		}
		i2, i3 := find(2), find(3)
		if i2 >= 0 && i3 >= 0 {
			a, b := segs[i2], segs[i3]
			part := seg{dir: a.dir, seq: a.seq + uint32(len(a.payload)/2), ack: b.ack, ack_: true, psh: true}
			part.payload = append(append([]byte(nil), a.payload[len(a.payload)/2:]...), b.payload[:len(b.payload)/2]...)
			at := i3 + 2
			if at > len(segs) {
				at = len(segs)
			}
			part.t = segs[at-1].t.Add(200 * time.Microsecond)
			segs = insert(segs, at, part)
		}
	}
	if o.Drop > 0 {
		if i := find(o.Drop); i >= 0 {
			segs = append(segs[:i], segs[i+1:]...)
		}
	}
	if o.MidStream > 0 {
		n := min(3+o.MidStream, len(segs))
		segs = segs[n:]
	}
	// Capture timestamps never go backwards.
	sort.SliceStable(segs, func(a, b int) bool { return segs[a].t.Before(segs[b].t) })
	return segs
}

// answered reports whether segs hold data or a FIN from the client: the
// client answered what the server sent before, so the segments before it
// cannot come after it (a capture at either end sees the server's segment
// before the client's acknowledgement of it; a hole there is a loss).
func answered(segs []seg) bool {
	for _, s := range segs {
		if s.dir == ClientToServer && (len(s.payload) > 0 || s.fin || s.rst) {
			return true
		}
	}
	return false
}

func insert(s []seg, i int, v seg) []seg {
	s = append(s, seg{})
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// refragment re-frames the leading plaintext handshake records of b into
// records of at most size bytes; the rest of b is kept.
// joinHandshake joins the leading plaintext handshake records of b into
// one record (up to 16 KiB of body); what follows is kept as it is.
func joinHandshake(b []byte) []byte {
	var body, rest []byte
	var version [2]byte
	rs := records(b)
	for i, r := range rs {
		if len(r) < 5 || r[0] != 0x16 || len(r) != 5+(int(r[3])<<8|int(r[4])) || len(body)+len(r)-5 > 16384 {
			rest = slices.Concat(rs[i:]...)
			break
		}
		version = [2]byte{r[1], r[2]}
		body = append(body, r[5:]...)
	}
	if len(body) == 0 {
		return b
	}
	out := append([]byte{0x16, version[0], version[1], byte(len(body) >> 8), byte(len(body))}, body...)
	return append(out, rest...)
}

func refragment(b []byte, size int) []byte {
	var out []byte
	for _, r := range records(b) {
		if len(r) < 5 || r[0] != 0x16 || len(r) != 5+(int(r[3])<<8|int(r[4])) {
			out = append(out, r...)
			continue
		}
		frag := r[5:]
		for len(frag) > 0 {
			l := min(len(frag), size)
			out = append(out, 0x16, r[1], r[2], byte(l>>8), byte(l))
			out = append(out, frag[:l]...)
			frag = frag[l:]
		}
	}
	return out
}

func serialize(s seg, o FrameOptions, ipid uint16) ([]byte, error) {
	src, dst := o.Client, o.Server
	if s.dir == ServerToClient {
		src, dst = dst, src
	}
	tsBase := uint32(0x1a2b0000)
	if s.dir == ServerToClient {
		tsBase = 0x3c4d0000
	}
	ms := uint32(s.t.Sub(o.Start) / time.Millisecond)
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()),
		DstPort: layers.TCPPort(dst.Port()),
		Seq:     s.seq,
		Ack:     s.ack,
		SYN:     s.syn, FIN: s.fin, RST: s.rst, PSH: s.psh, ACK: s.ack_,
		Window: 502,
	}
	ts := make([]byte, 8)
	binary.BigEndian.PutUint32(ts, tsBase+ms)
	if s.ack_ && !s.syn {
		binary.BigEndian.PutUint32(ts[4:], 0x1a2b0000^0x3c4d0000^tsBase+ms)
	}
	switch {
	case s.syn:
		tcp.Window = 64240
		mss := make([]byte, 2)
		binary.BigEndian.PutUint16(mss, uint16(o.MSS+12))
		tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: mss},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}
	case s.rst:
		tcp.Window = 0
	default:
		tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts},
		}
	}
	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	if o.IPv6 {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		ip, ipLayer = ip6, ip6
	} else {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: ipid, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		if s.rst {
			ip4.Flags = 0
			ip4.Id = 0
		}
		ip, ipLayer = ip4, ip4
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, ipLayer, tcp, gopacket.Payload(s.payload)); err != nil {
		return nil, fmt.Errorf("pcaptest: serialize: %w", err)
	}
	return append(linkHeader(s.dir, o), buf.Bytes()...), nil
}

func linkHeader(d Dir, o FrameOptions) []byte {
	etype := uint16(layers.EthernetTypeIPv4)
	if o.IPv6 {
		etype = uint16(layers.EthernetTypeIPv6)
	}
	srcMAC, dstMAC := clientMAC, serverMAC
	if d == ServerToClient {
		srcMAC, dstMAC = serverMAC, clientMAC
	}
	be := binary.BigEndian
	switch o.Link {
	case Ethernet, EthernetVLAN, EthernetQinQ:
		h := append(append([]byte(nil), dstMAC...), srcMAC...)
		if o.Link == EthernetQinQ {
			h = be.AppendUint16(h, uint16(layers.EthernetTypeQinQ))
			h = be.AppendUint16(h, o.OuterVLAN&0x0fff)
		}
		if o.Link != Ethernet {
			h = be.AppendUint16(h, uint16(layers.EthernetTypeDot1Q))
			h = be.AppendUint16(h, o.VLAN&0x0fff)
		}
		return be.AppendUint16(h, etype)
	case LinuxSLL, LinuxSLL2:
		// Captured on the client host: its packets are outgoing (4), the
		// server's are addressed to it (0).
		ptype := uint16(0)
		if d == ClientToServer {
			ptype = 4
		}
		addr := make([]byte, 8)
		copy(addr, srcMAC)
		if o.Link == LinuxSLL {
			h := be.AppendUint16(nil, ptype)
			h = be.AppendUint16(h, 1) // ARPHRD_ETHER
			h = be.AppendUint16(h, 6)
			h = append(h, addr...)
			return be.AppendUint16(h, etype)
		}
		h := be.AppendUint16(nil, etype)
		h = be.AppendUint16(h, 0)
		h = be.AppendUint32(h, o.IfIndex)
		h = be.AppendUint16(h, 1) // ARPHRD_ETHER
		h = append(h, byte(ptype), 6)
		return append(h, addr...)
	case Null:
		fam := uint32(2) // AF_INET
		if o.IPv6 {
			fam = 24 // AF_INET6 on NetBSD/OpenBSD; also decoded by gopacket
		}
		return binary.LittleEndian.AppendUint32(nil, fam)
	}
	return nil
}
