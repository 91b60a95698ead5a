package dissect

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Options bound the analysis. Zero values take the defaults.
type Options struct {
	// MaxConns is the size of the flow table; when it is full the least
	// recently active connections are evicted (reported, and counted).
	MaxConns int
	// MaxHandshake caps the bytes of one handshake message (and of the
	// handshake buffer of one direction).
	MaxHandshake int
	// MaxPending caps the out-of-order bytes buffered per direction.
	MaxPending int
	// MaxBuffered caps the bytes buffered by all connections together
	// (out-of-order segments, record bodies, incomplete handshake
	// messages); past it the connections holding the most are handed over
	// early (reported, and counted).
	MaxBuffered int
	// MaxEvents caps the events recorded per connection; alerts, FIN and
	// RST always find room in a small reserve beyond it.
	MaxEvents int
	// Idle is how long, in capture time, a silent connection is kept.
	Idle time.Duration
	// Linger is how long, in capture time, a closed connection waits for
	// stray packets (a RST after a FIN) before it is handed over.
	Linger time.Duration
	// Grace is Linger for a connection closed in full: both FINs
	// acknowledged, no byte missing. Its verdict is final; it waits only
	// for a RST answering a segment that crossed the FINs.
	Grace time.Duration
	// TimeWait is how long a closed connection's tombstone catches its
	// late segments (retransmitted FINs, RSTs and ACKs), so that they are
	// not taken for a new connection: Linux's TIME_WAIT, 60 s, by default
	// (RFC 9293's 2MSL is 4 minutes; a host answers a segment later than
	// its own TIME_WAIT with a reset). At most Idle.
	TimeWait time.Duration
	// Filter, when set, drops frames for which it returns false.
	Filter func(data []byte, lt layers.LinkType) bool
	// Certs caches parsed certificates; one is made when nil.
	Certs *CertCache
	// Keys, when set, supplies key log secrets: encrypted handshake
	// records, alerts and Finished are then decrypted (decrypt.go).
	Keys KeySource
	// ReuseEvents says that emit does not keep a Conn's Events past its
	// return (the Conn itself it may keep): their array is then reused
	// for the connections that follow, and Events is nil after emit.
	ReuseEvents bool
}

func (o *Options) defaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = 50_000
	}
	if o.MaxHandshake <= 0 {
		o.MaxHandshake = 256 << 10
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 256 << 10
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 128 << 20
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 128
	}
	if o.Idle <= 0 {
		o.Idle = 5 * time.Minute
	}
	if o.Linger <= 0 {
		o.Linger = 5 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	o.Grace = min(o.Grace, o.Linger)
	if o.TimeWait <= 0 {
		o.TimeWait = 60 * time.Second
	}
	o.TimeWait = min(o.TimeWait, o.Idle)
	if o.Certs == nil {
		o.Certs = NewCertCache(0)
	}
}

// flowKey identifies a connection regardless of direction.
type flowKey struct {
	a, b netip.AddrPort
}

func keyOf(src, dst netip.AddrPort) flowKey {
	if src.Addr().Less(dst.Addr()) || (src.Addr() == dst.Addr() && src.Port() < dst.Port()) {
		return flowKey{src, dst}
	}
	return flowKey{dst, src}
}

// Analyzer turns frames into connections. It is not safe for concurrent
// use. Feed it with Packet (or Run), then call Flush at the end of input.
type Analyzer struct {
	o      Options
	emit   func(*Conn)
	conns  map[flowKey]*connState
	recent [2]*connState    // the last two connections looked up (lookup)
	tombs  map[uint64]int64 // tombstones by tombKey: when, in µs (expiry.go)
	seed   maphash.Seed
	file   string
	// files are the names of the files read as one capture; fileNo is the
	// current one's number among them.
	files  *fileList
	fileNo uint8
	// frame is the number of the frame being analysed in its file, as
	// Wireshark numbers it (clock.seq counts the frames of the whole
	// analysis, the order connections are made and handed over in).
	frame int
	// fileStart is clock.seq when the current file began: frames are
	// numbered from it (a merged read numbers them itself).
	fileStart int
	clock
	nextID int
	stats  Stats
	seg    segment
	held   int // bytes buffered by all connections (limits.go)
	// heaps order the connections by last activity, tombQ the
	// tombstones by age (expiry.go).
	heaps [2]connHeap
	tombQ tombQueue
	// up is the layer above reassembly: the TLS framer (tcp.go's
	// streamLayer).
	up streamLayer
	// onNew, when set, is called when a connection is made (Sharded).
	onNew  func(c *Conn)
	events eventPool
	bodies bodyPool
}

