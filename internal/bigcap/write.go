package bigcap

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Options say how many sessions to write and how they overlap.
type Options struct {
	// Sessions is the number of connections; when 0 it is derived from
	// Size.
	Sessions int
	// Size is the approximate size of the file in bytes, used when
	// Sessions is 0 (default 200 MB).
	Size int64
	// Span is the capture time the sessions start in (default 10 minutes:
	// longer than tlstriage's idle timeout, so connections left open are
	// flushed while the file is read).
	Span time.Duration
	// Stretch multiplies the time between the packets of a session
	// (default 300 for Bulk, 30 for Handshake): with Span it sets how many
	// connections are open at once.
	Stretch int
	// Seed selects the sequence of templates, addresses, ports and times.
	Seed uint64
}

// Stats describe a written capture.
type Stats struct {
	Sessions int
	Packets  int64
	Bytes    int64 // file size
	// Verdicts counts the verdict each session must get. Every session
	// starts with a ClientHello.
	Verdicts map[string]int
	// MaxOpen is the largest number of sessions open at once.
	MaxOpen int
}

// session is one replay of a template.
type session struct {
	t     *template
	start time.Duration
	next  int // index of the next packet
	at    time.Duration
	// Per direction (0: client to server): the new addresses and ports in
	// wire order, the sequence number offsets, and the checksum deltas of
	// the address and port rewrite.
	cli, srv         [16]byte
	cport            uint16
	seqAdd           [2]uint32
	ipDelta, tcpSum  [2]uint32
	alen, srcOff, ip int
}

type sessionHeap []*session

