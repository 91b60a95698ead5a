package dissect

import (
	"slices"
	"time"
)

// streamLayer is the layer above reassembly: it sees each direction of a
// connection as gopacket's reassembly.Stream does, as bytes in order at
// their stream offset, the holes in them, and the end. Reassembly (this
// file) calls it and nothing else of the layers above; the TLS framer
// (tls.go) implements it, and tests put a recorder in its place.
type streamLayer interface {
	// wants reports whether side's bytes still matter. When they do not,
	// reassembly buffers none of them and only follows the sequence
	// numbers.
	wants(cs *connState, side Side) bool
	// bytes hands over side's bytes p, in order, from stream offset off.
	bytes(cs *connState, side Side, p []byte, off int64, ts time.Time)
	// gap says that n bytes of side's stream at the current offset were
	// never captured. With follow, the capture holds the bytes after the
	// hole; without, they are known only from the peer's acknowledgements
	// at the end.
	gap(cs *connState, side Side, n int, ts time.Time, follow bool)
	// end says that the connection is handed over: side's buffers can go.
	end(cs *connState, side Side)
}

// connState is the Analyzer's state for one connection.
type connState struct {
	c        *Conn
	key      flowKey
	dirs     [2]dir
	closed   bool
	done     bool // closed in full (complete): handed over after Grace
	lastSeen time.Time
	lastFile uint8 // the file of c.LastFrame
	hsDone   bool  // handshake complete: stop buffering beyond headers
	reserve  int   // events recorded beyond MaxEvents (alerts, FIN, RST)
	held     int   // bytes buffered, as last charged to Analyzer.held
	// hidx is the connection's position in each of the Analyzer's expiry
	// heaps (expiry.go), -1 out of a heap.
	hidx [2]int
	// swap is set when the side taken for the server sent the ClientHello.
	// The sides are exchanged once the segment has been handled, never in
	// the middle of framing it (the framer holds pointers into dirs).
	swap bool
}

// pending is an out-of-order segment waiting for the bytes before it.
type pending struct {
	seq   uint32
	data  []byte
	frame int       // the frame that brought it
	file  uint8     // the file of that frame (Conn.FileNo)
	ts    time.Time // and its time
}

// dir is one direction of a connection: TCP sequence tracking
// (reassembly's) and the TLS record framer of its sender (the layer
// above's).
type dir struct {
	started bool
	next    uint32 // next expected sequence number
	off     int64  // stream offset of next
	base    uint32 // sequence number of offset 0
	pend    []pending
	pendN   int
	tls     tlsStream
	acked   bool   // the peer acknowledged some of this direction's bytes
	maxAck  uint32 // the highest sequence number the peer acknowledged
}

// offsetOf converts a sequence number of this direction to a stream offset.
func (d *dir) offsetOf(seq uint32) int64 {
	return d.off + int64(int32(seq-d.next))
}

func (a *Analyzer) newConn(key flowKey, s *segment, ts time.Time) *connState {
	if len(a.conns) >= a.o.MaxConns {
		a.evict()
	}
	a.nextID++
	a.stats.TCPConns++
	c := &Conn{ID: a.nextID, File: a.file, FileNo: a.fileNo, files: a.files, FirstFrame: a.frame, FirstTime: ts, seq: a.seq}
	// Who is the client? The sender of a bare SYN; the receiver of a
	// SYN-ACK; otherwise guess by port and correct on the ClientHello.
	client, server := s.src, s.dst
	switch {
	case s.flags&FlagSYN != 0 && s.flags&FlagACK == 0:
	case s.flags&FlagSYN != 0:
		client, server = s.dst, s.src
		c.Flipped = true
	case likelyServerPort(s.src.Port()) && !likelyServerPort(s.dst.Port()):
		client, server = s.dst, s.src
		c.Flipped = true
	}
	c.Client, c.Server = client, server
	c.Sides[Client].Addr, c.Sides[Server].Addr = client, server
	cs := &connState{c: c, key: key, hidx: [2]int{-1, -1}}
	cs.dirs[Client].tls.init(a.o.MaxHandshake)
	cs.dirs[Server].tls.init(a.o.MaxHandshake)
	a.conns[key] = cs
	a.recent[0], a.recent[1] = cs, a.recent[0]
	a.heaps[heapIdle].push(cs, ts)
	if a.onNew != nil {
		a.onNew(c)
	}
	return cs
}

