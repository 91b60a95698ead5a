package dissect

// eventPool keeps event arrays for reuse: those a connection outgrows (of
// 1 and 4 events: a TLS connection grows 1, 4, 22), those of 22 a closed
// connection moves out of (to 16: trimEvents) and, with
// Options.ReuseEvents, those of connections handed over, once the consumer
// is done with them. A TLS connection's events take three allocations and
// 2.2 KB otherwise. The pool is the Analyzer's, used on its goroutine only;
// it holds at most eventPoolMax arrays of each size.
type eventPool struct {
	lists [4][][]Event // by capacity: 1, 4, eventsClosed, eventsGrowTo
}

const eventPoolMax = 256

// noPools turns the pools off (tests compare the analysis with and without
// them).
var noPools bool

func poolClass(n int) int {
	switch n {
	case 1:
		return 0
	case 4:
		return 1
	case eventsClosed:
		return 2
	case eventsGrowTo:
		return 3
	}
	return -1
}

// get returns an empty array of capacity n (1, 4, eventsClosed or
// eventsGrowTo).
func (p *eventPool) get(n int) []Event {
	if c := poolClass(n); c >= 0 && !noPools {
		if l := p.lists[c]; len(l) > 0 {
			s := l[len(l)-1]
			l[len(l)-1] = nil
			p.lists[c] = l[:len(l)-1]
			return s
		}
	}
	return make([]Event, 0, n)
}

// put takes back s, which nothing uses any more. Its events are cleared
// (they hold strings the collector would otherwise keep).
func (p *eventPool) put(s []Event) {
	c := poolClass(cap(s))
	if c < 0 || len(p.lists[c]) >= eventPoolMax || noPools {
		return
	}
	s = s[:cap(s)]
	clear(s)
	p.lists[c] = append(p.lists[c], s[:0])
}

// bodyPool keeps the buffers of record bodies that span segments, which a
// direction drops once its record is done (those over bodyKeep) or when
// its connection is handed over, for the records of other connections:
// rounded up to a power of two from 2 KiB to 32 KiB (a record's body is at
// most 16 KiB plus its protection), bodyPoolMax of each. Nothing keeps a
// body's bytes past its record: the messages the Conn keeps are copied,
// certificates too (CertCache), decrypted ones go through their own buffer.
type bodyPool struct {
	lists [5][][]byte
}

const (
	bodyPoolMin = 2 << 10
	bodyPoolMax = 16
)

// bodyClass is the class of a buffer of n bytes, -1 above the largest.
func bodyClass(n int) int {
	for c, size := 0, bodyPoolMin; c < len(bodyPool{}.lists); c, size = c+1, size*2 {
		if n <= size {
			return c
		}
	}
	return -1
}

// get returns an empty buffer of at least n bytes.
func (p *bodyPool) get(n int) []byte {
	c := bodyClass(n)
	if c < 0 || noPools {
		return make([]byte, 0, n)
	}
	if l := p.lists[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.lists[c] = l[:len(l)-1]
		return b
	}
	return make([]byte, 0, bodyPoolMin<<c)
}

// put takes back b, which nothing uses any more.
func (p *bodyPool) put(b []byte) {
	c := bodyClass(cap(b))
	if c < 0 || cap(b) != bodyPoolMin<<c || len(p.lists[c]) >= bodyPoolMax || noPools {
		return
	}
	p.lists[c] = append(p.lists[c], b[:0])
}
