package dissect

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/bigcap"
)

// The benchmarks feed the Analyzer the frames of a capture made by
// internal/bigcap, held in memory: they measure dissect alone (decode,
// reassembly, TLS framing, handshake and certificate parsing), not file
// reading or diagnosis. The end-to-end benchmarks are in cmd/tlstriage.

// benchCapture is a capture made by bigcap, split into frames.
type benchCapture struct {
	frames   [][]byte
	cis      []gopacket.CaptureInfo
	bytes    int64 // file size
	sessions int
}

var benchCaptures sync.Map // bigcap.Kind -> func() (*benchCapture, error)

func loadBenchCapture(b *testing.B, kind bigcap.Kind, sessions int) *benchCapture {
	b.Helper()
	f, _ := benchCaptures.LoadOrStore(kind, sync.OnceValues(func() (*benchCapture, error) {
		ts, err := bigcap.NewTemplates(kind, 0)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		st, err := ts.Write(&buf, bigcap.Options{Sessions: sessions, Seed: 1})
		if err != nil {
			return nil, err
		}
		return splitPcap(buf.Bytes(), st.Sessions), nil
	}))
	bc, err := f.(func() (*benchCapture, error))()
	if err != nil {
		b.Fatal(err)
	}
	return bc
}

// splitPcap splits a little-endian microsecond pcap file into frames.
func splitPcap(file []byte, sessions int) *benchCapture {
	bc := &benchCapture{bytes: int64(len(file)), sessions: sessions}
	b := file[24:]
	for len(b) >= 16 {
		sec, usec := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		n := int(binary.LittleEndian.Uint32(b[8:]))
		bc.frames = append(bc.frames, b[16:16+n])
		bc.cis = append(bc.cis, gopacket.CaptureInfo{Timestamp: time.Unix(int64(sec), int64(usec)*1000), CaptureLength: n, Length: n})
		b = b[16+n:]
	}
	return bc
}

func benchmarkAnalyzer(b *testing.B, kind bigcap.Kind, sessions int) {
	bc := loadBenchCapture(b, kind, sessions)
	b.SetBytes(bc.bytes)
	b.ReportAllocs()
	emitted := 0
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		an := NewAnalyzer(Options{}, func(c *Conn) { emitted++ })
		for i, f := range bc.frames {
			an.Packet(f, bc.cis[i], layers.LinkTypeEthernet)
		}
		an.Flush()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	if emitted != b.N*bc.sessions {
		b.Fatalf("%d connections emitted, want %d", emitted, b.N*bc.sessions)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*bc.sessions)/sec, "handshakes/s")
	b.ReportMetric(float64(b.N*len(bc.frames))/sec, "packets/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*len(bc.frames)), "allocs/packet")
	// CPU time (all threads, the garbage collector's included) says more
	// than wall time on a machine shared with other work.
	b.ReportMetric(float64(b.N*bc.sessions)/cpu.Seconds(), "handshakes/cpu-s")
	b.ReportMetric(float64(bc.bytes*int64(b.N))/1e6/cpu.Seconds(), "MB/cpu-s")
}

// cpuTime is the CPU time used by the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAnalyzerBulk: 200 sessions of about 100 KB (20 MB).
func BenchmarkAnalyzerBulk(b *testing.B) { benchmarkAnalyzer(b, bigcap.Bulk, 200) }

// BenchmarkAnalyzerHandshake: 5,000 short connections (about 30 MB).
func BenchmarkAnalyzerHandshake(b *testing.B) { benchmarkAnalyzer(b, bigcap.Handshake, 5000) }

// TestBulkAllocs checks that bulk data costs no allocation: the
// allocations of a bulk capture are those of its handshakes, whatever the
// size of the transfers.
func TestBulkAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("records handshakes")
	}
	allocs := func(bulk int) float64 {
		ts, err := bigcap.NewTemplates(bigcap.Bulk, bulk)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		st, err := ts.Write(&buf, bigcap.Options{Sessions: 100, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		bc := splitPcap(buf.Bytes(), st.Sessions)
		return testing.AllocsPerRun(1, func() {
			an := NewAnalyzer(Options{}, func(c *Conn) {})
			for i, f := range bc.frames {
				an.Packet(f, bc.cis[i], layers.LinkTypeEthernet)
			}
			an.Flush()
		})
	}
	small, big := allocs(16<<10), allocs(512<<10)
	// 32 times the bulk data (over 30,000 more packets) may cost a few
	// allocations per connection (a larger event slice), not per packet.
	if big > small*1.2+100 {
		t.Errorf("100 sessions: %.0f allocations with 16 KiB of bulk data each, %.0f with 512 KiB: bulk data allocates", small, big)
	}
}

// benchmarkSharded is benchmarkAnalyzer on a Sharded of n workers.
func benchmarkSharded(b *testing.B, kind bigcap.Kind, sessions, n int) {
	bc := loadBenchCapture(b, kind, sessions)
	b.SetBytes(bc.bytes)
	emitted, pressures, batches := 0, 0, 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		s := NewSharded(Options{}, n, nil, func(c *Conn, _ any) { emitted++ })
		for i, f := range bc.frames {
			s.Packet(f, bc.cis[i], layers.LinkTypeEthernet)
		}
		s.Flush()
		s.Close()
		pressures += s.pressures
		for _, sh := range s.shards {
			batches += sh.shipped
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if emitted != b.N*bc.sessions {
		b.Fatalf("%d connections emitted, want %d", emitted, b.N*bc.sessions)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*len(bc.frames))/sec, "packets/s")
	b.ReportMetric(float64(bc.bytes*int64(b.N))/1e6/cpu.Seconds(), "MB/cpu-s")
	b.ReportMetric(float64(pressures)/float64(b.N), "waits/op")
	b.ReportMetric(float64(b.N*len(bc.frames))/float64(batches), "ops/batch")
}

// BenchmarkShardedBulk: BenchmarkAnalyzerBulk on 2 workers.
func BenchmarkShardedBulk(b *testing.B) { benchmarkSharded(b, bigcap.Bulk, 200, 2) }

// BenchmarkShardedHandshake: BenchmarkAnalyzerHandshake on 2 workers.
func BenchmarkShardedHandshake(b *testing.B) { benchmarkSharded(b, bigcap.Handshake, 5000, 2) }
