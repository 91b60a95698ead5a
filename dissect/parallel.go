package dissect

import (
	"context"
	"encoding/binary"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Sharded analyses the flows of the input on several workers and hands the
// connections over in the order, with the IDs, that one Analyzer reading
// the same frames gives (STYLE habit 23: shard by flow hash only when
// profiling demands it).
//
// The caller's goroutine reads and decodes each frame, keeps the clock and
// decides when connections are due (exactly as Analyzer.Packet does), and
// passes the TCP segment, with its payload (left where the source read it
// when the source is a Holder, copied otherwise), to the worker that owns
// its flow: a hash of the flow key, the same both ways. Each worker
// runs an Analyzer on its flows and calls work (in parallel, e.g. to
// diagnose and encode) on each connection it hands over. Every connection
// handed over is tagged with the moment it was, in the single Analyzer's
// terms: the scan at frame F (all workers scan then, and a scan hands over
// by ID), or frame F itself (a port reused, an eviction); the connections
// each worker made are noted by frame. emit then gets the connections, on
// the caller's goroutine, merged by that moment once every worker is past
// it, with the IDs one Analyzer would have given: a connection's rank in
// the order of the frames that made them. Flush hands the connections
// still open over in parts by the frames that made them (the order one
// Analyzer's Flush gives), each merged while the workers go on with the
// next.
//
// The caps on the flow table and on the buffered bytes (Options.MaxConns,
// MaxBuffered) hold for all workers together, as for one Analyzer, and
// are reached at the same frames with the same victims: each worker has
// the whole caps, and the caller's goroutine keeps upper bounds of the
// connections and bytes all of them hold (what each published with its
// last batch, plus one connection and growthBound bytes per segment sent
// since). While the bounds stay under the caps no worker, and no single
// Analyzer, can reach one. When a segment could make them reach one, the
// workers first finish what they were given (the bounds are then
// exact); if the room left is under a slack (half the cap, or the
// connections a few batches can open), the workers' state is moved into
// worker 0 (Analyzer.absorb), which then analyses every segment: from
// there the analysis is one Analyzer's, caps and evictions included. It
// stays so until the next SetFile (which starts from nothing); flows are
// spread again only then.
type Sharded struct {
	o    Options
	emit func(c *Conn, v any)

	// The reader's state, as in Analyzer.Packet.
	fileSeq int
	// continued counts the files read as one capture so far (NextFile).
	continued int
	clock
	frame     int // the frame read, numbered in its file
	fileStart int // clock.seq when the current file began
	// captureSeq is clock.seq when the capture began (SetFile): its
	// connections were made at or after it.
	captureSeq int
	fileNo     uint8 // its file among those of the capture
	stats      Stats // frames read, and those not decoded
	seg        segment

	shards []*shard
	holder Holder
	free   chan *batch
	notify chan struct{} // a worker published results
	wg     sync.WaitGroup
	closed bool

	// Caps (the caller's goroutine): bConns and bHeld are upper bounds of
	// the connections and bytes held by all workers at the segment about
	// to be sent: the sum of what each published with its last batch and,
	// per segment given since, one connection and growthBound bytes.
	// collapsed: shards[0] analyses every segment.
	collapsed             bool
	bConns, bHeld         int
	slackConns, slackHeld int
	batchGrowth           int // a batch is shipped once its segments may grow held by that
	pressures, collapses  int // how often (tests)
	// flushedParts counts the parts of Flush that handed connections
	// over, lastPart being the last one's moment (tests).
	flushedParts, lastPart int
	// maxWaiting is the most connections handed over that waited in
	// the merger at once (tests).
	maxWaiting int

	// The merger's state (the caller's goroutine).
	nextID int
	ids    map[int]int // IDs given to connections not handed over yet, by the seq of the frame that made them
}

// pos is a moment of the analysis: a frame of a file, before (phase 0: the
// scan) or while (phase 1) the frame is analysed.
type pos struct {
	file, frame, phase int
}

func (p pos) cmp(q pos) int {
	switch {
	case p.file != q.file:
		return p.file - q.file
	case p.frame != q.frame:
		return p.frame - q.frame
	}
	return p.phase - q.phase
}

// endOfFile is the frame of the moment a file is flushed.
const endOfFile = math.MaxInt

type opKind uint8

const (
	opPacket     opKind = iota
	opScan              // scan at ts, before the frame
	opFile              // SetFile(name)
	opNextFile          // NextFile(name)
	opAddFile           // AddFile(name)
	opFlush             // Flush
	opFlushBelow        // a part of Flush: the connections made before frame seq
)

// op is what a worker is told to do.
type op struct {
	kind opKind
	file uint8 // opPacket: the frame's file (Analyzer.fileNo)
	// frame is the frame's number in its file; seq its order in the
	// analysis (clock.seq).
	frame, seq int
	ts         time.Time
	seg        segment // opPacket; its payload is data[off:off+n] of the batch
	off, n     int
	name       string
}

// batch is a run of ops for one worker, with the payload bytes they need:
// copied into data, or held where the source read them (holds).
type batch struct {
	ops   []op
	data  []byte
	holds holds // the source's blocks the payloads lie in
	// events are the event arrays of connections the worker handed over
	// and emit is done with (Options.ReuseEvents), back to its pool.
	events [][]Event
}

// Holder is a PacketSource that can keep the frames it returns valid past
// its next read: capture.File does for pcap files, block by block, and
// capture.Merge and capture.Watch do when the files they read do.
type Holder interface {
	// Block is the number of the block the frame last read lies in, 0
	// when it cannot be held.
	Block() uint64
	// Hold keeps that block unchanged until release is called (from any
	// goroutine).
	Hold() (release func())
}

// holds are the blocks of a Holder held for the frames of a batch: each
// block once, however many frames lie in it. A merged read alternates
// between its files' blocks, so the few blocks held last are looked at.
type holds struct {
	releases []func()
	blocks   []uint64 // the block of each release
}

// holdRecent is how many of the blocks held last hold looks for blk among.
const holdRecent = 4

// hold holds block blk of h (from h.Block(), not 0) if it is not held yet.
func (hs *holds) hold(h Holder, blk uint64) {
	for i := len(hs.blocks) - 1; i >= max(len(hs.blocks)-holdRecent, 0); i-- {
		if hs.blocks[i] == blk {
			return
		}
	}
	hs.releases = append(hs.releases, h.Hold())
	hs.blocks = append(hs.blocks, blk)
}

// release releases every block held, for reuse of hs.
func (hs *holds) release() {
	for i, release := range hs.releases {
		release()
		hs.releases[i] = nil
	}
	hs.releases, hs.blocks = hs.releases[:0], hs.blocks[:0]
}

const (
	batchOps   = 512
	batchBytes = 256 << 10
)

// out is a connection handed over by a worker.
type out struct {
	at  pos
	sub int // order among those handed over at the same moment
	c   *Conn
	v   any
}

// shard is one worker. Its fields are grouped by the goroutine that writes
// them, with padding between the groups: the reader touches its shard for
// every frame and the worker for every op, and a cache line both write
// would travel between the cores each time.
type shard struct {
	_    [128]byte
	id   int
	an   *Analyzer
	in   chan *batch
	work func(shard int, c *Conn) any

	// The reader's.
	_   [128]byte
	cur *batch // being filled
	// curSegs and curGrowth count the segments of cur and the bytes they
	// may add to held (growthBound); loads[loadsDone:] the same for each
	// batch shipped and not yet seen done (seenWorked), and seenConns and
	// seenHeld what the worker published last, as added to Sharded.bConns
	// and bHeld.
	curSegs, curGrowth int
	loads              []load
	loadsDone          int
	// flows are flows whose connGrowth cur counts, by a few bits of
	// their hash: an entry of another batch (gen) or of another flow in
	// the slot does not count.
	flows               [32]flowSeen
	gen                 uint32 // cur's number
	seenWorked          int
	seenConns, seenHeld int

	// The worker's state while it works.
	_    [128]byte
	at   pos
	seq  int
	outs []out
	made []pos

	// Published to the merger, under mu.
	_       [128]byte
	mu      sync.Mutex
	pubOut  []out
	pubMade []pos
	prog    pos
	stats   Stats
	worked  int // batches done
	// conns and held are len(an.conns) and an.held after those batches.
	conns, held int

	shipped int // batches given (the reader's)

	// The merger's queues (the caller's goroutine).
	pendOut  []out
	pendMade []pos
	_        [128]byte
}

// flowSeen is a flow whose connGrowth a batch counts.
type flowSeen struct {
	src, dst netip.AddrPort
	gen      uint32
}

// load is what a batch shipped may add to the connections and the bytes
// its worker holds.
type load struct{ segs, growth int }

// NewSharded returns a Sharded on n workers (at least 1). work is called on
// the worker's goroutine with every connection handed over (and the
// worker's number, 0 to n-1); emit is called in order on the goroutine that
// calls Packet, Run, SetFile and Flush, with work's result. Call Close when
// done.
func NewSharded(o Options, n int, work func(shard int, c *Conn) any, emit func(c *Conn, v any)) *Sharded {
	o.defaults()
	n = max(n, 1)
	s := &Sharded{o: o, emit: emit, free: make(chan *batch, 4*n+4), notify: make(chan struct{}, 1), ids: map[int]int{}}
	so := o
	so.ReuseEvents = false // the merger gives them back, after emit
	// One worker is one Analyzer: nothing to bound. Otherwise, the slack
	// left when the workers collapse into one: a cap's half, or for the
	// flow table, no more than four batches of segments per worker can
	// open (the batches of a worker not done: one worked on, two queued,
	// one filled); a batch's growth is kept so that the batches not done
	// may add no more than a quarter of MaxBuffered.
	s.collapsed = n == 1
	s.slackConns = min(o.MaxConns/2, 4*n*batchOps)
	s.slackHeld = o.MaxBuffered / 2
	s.batchGrowth = max(o.MaxBuffered/(16*n), 1)
	for i := range n {
		sh := &shard{id: i, in: make(chan *batch, 2), work: work}
		sh.an = NewAnalyzer(so, func(c *Conn) { sh.handOver(s, c) })
		sh.an.onNew = func(c *Conn) {
			// Numbered by the frame that made it, the order of the IDs a
			// single Analyzer gives, across workers (absorb); the merger
			// gives the IDs.
			c.ID = c.seq
			sh.made = append(sh.made, pos{sh.at.file, c.seq, 0})
		}
		if i > 0 {
			sh.an.seed = s.shards[0].an.seed // tombstones absorbed keep their keys
		}
		s.shards = append(s.shards, sh)
		s.wg.Add(1)
		go s.worker(sh)
	}
	for _, sh := range s.shards {
		sh.cur = s.newBatch()
	}
	return s
}

func (s *Sharded) newBatch() *batch {
	select {
	case b := <-s.free:
		b.ops, b.data = b.ops[:0], b.data[:0]
		return b
	default:
		return &batch{ops: make([]op, 0, batchOps)}
	}
}

// handOver is the emit function of a worker's Analyzer.
func (sh *shard) handOver(s *Sharded, c *Conn) {
	o := out{at: sh.at, c: c}
	if sh.at.phase == 0 {
		o.sub = c.seq // a scan hands over by ID: in the order made
	} else {
		o.sub = sh.seq
		sh.seq++
	}
	if sh.work != nil {
		o.v = sh.work(sh.id, c)
	}
	sh.outs = append(sh.outs, o)
}

func (s *Sharded) worker(sh *shard) {
	defer s.wg.Done()
	an := sh.an
	for b := range sh.in {
		for i, ev := range b.events {
			an.events.put(ev)
			b.events[i] = nil
		}
		b.events = b.events[:0]
		for i := range b.ops {
			o := &b.ops[i]
			switch o.kind {
			case opPacket:
				sh.at = pos{sh.at.file, o.seq, 1}
				an.seq = o.seq
				an.at(origin{o.file, o.frame})
				if o.off >= 0 {
					o.seg.payload = b.data[o.off : o.off+o.n : o.off+o.n]
				}
				an.tcp(&o.seg, o.ts)
				o.seg.payload = nil
			case opScan:
				sh.at = pos{sh.at.file, o.seq, 0}
				an.now = o.ts
				an.scan(false)
			case opFlushBelow:
				sh.at = pos{sh.at.file, o.frame, 0}
				an.now = o.ts
				an.flushBelow(o.seq)
			case opFlush:
				sh.at = pos{sh.at.file, endOfFile, 0}
				an.now = o.ts // the input's end, as the reader saw it
				an.Flush()
			case opFile:
				sh.at = pos{sh.at.file, endOfFile, 0}
				an.SetFile(o.name)
				sh.at = pos{sh.at.file + 1, 0, 0}
			case opNextFile:
				an.NextFile(o.name)
				sh.at = pos{sh.at.file + 1, 0, 0}
			case opAddFile:
				an.AddFile(o.name)
			}
		}
		b.holds.release()
		select {
		case s.free <- b:
		default:
		}
		sh.mu.Lock()
		sh.pubOut = append(sh.pubOut, sh.outs...)
		sh.pubMade = append(sh.pubMade, sh.made...)
		sh.prog = sh.at
		sh.worked++
		sh.publishState()
		sh.mu.Unlock()
		clear(sh.outs)
		sh.outs, sh.made = sh.outs[:0], sh.made[:0]
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// publishState publishes the connections, bytes and counts the worker's
// Analyzer holds (under mu).
func (sh *shard) publishState() {
	an := sh.an
	sh.conns, sh.held = len(an.conns), an.held
	sh.stats = an.stats
	sh.stats.LimitsReached = cloneCounts(an.stats.LimitsReached)
}

func cloneCounts(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// flowHash is the hash of a flow key, the same both ways, fixed so that
// runs repeat: a flow's worker is shards[flowHash%n].
func flowHash(src, dst netip.AddrPort) uint64 {
	h := endpointHash(src) + endpointHash(dst) // the same both ways
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// endpointHash mixes an address and port into a word (IPv4 addresses
// without making their 16-byte form).
func endpointHash(ap netip.AddrPort) uint64 {
	a := ap.Addr()
	var h uint64
	if a.Is4() {
		b := a.As4()
		h = uint64(binary.BigEndian.Uint32(b[:]))
	} else {
		b := a.As16()
		h = binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])
	}
	h = (h<<16 | uint64(ap.Port())) * 0xc2b2ae3d27d4eb4f
	return h ^ h>>29
}

// send queues o (and the payload p) for sh.
func (s *Sharded) send(sh *shard, o op, p []byte) {
	b := sh.cur
	b.ops = append(b.ops, o)
	s.queued(sh, &b.ops[len(b.ops)-1], p)
}

// queued places the payload p of o, just added to sh's batch, and ships
// the batch when it is full.
func (s *Sharded) queued(sh *shard, o *op, p []byte) {
	b := sh.cur
	if len(p) > 0 {
		if id := s.heldBlock(); id != 0 {
			// The payload stays where the source read it.
			b.holds.hold(s.holder, id)
			o.off, o.seg.payload = -1, p
		} else {
			if b.data == nil {
				// Made when a payload is copied: reading a Holder, a
				// batch needs none.
				b.data = make([]byte, 0, batchBytes)
			}
			o.off, o.n = len(b.data), len(p)
			b.data = append(b.data, p...)
		}
	}
	if len(b.ops) >= batchOps || len(b.data) >= batchBytes || sh.curGrowth >= s.batchGrowth {
		s.ship(sh)
	}
}

// ship hands sh its batch, and merges what the workers have published.
func (s *Sharded) ship(sh *shard) {
	if len(sh.cur.ops) == 0 {
		return
	}
	b := sh.cur
	sh.cur = s.newBatch()
	sh.shipped++ // given, from the merger's point of view, even while queued
	sh.loads = append(sh.loads, load{sh.curSegs, sh.curGrowth})
	sh.curSegs, sh.curGrowth = 0, 0
	sh.gen++
	for {
		select {
		case sh.in <- b:
			s.merge()
			return
		case <-s.notify:
			s.merge() // while the worker is busy, hand over what is ready
		}
	}
}

// heldBlock is the block of the holder the frame being read lies in, 0
// when there is none.
func (s *Sharded) heldBlock() uint64 {
	if s.holder == nil {
		return 0
	}
	return s.holder.Block()
}

// broadcast queues o for every worker.
func (s *Sharded) broadcast(o op) {
	for _, sh := range s.shards {
		s.send(sh, o, nil)
	}
}

// Packet analyses one frame. data is not retained.
func (s *Sharded) Packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	s.packet(data, ci.Timestamp, lt)
}

// packet is Packet: the time is all it needs of the CaptureInfo.
func (s *Sharded) packet(data []byte, ts time.Time, lt layers.LinkType) {
	s.stats.Packets++
	s.stats.Bytes += int64(len(data))
	if s.tick(ts, s.o.Grace) {
		s.broadcast(op{kind: opScan, seq: s.seq, ts: s.now})
	}
	s.frame = s.seq - s.fileStart
	if !s.stats.admit(data, lt, s.o.Filter, &s.seg) {
		return
	}
	s.send1(ts)
}

// packetFrom is packet for a frame of a merged read, from o.
func (s *Sharded) packetFrom(data []byte, ts time.Time, lt layers.LinkType, o origin) {
	s.stats.Packets++
	s.stats.Bytes += int64(len(data))
	if s.tick(ts, s.o.Grace) {
		s.broadcast(op{kind: opScan, seq: s.seq, ts: s.now})
	}
	s.frame, s.fileNo = o.frame, o.file
	if !s.stats.admit(data, lt, s.o.Filter, &s.seg) {
		return
	}
	s.send1(ts)
}

// send1 sends the frame decoded into s.seg to its flow's worker.
func (s *Sharded) send1(ts time.Time) {
	seg := &s.seg
	p := seg.payload
	sh := s.shards[0]
	if !s.collapsed {
		// A few operations per segment: the slow path only when a cap
		// could be reached.
		h := flowHash(seg.src, seg.dst)
		sh = s.shards[h%uint64(len(s.shards))]
		base, grows := growthBound(seg)
		g := base
		var f *flowSeen
		if grows {
			// The connection's body buffers, once per batch.
			f = &sh.flows[h>>59]
			if f.gen != sh.gen || !(f.src == seg.src && f.dst == seg.dst || f.src == seg.dst && f.dst == seg.src) {
				g += connGrowth
			} else {
				f = nil
			}
		}
		if s.bConns >= s.o.MaxConns || s.bHeld+g > s.o.MaxBuffered {
			// The batches are shipped: the segment starts a new one,
			// which counts its connection's body buffers.
			if grows {
				g, f = base+connGrowth, &sh.flows[h>>59]
			}
			s.pressure(g)
		}
		if s.collapsed {
			sh = s.shards[0]
		} else {
			if f != nil {
				*f = flowSeen{seg.src, seg.dst, sh.gen}
			}
			sh.curSegs++
			sh.curGrowth += g
			s.bConns++
			s.bHeld += g
		}
	}
	// The op (192 bytes) is made in its place in the batch: made on the
	// stack and copied, it took a third of this function's instructions.
	b := sh.cur
	b.ops = append(b.ops, op{})
	o := &b.ops[len(b.ops)-1]
	o.kind, o.file, o.frame, o.seq, o.ts, o.seg = opPacket, s.fileNo, s.frame, s.seq, ts, *seg
	o.seg.payload = nil
	s.queued(sh, o, p)
	seg.payload = nil
}

// pressure runs before a segment that may add g bytes to held when the
// bounds say that a cap could be reached at it: newConn evicts when the
// flow table holds MaxConns connections, account sheds when held passes
// MaxBuffered. It waits until the workers have done all they were given,
// so that the bounds are exact (the connections and bytes one Analyzer
// would hold before the segment), and collapses them into one if even
// then the room left is under the slack.
func (s *Sharded) pressure(g int) {
	s.pressures++
	s.sync()
	if s.bConns < s.o.MaxConns-s.slackConns && s.bHeld+g <= s.o.MaxBuffered-s.slackHeld {
		return
	}
	s.collapse()
}

// collapse moves the state of every worker into worker 0, which analyses
// every segment from then on. The workers are idle (sync): what they
// published under mu happened before.
func (s *Sharded) collapse() {
	s.collapses++
	s.collapsed = true
	a := s.shards[0].an
	for _, sh := range s.shards[1:] {
		a.absorb(sh.an)
	}
	s.bConns, s.bHeld = 0, 0
	for _, sh := range s.shards {
		sh.mu.Lock()
		sh.publishState()
		sh.mu.Unlock()
		sh.seenConns, sh.seenHeld = sh.conns, sh.held
		s.bConns += sh.conns
		s.bHeld += sh.held
	}
}

// Run reads src to its end and analyses every frame, as Analyzer.Run does.
// When src is a Holder, the payloads go to the workers where src read
// them, held until the workers are done with them; otherwise they are
// copied (as are those of frames Packet is given).
func (s *Sharded) Run(ctx context.Context, src PacketSource) error {
	s.holder, _ = src.(Holder)
	defer func() { s.holder = nil }()
	if m, ok := src.(MergedSource); ok {
		return runMerged(ctx, m, s.packetFrom)
	}
	return runSource(ctx, src, s.packet)
}

// SetFile starts a new input, as Analyzer.SetFile does.
func (s *Sharded) SetFile(name string) {
	s.broadcast(op{kind: opFile, name: name})
	s.sync()
	// Every connection and tombstone is gone: the flows are spread
	// again.
	s.collapsed = len(s.shards) == 1
	s.fileSeq++
	s.clock = clock{seq: s.clock.seq} // seq counts the frames of the whole analysis
	s.fileStart = s.seq
	s.captureSeq = s.seq
	s.fileNo = 0
	s.stats.Files++
	s.continued = 1
}

// LastTime is the latest capture time read, as Analyzer.LastTime.
func (s *Sharded) LastTime() time.Time { return s.clock.now }

// NextFile starts a file that continues the one before, as
// Analyzer.NextFile does, and reports whether it did.
func (s *Sharded) NextFile(name string) bool {
	if s.continued == 0 || s.continued >= MaxContinued {
		s.SetFile(name)
		return false
	}
	s.broadcast(op{kind: opNextFile, name: name})
	s.sync()
	s.fileSeq++
	s.fileStart = s.seq
	s.fileNo = uint8(s.continued)
	s.stats.Files++
	s.continued++
	return true
}

// AddFile adds a file to the capture for a merged read, as
// Analyzer.AddFile does, and reports whether it did.
func (s *Sharded) AddFile(name string) bool {
	if s.continued == 0 || s.continued >= MaxContinued {
		return false
	}
	s.broadcast(op{kind: opAddFile, name: name})
	s.sync()
	s.stats.Files++
	s.continued++
	return true
}

// Flush hands over every connection still open, as at the end of input,
// and returns once emit has had them all.
func (s *Sharded) Flush() {
	if !s.collapsed {
		// The connections still open are handed over in parts, by the
		// frame that made them (the order one Analyzer hands them over
		// in at the end), each part a moment of its own just before the
		// end and merged while the workers go on with the next: at the
		// end of a big capture, the thousands of connections still open
		// are not all judged and held at once.
		lo, hi := s.captureSeq, s.seq+1
		step := (hi - lo + flushParts - 1) / flushParts
		for i := 1; i < flushParts && lo+i*step < hi; i++ {
			s.broadcast(op{kind: opFlushBelow, seq: lo + i*step, frame: endOfFile - flushParts + i, ts: s.now})
			for _, sh := range s.shards {
				s.ship(sh)
			}
		}
	}
	s.broadcast(op{kind: opFlush, ts: s.now})
	s.sync()
}

// flushParts is how many parts Flush hands the open connections over in.
const flushParts = 16

// Sync returns once the workers have analysed every frame given so far and
// emit has had every connection they handed over. (Decryption secrets
// found in a file must not reach the workers before the frames read ahead
// of them: Sync first.)
func (s *Sharded) Sync() {
	s.sync()
}

// sync ships every batch and merges until every worker is past the last
// op given.
func (s *Sharded) sync() {
	for _, sh := range s.shards {
		s.ship(sh)
	}
	for {
		if s.merge() {
			return
		}
		<-s.notify
	}
}

// Frame is the number of the last frame read from the current file.
func (s *Sharded) Frame() int { return s.frame }

// Stats returns the counters so far: the reader's, and the workers' as of
// their last published batch (all of them after Flush or Sync).
func (s *Sharded) Stats() Stats {
	st := s.stats
	st.NotDecoded = cloneCounts(s.stats.NotDecoded)
	st.LinkTypes = cloneCounts(s.stats.LinkTypes)
	for _, sh := range s.shards {
		sh.mu.Lock()
		w := sh.stats
		sh.mu.Unlock()
		st.addWork(w)
	}
	return st
}

// Close stops the workers. Connections not flushed are dropped.
func (s *Sharded) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, sh := range s.shards {
		close(sh.in)
	}
	s.wg.Wait()
}

// merge takes what the workers published, gives IDs to the connections
// made before every worker's progress, and emits, in order, the
// connections handed over before it. It reports whether every worker has
// done all it was given (shipped).
func (s *Sharded) merge() bool {
	done := true
	low := pos{math.MaxInt, 0, 0}
	for i, sh := range s.shards {
		sh.mu.Lock()
		sh.pendOut = append(sh.pendOut, sh.pubOut...)
		sh.pendMade = append(sh.pendMade, sh.pubMade...)
		clear(sh.pubOut)
		sh.pubOut, sh.pubMade = sh.pubOut[:0], sh.pubMade[:0]
		prog, worked := sh.prog, sh.worked
		conns, held := sh.conns, sh.held
		sh.mu.Unlock()
		for ; sh.seenWorked < worked; sh.seenWorked++ {
			l := sh.loads[sh.loadsDone]
			sh.loadsDone++
			s.bConns -= l.segs
			s.bHeld -= l.growth
		}
		if sh.loadsDone == len(sh.loads) {
			sh.loads, sh.loadsDone = sh.loads[:0], 0
		}
		s.bConns += conns - sh.seenConns
		s.bHeld += held - sh.seenHeld
		sh.seenConns, sh.seenHeld = conns, held
		if prog.cmp(low) < 0 && (i == 0 || !s.collapsed) {
			// (Collapsed, the other workers hold no connection: they
			// were merged up to the collapse, and get only the scans
			// and file changes, in batches that fill slowly. Waiting
			// for them would hold back every connection worker 0 hands
			// over until then.)
			low = prog
		}
		if worked != sh.shipped || len(sh.cur.ops) > 0 {
			done = false
		}
	}
	if done {
		// Every op given has been done: whatever a worker handed over
		// is final, even past the others' last op.
		low = pos{math.MaxInt, math.MaxInt, math.MaxInt}
	}
	waiting := 0
	for _, sh := range s.shards {
		waiting += len(sh.pendOut)
	}
	s.maxWaiting = max(s.maxWaiting, waiting)
	// IDs, in the order of the frames that made the connections.
	for {
		var first *shard
		for _, sh := range s.shards {
			if len(sh.pendMade) > 0 && sh.pendMade[0].cmp(low) <= 0 && (first == nil || sh.pendMade[0].cmp(first.pendMade[0]) < 0) {
				first = sh
			}
		}
		if first == nil {
			break
		}
		s.nextID++
		s.ids[first.pendMade[0].frame] = s.nextID
		first.pendMade = first.pendMade[1:]
	}
	// Connections, in the order one Analyzer hands them over.
	for {
		var first *shard
		for _, sh := range s.shards {
			if len(sh.pendOut) == 0 || sh.pendOut[0].at.cmp(low) > 0 {
				continue
			}
			if first == nil {
				first = sh
				continue
			}
			a, b := &sh.pendOut[0], &first.pendOut[0]
			if c := a.at.cmp(b.at); c < 0 || c == 0 && a.sub < b.sub {
				first = sh
			}
		}
		if first == nil {
			break
		}
		o := first.pendOut[0]
		first.pendOut[0] = out{}
		first.pendOut = first.pendOut[1:]
		if f := o.at.frame; f > endOfFile-flushParts && f < endOfFile && f != s.lastPart {
			s.lastPart = f
			s.flushedParts++
		}
		k := o.c.seq
		o.c.ID = s.ids[k]
		delete(s.ids, k)
		s.emit(o.c, o.v)
		if s.o.ReuseEvents && cap(o.c.Events) > 0 {
			// Back to the worker's pool with its next batch.
			first.cur.events = append(first.cur.events, o.c.Events)
			o.c.Events = nil
		}
	}
	for _, sh := range s.shards {
		if len(sh.pendOut) == 0 {
			sh.pendOut = sh.pendOut[:0:0]
		}
		if len(sh.pendMade) == 0 {
			sh.pendMade = sh.pendMade[:0:0]
		}
	}
	if !done {
		return false
	}
	for _, sh := range s.shards {
		if len(sh.pendOut) > 0 {
			return false
		}
	}
	return true
}
