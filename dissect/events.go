package dissect

import "cmp"

// The record of each connection: its events and anomalies, within the
// per-connection caps. Every layer records through these.

// eventsGrowTo is the capacity events grow to from 4: 22 events of 80
// bytes fill a 1792-byte size class of the allocator.
const eventsGrowTo = 22

// eventsClosed is the capacity the events of a closed connection move to
// when they fit with room for two more (a FIN, a RST): 16 events fill a
// 1280-byte size class. A closed connection waits Linger (or Grace)
// before it is handed over, most of its time in memory; a TLS 1.3
// handshake with its closing records 14 events.
const eventsClosed = 16

// trimEvents moves the events of c, just closed, from an array of
// eventsGrowTo into one of eventsClosed when they fit in it with room to
// spare; the larger array goes back to the pool.
func (a *Analyzer) trimEvents(c *Conn) {
	if cap(c.Events) == eventsGrowTo && len(c.Events) <= eventsClosed-2 {
		old := c.Events
		c.Events = append(a.events.get(eventsClosed), old...)
		a.events.put(old)
	}
}

// event records e, within the per-connection cap.
func (cs *connState) event(a *Analyzer, e Event) {
	c := cs.c
	e.FileNo = a.fileNo
	if len(c.Events) >= a.o.MaxEvents {
		// The reserve (32) keeps room for the first FIN and RST of each
		// side (4 at most) whatever came before: a flood of alerts
		// cannot hide who closed the connection.
		switch e.Kind {
		case EvFIN, EvRST:
			cs.reserve++
		case EvAlert, EvEncryptedAlert, EvGap, EvNotTLS:
			if cs.reserve < 32-4 {
				cs.reserve++
				break
			}
			fallthrough
		default:
			if c.Dropped == 0 {
				a.stats.limit("events per connection")
			}
			c.Dropped++
			return
		}
	}
	if len(c.Events) == cap(c.Events) {
		// The first event (a SYN, in a flood the only one) has room for
		// itself only; from the second, room for 4 (not through 2); a TLS
		// connection records 10 to 20 events: from the fifth, room for
		// 22 at once rather than through 8 and 16. (Up to 4, a connection
		// that never gets further, a scan or a flood, stays small.) The
		// arrays outgrown go back to the pool.
		old := c.Events
		switch n := len(old); {
		case n == 0:
			c.Events = a.events.get(1)
		case n < 4:
			c.Events = append(a.events.get(4), old...)
		case n < eventsGrowTo:
			c.Events = append(a.events.get(eventsGrowTo), old...)
		default:
			c.Events = append(old, e)
			a.events.put(old)
			return
		}
		a.events.put(old)
	}
	c.Events = append(c.Events, e)
}

const maxAnomalies = 32

func (cs *connState) anomaly(an Anomaly) {
	if len(cs.c.Anomalies) < maxAnomalies {
		cs.c.Anomalies = append(cs.c.Anomalies, an)
	}
}

// byFrame orders events by frame within a file; events of different files
// (a rotated or merged capture) by time.
func byFrame(x, y Event) int {
	if x.FileNo != y.FileNo {
		if c := x.Time().Compare(y.Time()); c != 0 {
			return c
		}
		return cmp.Compare(x.FileNo, y.FileNo)
	}
	return cmp.Compare(x.Frame, y.Frame)
}