// likelyServerPort reports whether p is a port servers usually listen on.
func likelyServerPort(p uint16) bool {
	switch p {
	case 443, 8443, 465, 993, 995, 636, 990, 992, 994, 5061, 6697, 853, 5986, 9443, 10443:
		return true
	}
	return p < 1024
}

// swapSides exchanges client and server (the ClientHello came from the side
// we took for the server).
func (cs *connState) swapSides() {
	c := cs.c
	c.Client, c.Server = c.Server, c.Client
	c.Sides[0], c.Sides[1] = c.Sides[1], c.Sides[0]
	cs.dirs[0], cs.dirs[1] = cs.dirs[1], cs.dirs[0]
	for i := range c.Events {
		c.Events[i].From = c.Events[i].From.Other()
	}
	c.Flipped = !c.Flipped
}

func (a *Analyzer) tcp(s *segment, ts time.Time) {
	key := keyOf(s.src, s.dst)
	cs := a.lookup(key)
	syn := s.flags&FlagSYN != 0
	if cs != nil && syn && s.flags&FlagACK == 0 && cs.closed {
		// Port reuse: a new connection on the same four-tuple.
		a.forget(cs)
		cs.c.Ended = EndClosed
		a.finishOne(cs)
		cs = nil
	}
	if cs == nil {
		if len(a.tombs) > 0 {
			tk := a.tombKey(key)
			if _, late := a.tombs[tk]; late && !syn {
				a.stats.LateSegments++
				return
			}
			delete(a.tombs, tk)
		}
		cs = a.newConn(key, s, ts)
	}
	c := cs.c
	side := Client
	if s.src != c.Client {
		side = Server
	}
	if syn && s.flags&FlagACK == 0 && side == Server && !c.Sides[Client].SYN && len(c.Events) == 0 {
		cs.swapSides()
		side = Client
	}
	if ts.Before(cs.lastSeen) {
		// Only a clock that steps back can take a key down: the keys are
		// at most the last activity (expiry.go).
		a.seen(cs, ts)
	}
	cs.lastSeen = ts
	c.LastFrame, cs.lastFile = a.frame, a.fileNo
	c.LastTime = ts
	si := &c.Sides[side]
	si.Packets++
	d := &cs.dirs[side]
	peer := &cs.dirs[side.Other()]

	if syn {
		if !d.started || !si.SYN {
			d.started = true
			d.base = s.seq + 1
			d.next = s.seq + 1
			d.off = 0
			si.SYN = true
			cs.event(a, Event{Kind: EvSYN, From: side, Frame: a.frame, PeerAck: -1, Flags: s.flags & (FlagSYN | FlagACK)}.At(ts))
		}
	}
	// The client's ACK of the SYN-ACK tells where the server's stream
	// starts even when the SYN-ACK itself was not captured.
	if s.flags&FlagACK != 0 && !peer.started && si.SYN && !syn {
		peer.started = true
		peer.base = s.ack
		peer.next = s.ack
	}
	if s.flags&FlagACK != 0 && peer.started && (!peer.acked || int32(s.ack-peer.maxAck) > 0) {
		peer.acked, peer.maxAck = true, s.ack
		si.Acked = max(si.Acked, peer.offsetOf(s.ack))
	}
	if s.flags&FlagACK != 0 && len(peer.pend) > 0 && (len(s.payload) > 0 || s.flags&(FlagFIN|FlagRST) != 0) {
		a.ackedHoles(cs, side.Other(), s.ack)
	}
	if len(s.payload) > 0 || s.missing > 0 {
		if syn {
			// TCP Fast Open: data in a SYN starts after the SYN's
			// sequence number (RFC 7413).
			s.seq++
		}
		a.payload(cs, side, s, ts)
	}
	if s.flags&(FlagFIN|FlagRST) != 0 {
		a.closeFlag(cs, side, s, ts)
		a.closing(cs)
	}
	cs.applySwap()
	a.account(cs)
	if cs.closed && !cs.done && cs.complete() {
		cs.done = true
		a.heaps[heapLinger].lower(cs, a.lingerKey(cs, cs.lastSeen))
	}
}