func (h sessionHeap) Len() int           { return len(h) }
func (h sessionHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h sessionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sessionHeap) Push(x any)        { *h = append(*h, x.(*session)) }
func (h *sessionHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// Write writes a classic pcap file (Ethernet, microseconds) of o.Sessions
// sessions to w.
func (ts *Templates) Write(w io.Writer, o Options) (Stats, error) {
	if o.Sessions <= 0 {
		if o.Size <= 0 {
			o.Size = 200_000_000
		}
		o.Sessions = max(1, int((o.Size-24)/ts.MeanSize()))
	}
	if o.Span <= 0 {
		o.Span = 10 * time.Minute
	}
	if o.Stretch <= 0 {
		o.Stretch = 300
		if ts.kind == Handshake {
			o.Stretch = 30
		}
	}
	st := Stats{Sessions: o.Sessions, Verdicts: map[string]int{}}
	bw := bufio.NewWriterSize(w, 1<<20)
	hdr := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	hdr = binary.LittleEndian.AppendUint16(hdr, 2)
	hdr = binary.LittleEndian.AppendUint16(hdr, 4)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	hdr = binary.LittleEndian.AppendUint32(hdr, 262144)
	hdr = binary.LittleEndian.AppendUint32(hdr, 1) // Ethernet
	bw.Write(hdr)
	st.Bytes = int64(len(hdr))

	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	base := pcaptest.DefaultStart
	var h sessionHeap
	started := 0
	interval := o.Span / time.Duration(o.Sessions)
	nextStart := func() time.Duration { return time.Duration(started) * interval }
	buf := make([]byte, 0, 1<<16)
	var rec [16]byte
	for started < o.Sessions || len(h) > 0 {
		for started < o.Sessions && (len(h) == 0 || nextStart() <= h[0].at) {
			s := ts.newSession(started, nextStart()+time.Duration(rng.Int64N(int64(interval)+1)), rng)
			st.Verdicts[s.t.verdict]++
			heap.Push(&h, s)
			started++
			st.MaxOpen = max(st.MaxOpen, len(h))
		}
		s := h[0]
		p := &s.t.pkts[s.next]
		buf = s.patch(buf[:0], p)
		t := base.Add(s.at)
		binary.LittleEndian.PutUint32(rec[0:], uint32(t.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(t.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(buf)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(buf)))
		bw.Write(rec[:])
		if _, err := bw.Write(buf); err != nil {
			return st, fmt.Errorf("bigcap: %w", err)
		}
		st.Packets++
		st.Bytes += int64(16 + len(buf))
		s.next++
		if s.next == len(s.t.pkts) {
			heap.Pop(&h)
			continue
		}
		s.at = s.start + time.Duration(o.Stretch)*s.t.pkts[s.next].off
		heap.Fix(&h, 0)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("bigcap: %w", err)
	}
	return st, nil
}

// pick chooses a template by weight.
func (ts *Templates) pick(rng *rand.Rand) *template {
	n := rng.IntN(ts.total)
	for _, t := range ts.list {
		if n < t.weight {
			return t
		}
		n -= t.weight
	}
	return ts.list[len(ts.list)-1]
}

// newSession makes session number i of a template picked by weight: its own
// client address and port (unique per session), its server's address, and
// random initial sequence numbers.
func (ts *Templates) newSession(i int, start time.Duration, rng *rand.Rand) *session {
	t := ts.pick(rng)
	s := &session{t: t, start: start, at: start}
	client := i % 4096
	s.cport = uint16(1024 + (i/4096+client*97)%64000)
	var oldCli, oldSrv []byte
	if t.ipv6 {
		s.alen, s.srcOff, s.ip = 16, ethHeaderLen+8, ethHeaderLen+40
		c, v := templateClient6.As16(), templateServer6.As16()
		oldCli, oldSrv = c[:], v[:]
		copy(s.cli[:], oldCli)
		copy(s.srv[:], oldSrv)
		// 2001:db8:1::/48 for clients, 2001:db8:2::N for servers.
		s.cli[5], s.cli[14], s.cli[15] = 1, byte(client>>8), byte(client)
		s.srv[5], s.srv[15] = 2, byte(10+t.server)
	} else {
		s.alen, s.srcOff, s.ip = 4, ethHeaderLen+12, ethHeaderLen+20
		c, v := templateClient4.As4(), templateServer4.As4()
		oldCli, oldSrv = c[:], v[:]
		// 10.1.0.0/20 for clients, 192.0.2.N for servers.
		copy(s.cli[:], []byte{10, 1, byte(client >> 8), byte(client)})
		copy(s.srv[:], []byte{192, 0, 2, byte(10 + t.server)})
	}
	s.seqAdd = [2]uint32{rng.Uint32(), rng.Uint32()}
	// The rewrite of addresses and ports is the same for every packet of a
	// direction: its checksum delta (RFC 1624) is computed once.
	var addr uint32
	for k := 0; k < s.alen; k += 2 {
		addr += uint32(^binary.BigEndian.Uint16(oldCli[k:])) + uint32(binary.BigEndian.Uint16(s.cli[k:]))
		addr += uint32(^binary.BigEndian.Uint16(oldSrv[k:])) + uint32(binary.BigEndian.Uint16(s.srv[k:]))
	}
	port := uint32(^uint16(templateClientPort)) + uint32(s.cport)
	s.ipDelta = [2]uint32{addr, addr}
	s.tcpSum = [2]uint32{addr + port, addr + port}
	return s
}

// patch appends the packet p as session s sends it to b.
func (s *session) patch(b []byte, p *tpkt) []byte {
	b = append(b, p.data...)
	dir := p.dir
	src, dst := s.cli[:s.alen], s.srv[:s.alen]
	if dir == 1 {
		src, dst = dst, src
	}
	copy(b[s.srcOff:], src)
	copy(b[s.srcOff+s.alen:], dst)
	if s.alen == 4 {
		fixSum(b[ethHeaderLen+10:], s.ipDelta[dir])
	}
	tcp := b[s.ip:]
	if dir == 0 {
		binary.BigEndian.PutUint16(tcp[0:], s.cport)
	} else {
		binary.BigEndian.PutUint16(tcp[2:], s.cport)
	}
	sum := s.tcpSum[dir]
	seq := binary.BigEndian.Uint32(tcp[4:])
	nseq := seq + s.seqAdd[dir]
	binary.BigEndian.PutUint32(tcp[4:], nseq)
	sum += words32(^seq) + words32(nseq)
	if tcp[13]&0x10 != 0 { // ACK: the peer's sequence space
		ack := binary.BigEndian.Uint32(tcp[8:])
		nack := ack + s.seqAdd[1-dir]
		binary.BigEndian.PutUint32(tcp[8:], nack)
		sum += words32(^ack) + words32(nack)
	}
	fixSum(tcp[16:], sum)
	return b
}

func words32(v uint32) uint32 { return v>>16 + v&0xffff }

// fixSum applies a one's complement delta to the checksum at b[0:2]
// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
func fixSum(b []byte, delta uint32) {
	sum := uint32(^binary.BigEndian.Uint16(b)) + delta
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b, ^uint16(sum))
}
