package dissect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/internal/bigcap"
)

// frames is an input: files of frames.
type frames struct {
	names []string
	files [][]inFrame
}

type inFrame struct {
	data []byte
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
}

// sequential runs the frames through one Analyzer.
func sequential(o Options, in frames) ([]*Conn, Stats) {
	var got []*Conn
	a := NewAnalyzer(o, func(c *Conn) { got = append(got, c) })
	runFrames(a, in)
	return got, a.Stats()
}

// runFrames feeds every file of in to an Analyzer or a Sharded.
func runFrames(a interface {
	SetFile(string)
	Packet([]byte, gopacket.CaptureInfo, layers.LinkType)
	Flush()
}, in frames) {
	for i, f := range in.files {
		a.SetFile(in.names[i])
		for _, fr := range f {
			a.Packet(fr.data, fr.ci, fr.lt)
		}
		a.Flush()
	}
}

// blocks is a Holder over in-memory frames: every 7 frames make a block.
type blocks struct {
	frames  []inFrame
	frame   int       // the frame last read
	each    func(int) // called before each frame is read, with the frame read last
	holds   atomic.Int64
	release atomic.Int64
}

func (b *blocks) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	if b.each != nil && b.frame >= 0 {
		b.each(b.frame)
	}
	if b.frame+1 >= len(b.frames) {
		return nil, io.EOF
	}
	b.frame++
	*ci = b.frames[b.frame].ci
	return b.frames[b.frame].data, nil
}

func (b *blocks) LinkType() layers.LinkType { return b.frames[b.frame].lt }

func (b *blocks) Block() uint64 {
	if b.frame%11 == 10 {
		return 0 // one frame in eleven cannot be held
	}
	return uint64(b.frame/7 + 1)
}

func (b *blocks) Hold() func() {
	b.holds.Add(1)
	return func() { b.release.Add(1) }
}

// sharded runs the frames through a Sharded on n workers, with a Sync now
// and then as decryption secrets would, and frames held in place or copied.
// It returns the Sharded too (closed), for its counts.
func sharded(o Options, n int, in frames, syncEvery int) ([]*Conn, Stats, *Sharded) {
	got, st, b, s := shardedHeld(o, n, in, syncEvery, syncEvery > 0)
	if b != nil && b.holds.Load() != b.release.Load() {
		panic(fmt.Sprintf("%d holds, %d released", b.holds.Load(), b.release.Load()))
	}
	return got, st, s
}

func shardedHeld(o Options, n int, in frames, syncEvery int, hold bool) ([]*Conn, Stats, *blocks, *Sharded) {
	var got []*Conn
	worked := map[*Conn]bool{}
	s := NewSharded(o, n, func(shard int, c *Conn) any { return c }, func(c *Conn, v any) {
		if v.(*Conn) != c {
			panic("work's result lost")
		}
		got = append(got, c)
		worked[c] = true
	})
	defer s.Close()
	var b *blocks
	for i, f := range in.files {
		s.SetFile(in.names[i])
		if hold {
			// Read through Run from a source that holds its frames.
			b = &blocks{frames: f, frame: -1}
			if syncEvery > 0 {
				b.each = func(j int) {
					if j%syncEvery == syncEvery-1 {
						s.Sync()
					}
				}
			}
			if err := s.Run(context.Background(), b); err != nil {
				panic(err)
			}
		} else {
			for j, fr := range f {
				s.Packet(fr.data, fr.ci, fr.lt)
				if syncEvery > 0 && j%syncEvery == syncEvery-1 {
					s.Sync()
				}
			}
		}
		s.Flush()
	}
	return got, s.Stats(), b, s
}

// No cap is near: the workers never wait for each other nor collapse.
func compareRuns(t *testing.T, what string, o Options, in frames) {
	t.Helper()
	compareRunsOn(t, what, o, in, []int{1, 2, 3, 5}, noCaps)
}

// What a Sharded of several workers must have done (compareRunsOn).
const (
	noCaps    = iota // never waited for the workers (caps never near)
	collapsed        // collapsed into one
	waited           // waited for the workers (unless Sync made the bounds exact), never collapsed
)