// complete reports whether both sides closed with a FIN that the peer
// acknowledged, every byte before it captured: TCP's own end of the
// connection. Its verdict is final: it is handed over after Grace, not
// Linger (the time a RST that answers a segment crossing the FINs takes to
// come). A connection reset, or one with bytes missing, waits for Linger:
// more RSTs may follow, a reordered segment may fill the hole.
func (cs *connState) complete() bool {
	for side := range cs.dirs {
		d := &cs.dirs[side]
		fin := cs.c.Sides[side].FIN
		if fin == nil || len(d.pend) > 0 || d.off != fin.Offset || !d.acked || int32(d.maxAck-(d.next+1)) < 0 {
			return false
		}
	}
	return true
}

// applySwap exchanges the sides if a ClientHello asked for it.
func (cs *connState) applySwap() {
	if cs.swap {
		cs.swap = false
		cs.swapSides()
	}
}

func (a *Analyzer) payload(cs *connState, side Side, s *segment, ts time.Time) {
	c := cs.c
	si := &c.Sides[side]
	d := &cs.dirs[side]
	si.Bytes += int64(len(s.payload))
	if !d.started {
		d.started = true
		d.base = s.seq
		d.next = s.seq
		if !si.SYN {
			si.Midstream = true
			cs.anomaly(Anomaly{Code: "midstream", Frame: a.frame, Detail: side.String() + " stream picked up without its SYN"})
		}
	}
	p := s.payload
	seq := s.seq
	missing := s.missing
	diff := int32(seq - d.next)
	if diff < 0 {
		over := -int(diff) // int first: -math.MinInt32 overflows int32
		if over >= len(p) {
			if over < len(p)+missing {
				missing -= over - len(p)
				p = nil
			} else {
				si.Retransmits++
				a.stats.Retransmits++
				return
			}
		} else {
			p = p[over:]
		}
		si.Retransmits++
		a.stats.Retransmits++
		seq = d.next
		diff = 0
	}
	if diff > 0 {
		a.outOfOrder(cs, side, seq, p, missing, ts)
		return
	}
	a.deliver(cs, side, p, ts)
	if missing > 0 {
		a.gap(cs, side, missing, ts, "snapshot length cut the segment", true)
	}
	a.drain(cs, side, ts)
}

// outOfOrder keeps a segment that arrived before the bytes preceding it.
func (a *Analyzer) outOfOrder(cs *connState, side Side, seq uint32, p []byte, missing int, ts time.Time) {
	d := &cs.dirs[side]
	if !a.up.wants(cs, side) {
		// Nothing more to learn from this direction's bytes: just follow
		// the sequence numbers.
		end := seq + uint32(len(p)+missing)
		if int32(end-d.next) > 0 {
			d.off += int64(int32(end - d.next))
			d.next = end
		}
		return
	}
	if missing > 0 {
		p = p[:0] // the framer cannot use a segment with a hole in it
	}
	if d.pendN+len(p)+(len(d.pend)+1)*pendingOverhead > a.pendingCap(cs) {
		a.stats.limit("out-of-order buffer")
		cs.anomaly(Anomaly{Code: "limit_reached", Frame: a.frame, Detail: "out-of-order buffer full: bytes skipped"})
		a.skipToPending(cs, side)
		if int32(seq-d.next) > 0 {
			a.gap(cs, side, int(int32(seq-d.next)), ts, "out-of-order buffer full", true)
		}
		a.deliver(cs, side, p, ts)
		a.drain(cs, side, ts)
		return
	}
	for _, q := range d.pend {
		if q.seq == seq && len(q.data) >= len(p) {
			cs.c.Sides[side].Retransmits++
			a.stats.Retransmits++
			return
		}
	}
	d.pend = append(d.pend, pending{seq: seq, data: append([]byte(nil), p...), frame: a.frame, file: a.fileNo, ts: ts})
	d.pendN += len(p)
}

