package dissect

import (
	"math/rand/v2"
	"slices"
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
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		o := Options{Idle: 3 * time.Second, Linger: time.Second, MaxConns: 40 + int(seed)*10}
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
				if a.now.Sub(c.LastTime) < a.o.Linger {
					t.Fatalf("seed %d: connection %d handed over closed %v after its last packet", seed, c.ID, a.now.Sub(c.LastTime))
				}
			case "idle":
				if a.now.Sub(c.LastTime) < a.o.Idle {
					t.Fatalf("seed %d: connection %d handed over idle %v after its last packet", seed, c.ID, a.now.Sub(c.LastTime))
				}
			}
		})
		now := t0
		seqs := map[uint16]uint32{}
		for i := range 4000 {
			var s seg
			now, s = randomStep(rng, now, seqs, 150, func(uint16) []byte { return []byte("x") })
			data := frame(t, s)
			cur = s
			before := a.lastScan
			a.Packet(data, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet)
			if !a.lastScan.Equal(before) { // this frame started with a scan
				for _, cs := range a.conns {
					if cs.c.LastFrame == a.frame {
						continue // this frame's, after the scan
					}
					if (cs.closed && a.now.Sub(cs.lastSeen) >= a.o.Linger) || a.now.Sub(cs.lastSeen) >= a.o.Idle {
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
		if len(a.heaps[heapIdle].cs)+len(a.heaps[heapLinger].cs)+len(a.tombs) != 0 {
			t.Fatalf("seed %d: heaps or tombstones left after Flush", seed)
		}
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
			if q.cs[i] != cs || cs.lastSeen.Before(cs.hkey[h]) {
				t.Fatalf("connection %d: heap %d index or key wrong", cs.c.ID, h)
			}
			if i > 0 && q.cs[i].hkey[h].Before(q.cs[(i-1)/2].hkey[h]) {
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
// SYN, FIN, RST or data from either side, sequence numbers kept per port.
func randomStep(rng *rand.Rand, now time.Time, seqs map[uint16]uint32, ports int, payload func(port uint16) []byte) (time.Time, seg) {
	switch r := rng.IntN(100); {
	case r < 3:
		now = now.Add(-time.Duration(rng.IntN(2000)) * time.Millisecond)
	case r < 6:
		now = now.Add(time.Duration(rng.IntN(8000)) * time.Millisecond)
	default:
		now = now.Add(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	port := uint16(40000 + rng.IntN(ports))
	s := seg{clientPort: port, seq: seqs[port], flags: "A", payload: payload(port)}
	switch r := rng.IntN(100); {
	case r < 8:
		s.flags, s.payload = "S", nil
	case r < 14:
		s.flags = "FA"
	case r < 17:
		s.flags = "RA"
	case r < 30:
		s.fromServer = true
	}
	seqs[port] += uint32(len(s.payload)) + 1
	return now, s
}