// compareRunsOn is compareRuns on each number of workers of ns, checking
// what the Sharded did about the caps: want.
func compareRunsOn(t *testing.T, what string, o Options, in frames, ns []int, want int) {
	t.Helper()
	wantConns, wst := sequential(o, in)
	for _, n := range ns {
		for _, syncEvery := range []int{0, 97} {
			got, gst, s := sharded(o, n, in, syncEvery)
			if n > 1 && (want == noCaps && s.pressures > 0 || want == collapsed && s.collapses == 0 || want == waited && (s.pressures == 0 && syncEvery == 0 || s.collapses > 0)) {
				t.Errorf("%s, %d workers: waited %d times for the caps, collapsed %d times", what, n, s.pressures, s.collapses)
			}
			want := wantConns
			if len(got) != len(want) {
				t.Fatalf("%s, %d workers: %d connections, want %d", what, n, len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("%s, %d workers: connection %d differs: got ID %d frame %d %s, want ID %d frame %d %s",
						what, n, i, got[i].ID, got[i].FirstFrame, got[i].Ended, want[i].ID, want[i].FirstFrame, want[i].Ended)
				}
			}
			wst.Files, gst.Files = 0, 0
			if !reflect.DeepEqual(gst, wst) {
				t.Fatalf("%s, %d workers: stats\n%+v\nwant\n%+v", what, n, gst, wst)
			}
		}
	}
}

// readCapture reads a pcap or pcapng file.
func readCapture(t *testing.T, data []byte) []inFrame {
	t.Helper()
	var out []inFrame
	if bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatal(err)
		}
		for {
			d, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return out
			} else if err != nil {
				t.Fatal(err)
			}
			lt := r.LinkType()
			if len(ci.AncillaryData) > 0 {
				lt = ci.AncillaryData[0].(layers.LinkType)
			}
			out = append(out, inFrame{d, ci, lt})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, inFrame{d, ci, r.LinkType()})
	}
}