func (a *Analyzer) pendingCap(cs *connState) int {
	if cs.hsDone {
		return min(16<<10, a.o.MaxPending)
	}
	return a.o.MaxPending
}

// drain delivers buffered segments that have become contiguous.
func (a *Analyzer) drain(cs *connState, side Side, ts time.Time) { a.drainAs(cs, side, ts, false) }

// drainAs is drain; with own, each segment is handled as of the frame that
// brought it rather than as of the frame being read.
func (a *Analyzer) drainAs(cs *connState, side Side, ts time.Time, own bool) {
	d := &cs.dirs[side]
	for len(d.pend) > 0 {
		progress := false
		for i := 0; i < len(d.pend); i++ {
			q := d.pend[i]
			diff := int32(q.seq - d.next)
			if diff > 0 {
				continue
			}
			d.pend = append(d.pend[:i], d.pend[i+1:]...)
			d.pendN -= len(q.data)
			i--
			progress = true
			over := -int(diff) // int first: -math.MinInt32 overflows int32
			if over >= len(q.data) {
				continue
			}
			if own {
				a.frame, ts = q.frame, q.ts
			}
			a.deliver(cs, side, q.data[over:], ts)
		}
		if !progress {
			return
		}
	}
}

// earliest is the buffered segment that starts first in sequence order; d
// has one at least.
func (d *dir) earliest() pending {
	first := d.pend[0]
	for _, q := range d.pend[1:] {
		if int32(q.seq-first.seq) < 0 {
			first = q
		}
	}
	return first
}

// ackedHoles declares lost the holes in side's stream that the peer's
// acknowledgement ack covers up to a segment buffered behind them: the peer
// received those bytes, the capture did not, and it will not show them
// now (Zeek's content gap). It runs before the peer's data, FIN or RST is
// handled, so that side's records after the hole come first, as the peer
// saw them (the server's flight, then the client's answer to it).
func (a *Analyzer) ackedHoles(cs *connState, side Side, ack uint32) {
	d := &cs.dirs[side]
	for len(d.pend) > 0 && a.up.wants(cs, side) {
		if int32(ack-d.earliest().seq) <= 0 {
			return // not acknowledged past the hole: it may still be filled
		}
		a.skipToPending(cs, side)
	}
}

// skipToPending declares the bytes before the earliest buffered segment
// lost and resumes from there. The hole and the segments behind it are
// handled as of the frames that brought those segments, not as of the
// frame that gave up waiting (events then come out of frame order until
// finish sorts them).
func (a *Analyzer) skipToPending(cs *connState, side Side) {
	d := &cs.dirs[side]
	if len(d.pend) == 0 {
		return
	}
	first := d.earliest()
	frame, file := a.frame, a.fileNo
	defer func() { a.frame, a.fileNo = frame, file }()
	a.frame, a.fileNo = first.frame, first.file
	if n := int32(first.seq - d.next); n > 0 {
		a.gap(cs, side, int(n), first.ts, "bytes never captured", true)
	}
	a.drainAs(cs, side, first.ts, true)
}

// gap records n bytes missing from side's stream at its current position.
// With follow, the framer goes on after the hole if it can (skipGap): the
// capture holds what comes next, and the frame being handled is when the
// hole ended. Without, as for bytes known only from the peer's
// acknowledgements at the end, the framing is lost.
func (a *Analyzer) gap(cs *connState, side Side, n int, ts time.Time, why string, follow bool) {
	d := &cs.dirs[side]
	si := &cs.c.Sides[side]
	si.Gaps++
	si.GapBytes += int64(n)
	a.stats.Gaps++
	wanted := a.up.wants(cs, side)
	cs.event(a, Event{Kind: EvGap, From: side, Frame: a.frame, Offset: d.off, PeerAck: -1, Length: n, Detail: why}.At(ts))
	if wanted {
		cs.anomaly(Anomaly{Code: "gap", Frame: a.frame, Detail: side.String() + " stream: " + why})
	}
	d.next += uint32(n)
	d.off += int64(n)
	a.up.gap(cs, side, n, ts, follow)
}