// NewAnalyzer returns an Analyzer that hands every finished connection to
// emit. emit must not retain the Conn's byte slices beyond the call unless
// it copies them... it may retain the Conn itself: the Analyzer forgets it.
func NewAnalyzer(o Options, emit func(*Conn)) *Analyzer {
	o.defaults()
	a := &Analyzer{
		o:     o,
		emit:  emit,
		conns: make(map[flowKey]*connState),
		tombs: make(map[uint64]int64),
		seed:  maphash.MakeSeed(),
		heaps: [2]connHeap{{h: heapIdle}, {h: heapLinger}},
	}
	a.up = framer{a}
	return a
}

// SetFile starts a new input: frame numbers count from 1 again and
// connections carry the new name. Connections still open are handed over
// first, as at the end of input.
func (a *Analyzer) SetFile(name string) {
	a.Flush()
	a.file = name
	a.files, a.fileNo = &fileList{names: []string{name}}, 0
	a.clock = clock{seq: a.clock.seq} // seq counts the frames of the whole analysis
	a.fileStart = a.seq
	clear(a.tombs)
	a.tombQ.reset()
	a.stats.Files++
}

// MaxContinued is how many files NextFile reads as one capture.
const MaxContinued = 256

// NextFile starts a file that continues the one before in time (a rotated
// capture: tcpdump -C or -G): connections go on across it, frame numbers
// count from 1 again, and events say which file their frame is in. It
// reports false, having called SetFile instead, past MaxContinued files or
// before any file.
func (a *Analyzer) NextFile(name string) bool {
	if a.files == nil || len(a.files.names) >= MaxContinued {
		a.SetFile(name)
		return false
	}
	a.file = name
	a.files.names = append(a.files.names, name)
	a.fileNo = uint8(len(a.files.names) - 1)
	a.fileStart = a.seq
	a.stats.Files++
	return true
}

// AddFile adds a file to the capture read, for a merged read (Run on a
// MergedSource) whose frames say which file they lie in: frame numbers
// and the order of the analysis go on. It reports false, adding nothing,
// past MaxContinued files or before any file.
func (a *Analyzer) AddFile(name string) bool {
	if a.files == nil || len(a.files.names) >= MaxContinued {
		return false
	}
	a.files.names = append(a.files.names, name)
	a.stats.Files++
	return true
}

// Frame is the number of the last frame read from the current file.
func (a *Analyzer) Frame() int { return a.frame }

// LastTime is the latest capture time seen in the current file (and the
// ones it continues), zero before any frame.
func (a *Analyzer) LastTime() time.Time { return a.clock.now }

// Stats returns the counters so far.
func (a *Analyzer) Stats() Stats { return a.stats }

// PacketSource is what Run reads from: capture's File, and the readers
// over it, which fill in the caller's CaptureInfo (millions of frames, no
// copy of a CaptureInfo each through every layer). ReadFrame returns
// io.EOF at the end; its data is valid until the next call.
type PacketSource interface {
	ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error)
	LinkType() layers.LinkType
}

// origin is where a frame of a merged read lies: its file, numbered in
// the order the files were added to the capture (SetFile, then AddFile),
// and its frame number in that file.
type origin struct {
	file  uint8
	frame int
}

// MergedSource is a PacketSource reading the files of one capture merged
// by time (files captured at the same time, as mergecap merges them; files
// that follow each other). Origin tells where the frame last read lies:
// its file, numbered in the order the files were added to the capture
// (SetFile, then AddFile), and its frame number in that file
// (capture.Merge is one).
type MergedSource interface {
	PacketSource
	Origin() (file uint8, frame int)
}

