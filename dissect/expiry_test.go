package dissect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestExpiry checks the expiry heaps against the condition scan used to
// check on every connection: after every frame, no connection left in the
// table is due (closed for Linger, or idle for Idle), every connection
// handed over as closed or idle was due, each is handed over once, and the
// heaps hold exactly the table. The traffic is random: many four-tuples,
// FIN, RST, port reuse, a clock that mostly advances, sometimes leaps and
// sometimes steps back.
func TestExpiry(t *testing.T) {
	closedInFull := 0
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		o := Options{Idle: 3 * time.Second, Linger: time.Second, Grace: 300 * time.Millisecond, MaxConns: 40 + int(seed)*10}
		done := map[int]bool{} // connections seen closed in full
		var handed []*Conn
		var a *Analyzer
		var cur seg // the frame being analysed
		a = NewAnalyzer(o, func(c *Conn) {
			handed = append(handed, c)
			if cur.flags == "S" && (cur.clientPort == 0 || c.Client.Port() == cur.clientPort || c.Server.Port() == cur.clientPort) {
				return // port reuse (or Flush): handed over at once
			}
			switch c.Ended {
			case "closed":
				if wait := a.o.Linger; a.now.Sub(c.LastTime) < wait && (!done[c.ID] || a.now.Sub(c.LastTime) < a.o.Grace) {
					t.Fatalf("seed %d: connection %d handed over closed %v after its last packet", seed, c.ID, a.now.Sub(c.LastTime))
				}
			case "idle":
				if a.now.Sub(c.LastTime) < a.o.Idle {
					t.Fatalf("seed %d: connection %d handed over idle %v after its last packet", seed, c.ID, a.now.Sub(c.LastTime))
				}
			}
		})
		now := t0
		seqs := map[uint32]uint32{}
		for i := range 4000 {
			var s seg
			now, s = randomStep(rng, now, seqs, 40, func(uint16) []byte { return []byte("x") })
			data := frame(t, s)
			cur = s
			before := a.lastScan
			a.Packet(data, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet)
			for _, cs := range a.conns {
				if cs.done {
					done[cs.c.ID] = true
				}
			}
			if !a.lastScan.Equal(before) { // this frame started with a scan
				for _, cs := range a.conns {
					if cs.c.LastFrame == a.frame {
						continue // this frame's, after the scan
					}
					wait := a.o.Linger
					if cs.done {
						wait = a.o.Grace
					}
					if (cs.closed && a.now.Sub(cs.lastSeen) >= wait) || a.now.Sub(cs.lastSeen) >= a.o.Idle {
						t.Fatalf("seed %d, frame %d: connection %d due but kept", seed, i+1, cs.c.ID)
					}
				}
			}
			checkHeaps(t, a)
		}
		cur = seg{flags: "S"} // handed over at the end: not due
		a.Flush()
		ids := make([]int, len(handed))
		for i, c := range handed {
			ids[i] = c.ID
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != len(handed) || len(handed) != int(a.stats.TCPConns) {
			t.Fatalf("seed %d: %d connections made, %d handed over (some twice?)", seed, a.stats.TCPConns, len(handed))
		}
		closedInFull += len(done)
		if len(a.heaps[heapIdle].cs)+len(a.heaps[heapLinger].cs)+len(a.tombs) != 0 {
			t.Fatalf("seed %d: heaps or tombstones left after Flush", seed)
		}
	}
	t.Logf("%d connections closed in full", closedInFull)
	if closedInFull < 20 {
		t.Fatalf("%d connections closed in full: the traffic does not test Grace", closedInFull)
	}
}

func checkHeaps(t *testing.T, a *Analyzer) {
	t.Helper()
	idle, linger := &a.heaps[heapIdle], &a.heaps[heapLinger]
	if len(idle.cs) != len(a.conns) {
		t.Fatalf("idle heap holds %d connections, table %d", len(idle.cs), len(a.conns))
	}
	closed := 0
	for _, cs := range a.conns {
		if cs.closed {
			closed++
		}
		for h, q := range []*connHeap{idle, linger} {
			i := cs.hidx[h]
			if i < 0 {
				if h == heapIdle || cs.closed {
					t.Fatalf("connection %d (closed %v) missing from heap %d", cs.c.ID, cs.closed, h)
				}
				continue
			}
			if q.cs[i].cs != cs || cs.lastSeen.Before(q.cs[i].key) || h == heapLinger && a.lingerKey(cs, cs.lastSeen).Before(q.cs[i].key) {
				t.Fatalf("connection %d: heap %d index or key wrong", cs.c.ID, h)
			}
			if i > 0 && q.cs[i].key.Before(q.cs[(i-1)/2].key) {
				t.Fatalf("heap %d out of order at %d", h, i)
			}
		}
	}
	if len(linger.cs) != closed {
		t.Fatalf("linger heap holds %d connections, %d closed in the table", len(linger.cs), closed)
	}
}