// TestShardedMatchesAnalyzer checks that a Sharded hands over the same
// connections, in the same order, with the same IDs and contents, and
// counts the same, as one Analyzer: on every committed capture (one run of
// them all, as several files), on generated captures of many
// connections, and on random traffic with port reuse and a clock that
// steps back.
func TestShardedMatchesAnalyzer(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap*"))
	if err != nil || len(paths) == 0 {
		t.Fatal("no captures", err)
	}
	var all frames
	for _, p := range paths {
		if strings.HasSuffix(p, ".gz") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all.names = append(all.names, p)
		all.files = append(all.files, readCapture(t, data))
	}
	compareRuns(t, "committed captures", Options{}, all)

	for _, k := range []bigcap.Kind{bigcap.Bulk, bigcap.Handshake} {
		in := generated(t, k, 300, 20*time.Minute)
		compareRuns(t, k.String(), Options{}, in)
		compareRuns(t, k.String()+" small linger", Options{Linger: 50 * time.Millisecond, Idle: 2 * time.Second}, in)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	var random []inFrame
	now := t0
	seqs := map[uint32]uint32{}
	for range 3000 {
		var s seg
		now, s = randomStep(rng, now, seqs, 30, func(port uint16) []byte { return []byte(fmt.Sprint(port)) })
		data := frame(t, s)
		random = append(random, inFrame{data, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet})
	}
	compareRuns(t, "random", Options{Idle: 3 * time.Second, Linger: time.Second, Grace: 200 * time.Millisecond}, frames{names: []string{"a", "b"}, files: [][]inFrame{random[:1500], random[1500:]}})
}

// recorded is the input a flood built: its frames, as one file.
func recorded(build func(f *flood)) frames {
	f := newFlood(Options{}, false)
	f.record = true
	build(f)
	return frames{names: []string{"flood"}, files: [][]inFrame{f.frames}}
}

// waiting opens n connections whose clients each send a segment of size
// bytes ahead of a hole: it waits out of order, buffered.
func waiting(f *flood, n, size int) {
	p := bytes.Repeat([]byte{0x16}, size)
	for i := range n {
		cl := floodClient(i)
		cseq, sseq := f.open(cl)
		f.send(cl, serverAddr, cseq+100, sseq, fPA, p)
	}
}

// bigRecords opens n connections whose servers each send, after the
// ServerHello, the first part bytes of a 16 KB handshake record: its body
// buffer waits for the rest.
func bigRecords(f *flood, n, part int, ch, flight []byte) {
	rec := tlsRecord(22, make([]byte, 16<<10))
	copy(rec[5:], []byte{11, 0, 0x3f, 0xfc})
	for i := range n {
		cl := floodClient(i)
		cseq, sseq := f.serverHelloThen(cl, ch, flight)
		f.stream(serverAddr, cl, sseq, cseq, rec[:part], 1448)
	}
}

// interleave puts a frame of extra after each frame of in (as long as
// extra lasts), at that frame's time.
func interleave(in []inFrame, extra []inFrame) []inFrame {
	var out []inFrame
	for i, fr := range in {
		out = append(out, fr)
		if i < len(extra) {
			e := extra[i]
			e.ci.Timestamp = fr.ci.Timestamp
			out = append(out, e)
		}
	}
	return out
}

// TestShardedFlushParts: at the end of a capture cut while thousands of
// connections are open, Flush hands them over in parts, merged one after
// the other, in the order and with the contents one Analyzer's Flush
// gives.
func TestShardedFlushParts(t *testing.T) {
	gen := generated(t, bigcap.Handshake, 2000, 2*time.Minute).files[0]
	in := frames{names: []string{"cut"}, files: [][]inFrame{gen[:len(gen)/2]}}
	compareRuns(t, "cut", Options{}, in)
	for _, n := range []int{2, 3} {
		if _, _, s := sharded(Options{}, n, in, 0); s.flushedParts < flushParts/2 {
			t.Errorf("%d workers: %d parts of Flush handed connections over", n, s.flushedParts)
		}
	}
}

// closedThenFlood closes n connections in full, floods the flow table
// with syns SYNs, then sends each closed connection a late ACK twice:
// within TimeWait of its close (late: its tombstone catches it) and after
// (a new connection picked up mid-stream).
func closedThenFlood(f *flood, n, syns int) {
	client := func(i int) netip.AddrPort { return floodClient(100_000 + i) }
	for i := range n {
		cl := client(i)
		f.send(cl, serverAddr, 1000, 0, fSYN, nil)
		f.send(serverAddr, cl, 5000, 1001, fSYN|fACK, nil)
		f.send(cl, serverAddr, 1001, 5001, fACK, nil)
		f.send(cl, serverAddr, 1001, 5001, fFA, nil)
		f.send(serverAddr, cl, 5001, 1002, fFA, nil)
		f.send(cl, serverAddr, 1002, 5002, fACK, nil)
	}
	f.ts = f.ts.Add(2 * time.Second) // past Grace: closed and buried at the flood's first scan
	synFlood(f, syns)
	late := func() {
		for i := range n {
			f.send(client(i), serverAddr, 1002, 5002, fACK, nil)
		}
	}
	f.ts = f.ts.Add(30 * time.Second)
	late()
	f.ts = f.ts.Add(60 * time.Second)
	late()
}

// TestShardedCaps: under floods that reach the flow table's cap or the cap
// on buffered bytes, a Sharded evicts and sheds the connections one
// Analyzer does, with the same IDs, contents and counts: SYN floods,
// half-open connections, real handshakes mixed with a flood (connections
// last active at the same time as others), out-of-order segments and
// record bodies buffered; a second file starts over.
func TestShardedCaps(t *testing.T) {
	ch, flight := hello(t)
	gen := generated(t, bigcap.Handshake, 300, 20*time.Second).files[0]
	half := recorded(func(f *flood) { halfOpen(f, 800, ch, flight) })
	big := recorded(func(f *flood) { bigRecords(f, 200, 6000, ch, flight) })
	mixed := interleave(gen, recorded(func(f *flood) { synFlood(f, len(gen)) }).files[0])
	both := interleave(gen, big.files[0])
	twice := func(f []inFrame) frames { return frames{names: []string{"a", "b"}, files: [][]inFrame{f, f}} }
	for _, tc := range []struct {
		name string
		o    Options
		in   frames
	}{
		{"syn flood", Options{MaxConns: 200}, recorded(func(f *flood) { synFlood(f, 3000) })},
		{"half-open", Options{MaxConns: 150}, half},
		{"half-open buffers", Options{MaxConns: 5000, MaxBuffered: 256 << 10}, half},
		{"handshakes and a flood", Options{MaxConns: 300}, twice(mixed)},
		{"out of order", Options{MaxBuffered: 200 << 10}, recorded(func(f *flood) { waiting(f, 1000, 1000) })},
		{"record bodies", Options{MaxBuffered: 1 << 20}, big},
		{"handshakes and record bodies", Options{MaxBuffered: 1 << 20, MaxConns: 400}, twice(both)},
		{"tombstones across a collapse", Options{MaxConns: 150}, recorded(func(f *flood) { closedThenFlood(f, 60, 400) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, st := sequential(tc.o, tc.in)
			if st.Evicted == 0 {
				t.Fatalf("no cap reached: %d connections, limits %v", len(want), st.LimitsReached)
			}
			compareRunsOn(t, tc.name, tc.o, tc.in, []int{2, 3, 8}, collapsed)
		})
	}
	// Collapsed, the merger does not wait for the workers left without
	// connections (whose batches of scans fill slowly): what worker 0
	// hands over leaves as its batches are done.
	syns := recorded(func(f *flood) { synFlood(f, 20_000) })
	for _, n := range []int{2, 3} {
		_, _, s := sharded(Options{MaxConns: 1000}, n, syns, 0)
		if s.collapses == 0 || s.maxWaiting > 4*batchOps {
			t.Errorf("syn flood, %d workers: collapsed %d times, %d connections waited in the merger at once", n, s.collapses, s.maxWaiting)
		}
	}
	// Connections expire before the flow table fills (200 at most), but
	// the segments sent before the workers publish anything (a batch is
	// 512 ops) reach the cap's bound: the reader waits, finds room, and
	// goes on with its workers.
	o := Options{MaxConns: 600, Idle: 10 * time.Millisecond, Linger: 5 * time.Millisecond, Grace: 5 * time.Millisecond}
	compareRunsOn(t, "expiring flood", o, recorded(func(f *flood) { synFlood(f, 5000) }), []int{2, 3}, waited)
}

// TestReuseEvents: with Options.ReuseEvents, emit sees the events it sees
// without (an array handed back serves only connections after), on one
// Analyzer and on Sharded workers; Events is nil after emit, and arrays
// are reused indeed.
func TestReuseEvents(t *testing.T) {
	gen := generated(t, bigcap.Handshake, 400, 2*time.Minute)
	in := frames{names: []string{"a", "b"}, files: [][]inFrame{gen.files[0], gen.files[0]}}

	// run returns the events of each connection as emit saw them, by ID,
	// and how many connections had an array another had before.
	run := func(reuse bool, workers int) (map[int][]Event, int) {
		o := Options{ReuseEvents: reuse, Linger: 2 * time.Second}
		seen := map[int][]Event{}
		var emitted []*Conn
		arrays := map[*Event]bool{}
		reused := 0
		emit := func(c *Conn) {
			if len(c.Events) > 0 {
				if p := &c.Events[:1][0]; arrays[p] {
					reused++
				} else {
					arrays[p] = true
				}
			}
			seen[c.ID] = slices.Clone(c.Events)
			emitted = append(emitted, c)
		}
		if workers == 0 {
			runFrames(NewAnalyzer(o, emit), in)
		} else {
			s := NewSharded(o, workers, nil, func(c *Conn, _ any) { emit(c) })
			runFrames(s, in)
			s.Close()
		}
		for _, c := range emitted {
			if reuse && c.Events != nil {
				t.Fatalf("connection %d: Events kept after emit", c.ID)
			}
		}
		return seen, reused
	}
	want, _ := run(false, 0)
	for _, workers := range []int{0, 1, 2, 3} {
		got, reused := run(true, workers)
		if len(got) != len(want) {
			t.Fatalf("%d workers: %d connections, want %d", workers, len(got), len(want))
		}
		for id, w := range want {
			if !reflect.DeepEqual(got[id], w) {
				t.Fatalf("%d workers: connection %d: events differ", workers, id)
			}
		}
		if reused < len(want)/2 {
			t.Fatalf("%d workers: %d of %d connections reused an array", workers, reused, len(want))
		}
	}
}

// TestPoolsChangeNothing: the analysis of many interleaved connections
// (real handshakes, some with records over several segments, retransmitted
// and reordered) is the same with the pools of events arrays and record
// bodies as without: nothing of an array or a buffer given back is used
// after.
func TestPoolsChangeNothing(t *testing.T) {
	for _, k := range []bigcap.Kind{bigcap.Handshake, bigcap.Bulk} {
		in := generated(t, k, 400, 30*time.Second)
		noPools = true
		want, _ := sequential(Options{}, in)
		noPools = false
		got, _ := sequential(Options{}, in)
		if len(got) != len(want) {
			t.Fatalf("%v: %d connections, want %d", k, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("%v: connection %d differs with the pools", k, want[i].ID)
			}
		}
	}
}

// generated is a capture made by bigcap: sessions of kind over span.
func generated(t *testing.T, kind bigcap.Kind, sessions int, span time.Duration) frames {
	t.Helper()
	ts, err := bigcap.NewTemplates(kind, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := ts.Write(&buf, bigcap.Options{Sessions: sessions, Span: span}); err != nil {
		t.Fatal(err)
	}
	return frames{names: []string{"gen"}, files: [][]inFrame{readCapture(t, buf.Bytes())}}
}