// Run reads src to its end and analyses every frame. It returns nil at the
// end of input, ctx's error when cancelled, or the read error that stopped
// it (connections read so far stay in the Analyzer: call Flush).
func (a *Analyzer) Run(ctx context.Context, src PacketSource) error {
	if m, ok := src.(MergedSource); ok {
		return runMerged(ctx, m, a.packetFrom)
	}
	return runSource(ctx, src, a.packet)
}

// runSource feeds every frame of src to packet until the end of input, a
// read error or ctx's cancellation (checked every 1024 frames).
func runSource(ctx context.Context, src PacketSource, packet func([]byte, time.Time, layers.LinkType)) error {
	var ci gopacket.CaptureInfo
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		data, err := src.ReadFrame(&ci)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		packet(data, ci.Timestamp, src.LinkType())
	}
}

// runMerged is runSource for a merged read: packet learns each frame's
// origin too.
func runMerged(ctx context.Context, src MergedSource, packet func([]byte, time.Time, layers.LinkType, origin)) error {
	return runSource(ctx, src, func(data []byte, ts time.Time, lt layers.LinkType) {
		file, frame := src.Origin()
		packet(data, ts, lt, origin{file, frame})
	})
}

// clock is the capture's time as its frames come, for Analyzer and
// Sharded alike: the count of frames analysed (seq), the latest time seen (a
// clock stepping back does not go back), and when connections were last
// looked over.
type clock struct {
	seq      int
	now      time.Time
	lastScan time.Time
	nextScan time.Time // lastScan + wait/2
}

// tick counts a frame at ts and reports whether connections are to be
// looked over (handed over when due) before it: every wait/2 of capture
// time (wait: the shortest a connection waits, Options.Grace), and at the
// first frame.
func (c *clock) tick(ts time.Time, wait time.Duration) bool {
	c.seq++
	if !ts.After(c.now) {
		// The clock did not move: due only at the first frame.
		if !c.lastScan.IsZero() {
			return false
		}
	} else {
		c.now = ts
	}
	if c.lastScan.IsZero() || !c.now.Before(c.nextScan) {
		c.scanned(c.now, wait)
		return true
	}
	return false
}

// scanned notes that connections were looked over at t.
func (c *clock) scanned(t time.Time, wait time.Duration) {
	c.lastScan, c.nextScan = t, t.Add(wait/2)
}

// Packet analyses one frame. data is not retained.
func (a *Analyzer) Packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	a.packet(data, ci.Timestamp, lt)
}

// packet is Packet: the time is all it needs of the CaptureInfo.
func (a *Analyzer) packet(data []byte, ts time.Time, lt layers.LinkType) {
	a.stats.Packets++
	a.stats.Bytes += int64(len(data))
	if a.tick(ts, a.o.Grace) {
		a.scan(false)
	}
	a.frame = a.seq - a.fileStart
	if !a.stats.admit(data, lt, a.o.Filter, &a.seg) {
		return
	}
	a.tcp(&a.seg, ts)
}

// packetFrom is packet for a frame of a merged read, from o.
func (a *Analyzer) packetFrom(data []byte, ts time.Time, lt layers.LinkType, o origin) {
	a.stats.Packets++
	a.stats.Bytes += int64(len(data))
	if a.tick(ts, a.o.Grace) {
		a.scan(false)
	}
	a.at(o)
	if !a.stats.admit(data, lt, a.o.Filter, &a.seg) {
		return
	}
	a.tcp(&a.seg, ts)
}

// at moves the Analyzer to the frame o of a merged read.
func (a *Analyzer) at(o origin) {
	a.frame = o.frame
	if o.file != a.fileNo && a.files != nil && int(o.file) < len(a.files.names) {
		a.fileNo, a.file = o.file, a.files.names[o.file]
	}
}

