package dissect

import (
	"hash/maphash"
	"time"
)

// Connections are handed over when idle (Options.Idle) or, once closed,
// when Linger has passed since their last packet; closed connections leave
// a tombstone for TimeWait so that their late segments are not taken for
// new connections. Finding them must not cost a walk over the flow table (or
// over the tombstones, which outnumber the open connections on a busy
// link) every Linger/2: two min-heaps order the connections by their last
// activity, one for all of them (Idle) and one for the closed ones
// (Linger), and the tombstones are kept in the order they were made.
//
// A heap key is a lower bound of the connection's last activity: a packet
// does not touch the heaps unless its timestamp is earlier than the key (a
// capture whose clock steps back). When a key comes due the connection is
// judged on its real last activity, and put back with that key if it is not
// due after all. The set handed over at each scan is exactly the set of
// connections the condition of scan selects.

// Heaps of connections.
const (
	heapIdle   = 0 // every connection in the table, for Idle
	heapLinger = 1 // closed connections, for Linger
)

// connHeap is a min-heap of connections by their key; connState.hidx is the
// position of a connection in each heap (-1 when not in it). The keys are
// kept beside the pointers, so that sifting compares without reaching into
// the connections (a cache miss each on a table of thousands).
type connHeap struct {
	h  int // which heap: heapIdle or heapLinger
	cs []heapEntry
}

type heapEntry struct {
	key time.Time
	cs  *connState
}

// less orders by key, then by ID: the order of the heap's minima (which
// connections evict takes) depends only on each connection's key and
// ID, not on the order they were pushed in, so that an Analyzer that
// absorbed others (Sharded) takes the ones a single Analyzer would. IDs
// are compared only between equal keys, rare but for captures whose clock
// stands still.
func (q *connHeap) less(i, j int) bool {
	x, y := &q.cs[i], &q.cs[j]
	if c := x.key.Compare(y.key); c != 0 {
		return c < 0
	}
	return x.cs.c.ID < y.cs.c.ID
}

func (q *connHeap) swap(i, j int) {
	q.cs[i], q.cs[j] = q.cs[j], q.cs[i]
	q.cs[i].cs.hidx[q.h] = i
	q.cs[j].cs.hidx[q.h] = j
}

func (q *connHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		j = i
	}
}

// down sifts the entry at i0 down; it reports whether it moved.
func (q *connHeap) down(i0 int) bool {
	i, n := i0, len(q.cs)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && q.less(r, j) {
			j = r
		}
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		i = j
	}
	return i > i0
}

// min is the connection with the earliest key and its key; q is not empty.
func (q *connHeap) min() (*connState, time.Time) { return q.cs[0].cs, q.cs[0].key }

// push adds cs with key t.
func (q *connHeap) push(cs *connState, t time.Time) {
	cs.hidx[q.h] = len(q.cs)
	q.cs = append(q.cs, heapEntry{t, cs})
	q.up(len(q.cs) - 1)
}

// remove takes cs out of the heap, if it is in it.
func (q *connHeap) remove(cs *connState) {
	i := cs.hidx[q.h]
	if i < 0 {
		return
	}
	n := len(q.cs) - 1
	if i != n {
		q.swap(i, n)
	}
	q.cs[n] = heapEntry{}
	q.cs = q.cs[:n]
	cs.hidx[q.h] = -1
	if i != n && !q.down(i) {
		q.up(i)
	}
}

// lower moves cs's key down to t when t is earlier.
func (q *connHeap) lower(cs *connState, t time.Time) {
	if i := cs.hidx[q.h]; i >= 0 && t.Before(q.cs[i].key) {
		q.cs[i].key = t
		q.up(i)
	}
}

// rekey sets cs's key to t, later than its key.
func (q *connHeap) rekey(cs *connState, t time.Time) {
	i := cs.hidx[q.h]
	q.cs[i].key = t
	q.down(i)
}

func (q *connHeap) reset() {
	for _, e := range q.cs {
		e.cs.hidx[q.h] = -1
	}
	clear(q.cs)
	q.cs = q.cs[:0]
}

// seen notes a packet of cs at ts earlier than its last activity (tcp
// calls it only then: a key is at most the last activity, lingerKey's for
// a closed connection, so a later packet cannot lower it).
func (a *Analyzer) seen(cs *connState, ts time.Time) {
	a.heaps[heapIdle].lower(cs, ts)
	a.heaps[heapLinger].lower(cs, a.lingerKey(cs, ts))
}