// randomStep moves the clock by a random step (now and then backwards or
// far ahead) and returns a random segment of one of ports client ports:
// SYN, FIN, RST or data from either side. Each side of a port keeps its
// sequence numbers (in seqs) and acknowledges what the other sent, so that
// connections close in full too; now and then a segment leaves a hole.
func randomStep(rng *rand.Rand, now time.Time, seqs map[uint32]uint32, ports int, payload func(port uint16) []byte) (time.Time, seg) {
	switch r := rng.IntN(100); {
	case r < 2:
		now = now.Add(-time.Duration(rng.IntN(2000)) * time.Millisecond)
	case r < 3:
		now = now.Add(time.Duration(rng.IntN(8000)) * time.Millisecond)
	default:
		now = now.Add(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	port := uint16(40000 + rng.IntN(ports))
	s := seg{clientPort: port, flags: "A", payload: payload(port)}
	switch r := rng.IntN(100); {
	case r < 6:
		s.flags, s.payload = "S", nil
	case r < 16:
		s.flags = "FA"
	case r < 18:
		s.flags = "RA"
	case r < 35:
		s.payload = nil
	}
	s.fromServer = s.flags != "S" && rng.IntN(2) == 0
	me, peer := uint32(port)<<1, uint32(port)<<1|1
	if s.fromServer {
		me, peer = peer, me
	}
	s.seq, s.ack = seqs[me], seqs[peer]
	n := uint32(len(s.payload))
	switch {
	case s.flags == "S":
		s.seq-- // the stream (new, or the same one) goes on at seqs[me]
	case strings.Contains(s.flags, "F"):
		n++
	}
	if rng.IntN(60) == 0 {
		n++ // a hole
	}
	seqs[me] += n
	return now, s
}

// TestGrace: a connection closed in full (both FINs acknowledged, every
// byte captured) is handed over Grace after its last packet, with a RST
// that follows within Grace in its timeline; one whose last FIN is not
// acknowledged, or one with a byte missing, waits for Linger.
func TestGrace(t *testing.T) {
	conv := conversation(t)
	whole := func(_ int, b []byte) [][]byte { return [][]byte{b} }
	o := Options{Linger: 5 * time.Second, Grace: time.Second}
	for _, c := range []struct {
		name   string
		end    func(segs []seg, fin [2]uint32) []seg
		wait   time.Duration
		events string // the close events, in order
	}{
		{"closed in full", func(segs []seg, fin [2]uint32) []seg {
			return append(segs, seg{fromServer: true, seq: fin[1], ack: fin[0] + 1, flags: "FA"}, seg{seq: fin[0] + 1, ack: fin[1] + 1, flags: "A"})
		}, time.Second, "client FIN, server FIN"},
		{"RST after the close", func(segs []seg, fin [2]uint32) []seg {
			return append(segs, seg{fromServer: true, seq: fin[1], ack: fin[0] + 1, flags: "FA"}, seg{seq: fin[0] + 1, ack: fin[1] + 1, flags: "A"}, seg{seq: fin[0] + 1, flags: "R"})
		}, time.Second, "client FIN, server FIN, client RST"},
		{"last FIN not acknowledged", func(segs []seg, fin [2]uint32) []seg {
			return append(segs, seg{fromServer: true, seq: fin[1], ack: fin[0] + 1, flags: "FA"})
		}, 5 * time.Second, "client FIN, server FIN"},
		{"a byte missing", func(segs []seg, fin [2]uint32) []seg {
			return append(segs, seg{fromServer: true, seq: fin[1] + 1, ack: fin[0] + 1, flags: "FA"}, seg{seq: fin[0] + 1, ack: fin[1] + 2, flags: "A"})
		}, 5 * time.Second, "client FIN, server FIN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			segs := stream{cut: whole}.segments(conv)
			last := segs[len(segs)-1] // the client's FIN
			segs = c.end(segs, [2]uint32{last.seq, last.ack})
			var got []*Conn
			a := NewAnalyzer(o, func(c *Conn) { got = append(got, c) })
			ts := t0
			for _, s := range segs {
				data := frame(t, s)
				a.Packet(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet)
				ts = ts.Add(10 * time.Millisecond)
			}
			end := ts.Add(-10 * time.Millisecond)
			// Frames of another connection move the clock on, 100 ms apart.
			other := seg{clientPort: 50000, seq: 1, flags: "S"}
			for len(got) == 0 && ts.Sub(end) < 10*time.Second {
				data := frame(t, other)
				a.Packet(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet)
				ts = ts.Add(100 * time.Millisecond)
			}
			if len(got) != 1 {
				t.Fatalf("%d connections handed over", len(got))
			}
			// Handed over at the first scan at least wait after its last
			// packet: scans come every Grace/2.
			if waited := ts.Add(-100 * time.Millisecond).Sub(end); waited < c.wait || waited > c.wait+o.Grace/2+100*time.Millisecond {
				t.Errorf("handed over %v after its last packet, want %v", waited, c.wait)
			}
			var closes []string
			for _, e := range got[0].Events {
				if e.Kind == EvFIN || e.Kind == EvRST {
					closes = append(closes, e.From.String()+" "+e.Kind.String())
				}
			}
			if s := strings.Join(closes, ", "); s != c.events || got[0].Ended != EndClosed {
				t.Errorf("close events %q, ended %q; want %q, closed", s, got[0].Ended, c.events)
			}
		})
	}
}

// TestTombQueue checks the ring of tombstones against a plain slice: random
// runs of pushes and expiries wrap it around, grow it and shrink it, and
// the tombstones leave in the order they came, each once.
func TestTombQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := NewAnalyzer(Options{Idle: time.Second}, nil)
	var model []tomb
	now := t0
	grew, shrank, wrapped := false, false, false
	for range 20000 {
		now = now.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
		a.now = now
		for range rng.IntN(8) {
			k := rng.Uint64()
			at := now.UnixMicro()
			a.tombs[k] = at
			n := len(a.tombQ.q)
			a.tombQ.push(k, at)
			grew = grew || n > 0 && len(a.tombQ.q) > n
			model = append(model, tomb{k, at})
		}
		wrapped = wrapped || a.tombQ.head+a.tombQ.size > len(a.tombQ.q)
		if rng.IntN(5) == 0 {
			if rng.IntN(50) == 0 {
				now = now.Add(900 * time.Millisecond) // most of them expire
			}
			a.now = now
			n := len(a.tombQ.q)
			a.expireTombs()
			shrank = shrank || len(a.tombQ.q) < n
			cutoff := now.Add(-time.Second).UnixMicro()
			for len(model) > 0 && model[0].at <= cutoff {
				if _, ok := a.tombs[model[0].key]; ok {
					t.Fatalf("tombstone %x expired but still in the map", model[0].key)
				}
				model = model[1:]
			}
		}
		q := &a.tombQ
		if q.size != len(model) {
			t.Fatalf("ring holds %d, want %d", q.size, len(model))
		}
		for i, m := range model {
			if got := q.q[(q.head+i)&(len(q.q)-1)]; got != m {
				t.Fatalf("entry %d: %v, want %v", i, got, m)
			}
		}
	}
	if !grew || !shrank || !wrapped {
		t.Fatalf("grew %v, shrank %v, wrapped %v: the test did not cover the ring", grew, shrank, wrapped)
	}
}