// admit decodes a frame down to TCP into seg, counting the frames it skips
// and why; it reports whether seg holds a TCP segment.
func (s *Stats) admit(data []byte, lt layers.LinkType, filter func([]byte, layers.LinkType) bool, seg *segment) bool {
	if len(data) == 0 {
		s.notDecoded(SkipZeroLength)
		return false
	}
	if filter != nil && !filter(data, lt) {
		s.notDecoded(SkipFiltered)
		return false
	}
	if why := decodeFrame(data, lt, seg); why != "" {
		s.notDecoded(why)
		if why == SkipLinkType {
			if s.LinkTypes == nil {
				s.LinkTypes = make(map[string]int64)
			}
			s.LinkTypes[lt.String()]++
		}
		return false
	}
	if seg.missing > 0 {
		s.Truncated++
	}
	return true
}

// lookup finds key's connection: one of the last two looked up (segments
// of a flow come in runs: nine lookups in ten on a busy capture), else the
// flow table.
func (a *Analyzer) lookup(key flowKey) *connState {
	if cs := a.recent[0]; cs != nil && cs.key == key {
		return cs
	}
	if cs := a.recent[1]; cs != nil && cs.key == key {
		a.recent[0], a.recent[1] = cs, a.recent[0]
		return cs
	}
	cs := a.conns[key]
	if cs != nil {
		a.recent[0], a.recent[1] = cs, a.recent[0]
	}
	return cs
}

// forget takes cs out of the flow table.
func (a *Analyzer) forget(cs *connState) {
	delete(a.conns, cs.key)
	for i, r := range a.recent {
		if r == cs {
			a.recent[i] = nil
		}
	}
}

// Flush hands over every connection still open, as at the end of input.
func (a *Analyzer) Flush() {
	a.scan(true)
}

// flushBelow hands over, as at the end of input, the connections made
// before frame seq of the analysis: a part of Flush (Sharded.Flush).
func (a *Analyzer) flushBelow(seq int) {
	var done []*connState
	for _, cs := range a.conns {
		if cs.c.seq < seq {
			done = append(done, cs)
		}
	}
	for _, cs := range done {
		a.forget(cs)
		cs.inputEnded(a.now)
	}
	a.finish(done)
}

// inputEnded marks cs as handed over because the input ended at now (a
// connection closed is marked closed).
func (cs *connState) inputEnded(now time.Time) {
	cs.c.Ended, cs.c.InputEnd = EndEndOfInput, now
	if cs.closed {
		cs.c.Ended = EndClosed
	}
}

// scan hands over closed, idle (or, with all, every) connection: those
// closed at least Linger ago, and those idle for at least Idle, found
// without walking the flow table (expiry.go).
func (a *Analyzer) scan(all bool) {
	var done []*connState
	if all {
		for _, cs := range a.conns {
			cs.inputEnded(a.now)
			done = append(done, cs)
		}
		clear(a.conns)
		a.recent = [2]*connState{}
		clear(a.tombs)
		a.tombQ.reset()
		a.heaps[heapIdle].reset()
		a.heaps[heapLinger].reset()
		a.finish(done)
		return
	}
	done = a.due(done)
	for _, cs := range done {
		a.forget(cs)
		if cs.closed {
			a.bury(cs)
		}
	}
	a.expireTombs()
	a.finish(done)
}

// bury leaves a tombstone for cs, closed and leaving the flow table.
func (a *Analyzer) bury(cs *connState) {
	k, at := a.tombKey(cs.key), a.now.UnixMicro()
	a.tombs[k] = at
	a.tombQ.push(k, at)
}

// finish hands connections over in the order they started, so output is
// deterministic whatever the map order.
func (a *Analyzer) finish(done []*connState) {
	slices.SortFunc(done, func(x, y *connState) int { return x.c.ID - y.c.ID })
	for _, cs := range done {
		a.finishOne(cs)
	}
}

func (a *Analyzer) finishOne(cs *connState) {
	a.heaps[heapIdle].remove(cs)
	a.heaps[heapLinger].remove(cs)
	cs.finish(a)
	a.emit(cs.c)
	if a.o.ReuseEvents {
		a.events.put(cs.c.Events)
		cs.c.Events = nil
	}
}
