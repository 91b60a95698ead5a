package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcHeapGoal is the heap size the collector may let the heap grow to
// before a cycle, while that is more than twice the live heap. The
// collector's default (GOGC=100) starts a cycle each time the heap has
// doubled: with the few megabytes most captures keep live, a cycle every
// few megabytes allocated, each one taking a core's share (on two cores,
// half the second one when -j keeps both busy). Peak RSS stays within
// about 64 MiB (issue #5).
const gcHeapGoal = 32 << 20

// tuneGC sets the collector's percentage after every cycle so that the
// next one starts at gcHeapGoal, or at twice the live heap when that is
// larger (GOGC=100 then, the default), and the memory limit just above
// that goal (memoryLimit). It does nothing when the user set GOGC or
// GOMEMLIMIT.
// (Once per process: main calls it.)
var tuneGC = sync.OnceFunc(func() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	t := &gcTuner{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/globals:bytes"}, {Name: "/gc/scan/stack:bytes"}}}
	t.arm()
})

type gcTuner struct {
	sample []metrics.Sample
}

// arm runs tune after the next collection: the finalizer of an object
// nothing points to runs once a cycle has found it unreachable.
func (t *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{t: t}, func(s *gcSentinel) { s.t.tune() })
}

type gcSentinel struct {
	t *gcTuner
	_ [16]byte // not a tiny allocation: those are batched, and finalized late
}

func (t *gcTuner) tune() {
	metrics.Read(t.sample)
	var v [3]int64 // live heap, globals, stacks
	for i, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s.Value.Uint64())
		}
	}
	live, roots := v[0], v[0]+v[1]+v[2]
	pct := gcPercent(live, roots)
	debug.SetGCPercent(pct)
	debug.SetMemoryLimit(memoryLimit(live + roots*int64(pct)/100))
	t.arm()
}

// memoryLimit is the memory limit set with a heap goal: the goal, and a
// little room for what the runtime holds beside the live objects (the
// collector's metadata, stacks, spans partly used). The limit makes the
// scavenger hand back to the system the pages the heap left idle, which it
// would otherwise keep (5 to 8 MiB of the peak RSS on hs-200k); it makes
// the collector run a little before its goal too (62 cycles instead of 47
// on hs-200k, for the same instruction count within 0.3%). It follows the
// goal after every cycle, so a heap that grows (a flood) raises it: the
// limit cannot hold the collector at a heap it has outgrown.
func memoryLimit(goal int64) int64 {
	return goal + goal/32 + 4<<20
}

// gcPercent is the percentage that makes the collector's goal, live +
// roots*pct/100 (roots: the live heap, globals and stacks), gcHeapGoal, or
// the default when the default's goal is larger.
func gcPercent(live, roots int64) int {
	if live <= 0 || roots <= 0 || live+roots >= gcHeapGoal {
		return 100
	}
	return int(100 * (gcHeapGoal - live) / roots)
}