// lingerKey is the key in the Linger heap of cs last active at t: t, or
// earlier by the difference for one closed in full, which waits Grace
// rather than Linger (the heap is ordered by when they come due).
func (a *Analyzer) lingerKey(cs *connState, t time.Time) time.Time {
	if cs.done {
		return t.Add(a.o.Grace - a.o.Linger)
	}
	return t
}

// closing puts cs, just closed, in the Linger heap, and moves its events
// into an array of their size for the wait (trimEvents).
func (a *Analyzer) closing(cs *connState) {
	if cs.closed && cs.hidx[heapLinger] < 0 && cs.hidx[heapIdle] >= 0 {
		a.heaps[heapLinger].push(cs, cs.lastSeen)
		a.trimEvents(cs.c)
	}
}

// due collects the connections scan hands over, marked with why they end,
// and takes them out of both heaps.
func (a *Analyzer) due(done []*connState) []*connState {
	for h, wait := range [2]time.Duration{a.o.Idle, a.o.Linger} {
		q := &a.heaps[h]
		for len(q.cs) > 0 {
			cs, key := q.min()
			if a.now.Sub(key) < wait {
				break
			}
			switch {
			case cs.closed && !a.now.Before(a.lingerKey(cs, cs.lastSeen).Add(a.o.Linger)):
				cs.c.Ended = EndClosed
			case a.now.Sub(cs.lastSeen) >= a.o.Idle:
				cs.c.Ended = EndIdle
			default:
				// Active since its key: due later.
				if h == heapLinger {
					q.rekey(cs, a.lingerKey(cs, cs.lastSeen))
				} else {
					q.rekey(cs, cs.lastSeen)
				}
				continue
			}
			a.heaps[heapIdle].remove(cs)
			a.heaps[heapLinger].remove(cs)
			done = append(done, cs)
		}
	}
	return done
}

// tombKey is the key of a tombstone: a hash of the flow key, with the
// Analyzer's random seed. Tombstones outnumber live connections on a busy
// link (a closed connection keeps one for TimeWait), and a flow key with its
// two addresses is 64 bytes; the hash is 8. Two flow keys with the same
// hash are not to be expected (one chance in 2^64 per lookup, and the seed
// is random, so it cannot be forged): one would make segments of a
// connection picked up mid-stream count as late.
func (a *Analyzer) tombKey(k flowKey) uint64 { return maphash.Comparable(a.seed, k) }

// tomb is a tombstone in the order tombstones were made. Times are in
// microseconds since 1970 (16 bytes a tombstone, not 32: there are as many
// as connections closed within TimeWait).
type tomb struct {
	key uint64
	at  int64
}

// tombQueue is a FIFO of tombstones, a ring whose size is a power of two:
// it grows (doubling, one copy) only when full, so a steady stream of
// connections closing and tombstones expiring allocates nothing.
// Analyzer.tombs maps a key to the time of its latest one, so an entry
// whose time differs is stale.
type tombQueue struct {
	q          []tomb
	head, size int
}

func (t *tombQueue) push(k uint64, at int64) {
	if t.size == len(t.q) {
		q := make([]tomb, max(2*len(t.q), 1024))
		n := copy(q, t.q[t.head:])
		copy(q[n:], t.q[:t.head])
		t.q, t.head = q, 0
	}
	t.q[(t.head+t.size)&(len(t.q)-1)] = tomb{k, at}
	t.size++
}

// expire removes the tombstones older than TimeWait. Tombstones are made
// at Analyzer.now, which never goes back: the queue is in time order.
func (a *Analyzer) expireTombs() {
	t := &a.tombQ
	cutoff := a.now.Add(-a.o.TimeWait).UnixMicro()
	for t.size > 0 {
		e := t.q[t.head]
		if e.at > cutoff {
			break
		}
		if at, ok := a.tombs[e.key]; ok && at == e.at {
			delete(a.tombs, e.key)
		}
		t.head = (t.head + 1) & (len(t.q) - 1)
		t.size--
	}
	// A ring four times larger than it needs after a burst is halved.
	if len(t.q) > 1024 && t.size < len(t.q)/4 {
		q := make([]tomb, len(t.q)/2)
		for i := range t.size {
			q[i] = t.q[(t.head+i)&(len(t.q)-1)]
		}
		t.q, t.head = q, 0
	}
}

func (t *tombQueue) reset() {
	t.head, t.size = 0, 0
}
