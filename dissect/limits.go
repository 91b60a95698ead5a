package dissect

import "slices"

// Memory bounds beyond the per-connection caps (STYLE habit 20): the flow
// table is evicted by least recent activity when full, and the bytes
// buffered by all connections together (out-of-order segments, record
// bodies, incomplete handshake messages) are capped by Options.MaxBuffered:
// past it, the connections holding the most are handed over early.

// pendingOverhead is what one buffered out-of-order segment costs beyond
// its bytes (the pending entry, the allocation). It is charged against
// MaxPending so that a stream cut into 1-byte segments cannot hold more
// entries than bytes would allow, nor make draining them quadratic.
const pendingOverhead = 64

// bodyKeep is the largest record body buffer a direction keeps between
// records; a larger one is released and grown again when needed, so that an
// idle connection holds little.
const bodyKeep = 1 << 10

// trim releases the buffers a direction does not need between records.
func (t *tlsStream) trim(bodies *bodyPool) {
	if t.need == 0 && cap(t.body) > bodyKeep {
		bodies.put(t.body)
		t.body = nil
	}
	if t.hs != nil && t.hs.Buffered() == 0 && !t.hsFailed {
		t.hs = nil
	}
	if t.dec != nil && t.dec.hs != nil && t.dec.hs.Buffered() == 0 && !t.dec.hsFailed {
		t.dec.hs = nil
	}
}

// holding is how many bytes cs buffers, as charged against MaxBuffered.
func (cs *connState) holding() int {
	n := 0
	for i := range cs.dirs {
		d := &cs.dirs[i]
		n += d.pendN + len(d.pend)*pendingOverhead + cap(d.tls.body) + len(d.tls.v2)
		if d.tls.hs != nil {
			n += d.tls.hs.Buffered()
		}
		if d.tls.dec != nil && d.tls.dec.hs != nil {
			n += d.tls.dec.hs.Buffered() // decrypted handshake bytes (decrypt.go)
		}
	}
	return n
}

// account updates the bytes cs buffers after a segment, and sheds
// connections when all of them together hold more than MaxBuffered.
func (a *Analyzer) account(cs *connState) {
	cs.dirs[Client].tls.trim(&a.bodies)
	cs.dirs[Server].tls.trim(&a.bodies)
	h := cs.holding()
	a.held += h - cs.held
	cs.held = h
	if a.held > a.o.MaxBuffered {
		a.shed()
	}
}

// shed hands over the connections buffering the most until the total is
// back under three quarters of MaxBuffered.
func (a *Analyzer) shed() {
	var big []*connState
	for _, cs := range a.conns {
		if cs.held > 0 {
			big = append(big, cs)
		}
	}
	slices.SortFunc(big, func(x, y *connState) int {
		if x.held != y.held {
			return y.held - x.held
		}
		return x.c.ID - y.c.ID
	})
	goal := a.o.MaxBuffered / 4 * 3
	var victims []*connState
	for _, cs := range big {
		if a.held <= goal {
			break
		}
		a.held -= cs.held
		cs.held = 0
		a.forget(cs)
		cs.c.Ended = EndEvicted
		cs.c.Anomalies = append(cs.c.Anomalies, Anomaly{Code: "limit_reached", Frame: a.frame, Detail: "buffer memory full: connection handed over before its end"})
		a.stats.limit("buffer memory")
		a.stats.Evicted++
		victims = append(victims, cs)
	}
	a.finish(victims)
}

// evict makes room in a full flow table by handing over the least recently
// active tenth of it, taken from the idle heap (expiry.go) rather than by
// walking and sorting the table: the flow table may hold tens of thousands
// of connections and a flood fills it again and again. Heap keys are lower
// bounds of the last activity; a connection active since its key is put
// back with its real one, as expiry does.
func (a *Analyzer) evict() {
	q := &a.heaps[heapIdle]
	n := len(a.conns)/10 + 1
	victims := make([]*connState, 0, n)
	for len(victims) < n && len(q.cs) > 0 {
		cs, key := q.min()
		if cs.lastSeen.After(key) {
			q.rekey(cs, cs.lastSeen)
			continue
		}
		q.remove(cs)
		victims = append(victims, cs)
	}
	for _, cs := range victims {
		a.forget(cs)
		cs.c.Ended = EndEvicted
		cs.c.Anomalies = append(cs.c.Anomalies, Anomaly{Code: "limit_reached", Detail: "flow table full: connection evicted before its end"})
		a.stats.limit("flow table")
		a.stats.Evicted++
	}
	a.finish(victims)
}

// bodyMax is the largest record body buffer a direction can hold: TLS
// bodies come from bodyPool.get(n) with n at most tlsparse.MaxRecordLen
// (2^14+2048), which gives 32 KiB; SSL 2.0 bodies, header included, from
// get(3+0x7fff), made at that size (beyond the pool's classes); a buffer
// is reused only when it is large enough, so none grows beyond these.
const bodyMax = 3 + 0x7fff

// growthBound is an upper bound of what one segment, with n bytes of
// payload, can add to Analyzer.held, apart from the record body buffers
// (connGrowth); Sharded checks its caps with them before it hands the
// segment to a worker. The proof, from holding():
//
//   - A segment changes only its connection's holding; finishing a
//     connection (port reuse), evicting and shedding lower held.
//   - Without payload, bytes missing (snapshot length), FIN or RST, no
//     byte is delivered: payload and closeFlag are not called, and
//     ackedHoles needs payload, FIN or RST. holding can only fall (trim).
//     growthBound is 0 for them; it reports whether the segment may grow
//     held at all.
//   - Otherwise: the bytes charged one for one (pending segments, v2,
//     hs, dec.hs) came from segments. The segment's n bytes wait in pend
//     (one entry more: pendingOverhead) or are delivered; bytes delivered
//     from pend were charged there already. A delivered byte lies in at
//     most one of them at a time: v2 is emptied when its record is
//     complete (the rest is delivered on), hs takes the bodies of
//     plaintext records, dec.hs the plaintext of decrypted ones (never
//     longer than the record). Hence n + pendingOverhead.
//
// connGrowth bounds the rest, for any run of segments of one connection
// (Sharded counts it once per connection and batch):
//
//   - The record body buffers of the two directions (the peer's too:
//     ackedHoles delivers its waiting bytes) hold at most bodyMax each,
//     whatever the segments.
//   - Bytes charged by the body's capacity rather than one for one may
//     move to hs when their record is complete: those delivered before
//     the run are in the body of the one record in progress per
//     direction, and count only if it is kept (its capacity at most
//     bodyKeep; a larger body is released by trim); bytes delivered
//     during the run were counted above.
//   - Bytes never charged before: the 8 first bytes of a direction
//     (tlsStream.first), replayed through the framer once.
func growthBound(s *segment) (int, bool) {
	if len(s.payload) == 0 && s.missing == 0 && s.flags&(FlagFIN|FlagRST) == 0 {
		return 0, false
	}
	return len(s.payload) + pendingOverhead, true
}

// connGrowth is what the body buffers of a connection can add to held
// over any run of its segments (growthBound).
const connGrowth = 2 * (bodyMax + bodyKeep + 8)
