package main

import "testing"

// TestGCPercent: the collector's goal is gcHeapGoal while the live heap is
// small, and the default's (twice the roots) once that is larger.
func TestGCPercent(t *testing.T) {
	for _, tc := range []struct{ live, roots int64 }{
		{1 << 20, 6 << 20}, {4 << 20, 9 << 20}, {10 << 20, 15 << 20}, {15 << 20, 17 << 20},
	} {
		pct := gcPercent(tc.live, tc.roots)
		goal := tc.live + tc.roots*int64(pct)/100
		if pct < 100 || goal < gcHeapGoal-gcHeapGoal/100 || goal > gcHeapGoal {
			t.Errorf("live %d, roots %d: GOGC %d, goal %d; want at least 100 and a goal of %d", tc.live, tc.roots, pct, goal, gcHeapGoal)
		}
	}
	for _, tc := range []struct{ live, roots int64 }{{0, 0}, {20 << 20, 25 << 20}, {200 << 20, 205 << 20}} {
		if pct := gcPercent(tc.live, tc.roots); pct != 100 {
			t.Errorf("live %d, roots %d: GOGC %d, want the default 100", tc.live, tc.roots, pct)
		}
	}
}

// TestMemoryLimit: the memory limit is above its heap goal by room for the
// runtime's own memory (more for a larger heap), so that the collector
// still runs at its goal, not before.
func TestMemoryLimit(t *testing.T) {
	prev := int64(0)
	for _, goal := range []int64{gcHeapGoal, 50 << 20, 200 << 20, 2 << 30} {
		limit := memoryLimit(goal)
		if limit < goal+4<<20 || limit <= prev {
			t.Errorf("goal %d MiB: limit %d MiB", goal>>20, limit>>20)
		}
		prev = limit
	}
}
