package dissect

// absorb moves every connection, tombstone and count of b into a, as if a
// had analysed b's frames too: Sharded collapses its workers into one
// (parallel.go) when a cap comes near. a and b analysed disjoint sets of
// flows of the same input, up to the same frame, with the same Options and
// tombKey seed; b is left empty. Field by field:
//
//   - conns: b's connections join a's (their flow keys are b's own); each
//     Conn's files is a's list, equal to b's (both had the same files).
//   - recent: a lookup cache, emptied in both.
//   - heaps: b's entries join a's with their keys; connHeap.less breaks
//     ties by ID, so the heap's order is that of a single Analyzer
//     whatever the history of its layout.
//   - tombs, tombQ: b's tombstones join a's (same seed, so the same keys
//     a single Analyzer has); the queues are merged by time, as one
//     Analyzer made them (at its clock, which never goes back).
//   - held: summed; each connection keeps its own.
//   - stats: the counters of the work (those Sharded.Stats sums) are
//     summed into a's; b's start again from zero.
//   - o, emit, onNew, seed, events, bodies (pools: any buffer serves any
//     connection), file, files, fileNo, frame, fileStart, clock, seg,
//     nextID: a's own, unchanged. The workers of a Sharded set the frame,
//     file and time of each op from the op; they number connections by
//     their seq (the ID a single Analyzer gives is the rank of that), so
//     IDs stay unique and in the same order.
func (a *Analyzer) absorb(b *Analyzer) {
	for key, cs := range b.conns {
		cs.c.files = a.files
		a.conns[key] = cs
	}
	clear(b.conns)
	a.recent, b.recent = [2]*connState{}, [2]*connState{}
	for h := range a.heaps {
		q, r := &a.heaps[h], &b.heaps[h]
		for _, e := range r.cs {
			q.push(e.cs, e.key)
		}
		clear(r.cs)
		r.cs = r.cs[:0]
	}
	for k, at := range b.tombs {
		a.tombs[k] = at
	}
	clear(b.tombs)
	a.tombQ.merge(&b.tombQ)
	b.tombQ.reset()
	a.held += b.held
	b.held = 0
	a.stats.addWork(b.stats)
	b.stats = Stats{} // (Sharded.Stats reads only the work counters of a worker)
}

// merge adds the tombstones of u to t, in time order.
func (t *tombQueue) merge(u *tombQueue) {
	all := make([]tomb, 0, t.size+u.size)
	i, j := 0, 0
	at := func(q *tombQueue, k int) tomb { return q.q[(q.head+k)&(len(q.q)-1)] }
	for i < t.size || j < u.size {
		if j == u.size || i < t.size && at(t, i).at <= at(u, j).at {
			all = append(all, at(t, i))
			i++
		} else {
			all = append(all, at(u, j))
			j++
		}
	}
	t.reset()
	for _, e := range all {
		t.push(e.key, e.at)
	}
}

// addWork adds w's counts of the work on connections (those an Analyzer
// working for a Sharded keeps) to s.
func (s *Stats) addWork(w Stats) {
	s.TCPConns += w.TCPConns
	s.TLSConns += w.TLSConns
	s.Retransmits += w.Retransmits
	s.Gaps += w.Gaps
	s.Evicted += w.Evicted
	s.LateSegments += w.LateSegments
	s.Refused += w.Refused
	for k, v := range w.LimitsReached {
		if s.LimitsReached == nil {
			s.LimitsReached = map[string]int64{}
		}
		s.LimitsReached[k] += v
	}
}