// TestTimeWait: a closed connection's late segments are counted as late,
// not taken for a new connection, for TimeWait (Linux's TIME_WAIT by
// default) after it was handed over; later, one is a connection picked up
// mid-stream, as a host that has forgotten the connection sees it.
func TestTimeWait(t *testing.T) {
	closeSegs := []seg{
		{seq: clientISN, flags: "S"},
		{fromServer: true, seq: serverISN, ack: clientISN + 1, flags: "SA"},
		{seq: clientISN + 1, ack: serverISN + 1, flags: "A"},
		{seq: clientISN + 1, ack: serverISN + 1, flags: "FA"},
		{fromServer: true, seq: serverISN + 1, ack: clientISN + 2, flags: "FA"},
		{seq: clientISN + 2, ack: serverISN + 2, flags: "A"},
	}
	lateACK := seg{seq: clientISN + 2, ack: serverISN + 2, flags: "A"}
	for _, tc := range []struct {
		o     Options
		after time.Duration // when the late ACK comes, after the close
		late  bool
	}{
		{Options{}, 50 * time.Second, true},
		{Options{}, 70 * time.Second, false},
		{Options{TimeWait: 4 * time.Minute}, 3 * time.Minute, true},
		{Options{Idle: 20 * time.Second, TimeWait: time.Minute}, 30 * time.Second, false}, // at most Idle
	} {
		var conns []*Conn
		a := NewAnalyzer(tc.o, func(c *Conn) { conns = append(conns, c) })
		at := t0
		send := func(s seg) {
			data := frame(t, s)
			a.Packet(data, gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet)
		}
		for _, s := range closeSegs {
			send(s)
			at = at.Add(time.Millisecond)
		}
		// Packets of other flows move the clock on (scans hand the
		// connection over and expire tombstones).
		other := seg{seq: 1, ack: 1, flags: "A", clientPort: 50000}
		for range tc.after / time.Second {
			at = at.Add(time.Second)
			send(other)
		}
		send(lateACK)
		a.Flush()
		mine := 0
		for _, c := range conns {
			if c.Client.Port() == clientAddr.Port() || c.Server.Port() == clientAddr.Port() {
				mine++
			}
		}
		if late := a.Stats().LateSegments == 1; late != tc.late || mine != map[bool]int{true: 1, false: 2}[tc.late] {
			t.Errorf("%+v, ACK %v after the close: late segments %d, connections of the flow %d", tc.o, tc.after, a.Stats().LateSegments, mine)
		}
	}
}