// deliver hands in-order bytes to the layer above.
func (a *Analyzer) deliver(cs *connState, side Side, p []byte, ts time.Time) {
	d := &cs.dirs[side]
	if len(p) == 0 {
		return
	}
	start := d.off
	d.next += uint32(len(p))
	d.off += int64(len(p))
	a.up.bytes(cs, side, p, start, ts)
}

func (a *Analyzer) closeFlag(cs *connState, side Side, s *segment, ts time.Time) {
	c := cs.c
	si := &c.Sides[side]
	d := &cs.dirs[side]
	peer := &cs.dirs[side.Other()]
	if !d.started {
		d.started = true
		d.base = s.seq
		d.next = s.seq
	}
	info := &CloseInfo{FileNo: a.fileNo, Frame: a.frame, Time: ts, Offset: d.offsetOf(s.seq + uint32(len(s.payload)+s.missing)), PeerAck: -1, Flags: s.flags}
	if s.flags&FlagACK != 0 && peer.started {
		info.PeerAck = peer.offsetOf(s.ack)
	}
	ev := Event{From: side, Frame: a.frame, Offset: info.Offset, PeerAck: info.PeerAck, Flags: info.Flags}.At(ts)
	if s.flags&FlagRST != 0 {
		si.RSTCount++
		if si.RST == nil {
			si.RST = info
			ev.Kind = EvRST
			cs.event(a, ev)
		}
		cs.closed = true
		return
	}
	if si.FIN == nil {
		si.FIN = info
		ev.Kind = EvFIN
		cs.event(a, ev)
	}
	if c.Sides[side.Other()].FIN != nil {
		cs.closed = true
	}
	if side == Client && c.ClientHello != nil && c.Sides[Server].Bytes == 0 {
		// The client gave up on a server that never answered its
		// ClientHello: the verdict is known; handed over after Linger,
		// not Idle (a live capture reports it then).
		cs.closed = true
	}
}

// finish runs when the connection is handed over: bytes still waiting
// behind a hole are declared lost.
func (cs *connState) finish(a *Analyzer) {
	// Events made now (a gap at the end, segments waiting behind it)
	// belong to the connection's last frame, not to the frame being read.
	frame, file := a.frame, a.fileNo
	a.frame, a.fileNo = cs.c.LastFrame, cs.lastFile
	defer func() { a.frame, a.fileNo = frame, file }()
	for _, side := range []Side{Client, Server} {
		d := &cs.dirs[side]
		if len(d.pend) > 0 {
			a.skipToPending(cs, side)
		}
		for len(d.pend) > 0 && a.up.wants(cs, side) {
			a.skipToPending(cs, side) // the next hole, while the framer follows
		}
		// Bytes the peer acknowledged but the capture never showed, at
		// the end of a stream still in its handshake: lost by the capture.
		// (Judged only at the end: mid-stream, a reordered segment may
		// still come.) The acknowledgement of a FIN covers one more.
		if d.acked && a.up.wants(cs, side) {
			end := d.next
			if cs.c.Sides[side].FIN != nil {
				end++
			}
			if n := int32(d.maxAck - end); n > 0 && n < 1<<30 {
				a.gap(cs, side, int(n), cs.lastSeen, "acknowledged by the peer, never captured", false)
			}
		}
		d.pend = nil
		a.up.end(cs, side)
	}
	if !slices.IsSortedFunc(cs.c.Events, byFrame) {
		slices.SortStableFunc(cs.c.Events, byFrame)
	}
	cs.applySwap()
	a.held -= cs.held
	cs.held = 0
	checkRefusal(cs.c)
	if cs.c.TLS {
		a.stats.TLSConns++
	}
	if cs.c.Refused() {
		a.stats.Refused++
	}
}
