package dissect

// eventPool keeps event arrays for reuse: those a connection outgrows (of
// 1 and 4 events: a TLS connection grows 1, 4, 22) and, with
// Options.ReuseEvents, those of connections handed over, once the consumer
// is done with them. A TLS connection's events take three allocations and
// 2.8 KB otherwise. The pool is the Analyzer's, used on its goroutine only;
// it holds at most eventPoolMax arrays of each size.
type eventPool struct {
	lists [3][][]Event // by capacity: 1, 4, eventsGrowTo
}

const eventPoolMax = 256

func poolClass(n int) int {
	switch n {
	case 1:
		return 0
	case 4:
		return 1
	case eventsGrowTo:
		return 2
	}
	return -1
}

// get returns an empty array of capacity n (1, 4 or eventsGrowTo).
func (p *eventPool) get(n int) []Event {
	if c := poolClass(n); c >= 0 {
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
	if c < 0 || len(p.lists[c]) >= eventPoolMax {
		return
	}
	s = s[:cap(s)]
	clear(s)
	p.lists[c] = append(p.lists[c], s[:0])
}
