package dissect

import (
	"fmt"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// Framer modes of one direction.
const (
	modeUnknown  = iota // no byte seen yet
	modeTLS             // framing TLS records
	modeSSLv2           // collecting an SSLv2-compatible ClientHello
	modeNotTLS          // the bytes are not TLS: ignored
	modeLost            // framing lost after a gap: ignored
	modePlain           // plaintext so far: looking for a TLS handshake to start (STARTTLS, CONNECT)
	modeSSLv2Rec        // framing SSL 2.0 records: an SSL 2.0 server answered (sslv2.go)
)

// plainMax is how many plaintext bytes of one direction are searched for
// the start of a TLS handshake (after STARTTLS, an HTTP CONNECT, a SOCKS
// or database upgrade) before the direction is given up as not TLS.
const plainMax = 16 << 10

// tlsStream frames one direction's bytes into TLS records. Only the bodies
// of plaintext handshake, alert and change_cipher_spec records are buffered;
// encrypted records are skipped by length without copying.
type tlsStream struct {
	mode      int
	hdr       [tlsparse.RecordHeaderLen]byte
	hdrN      int
	rec       tlsparse.RecordHeader
	recStart  int64 // stream offset of the current record
	need      int   // body bytes still to come
	keep      bool  // buffer the body
	cut       bool  // bytes of the current record's body are missing (skipGap)
	gapLost   bool  // modeLost came from a hole: resync may find the records again
	body      []byte
	hs        *tlsparse.HandshakeBuffer
	maxHS     int
	hsFailed  bool
	v2        []byte  // SSLv2 record being collected
	first     []byte  // the first bytes, to judge what the stream is
	ccs       bool    // sent ChangeCipherSpec
	encSeen   int     // encrypted records sent
	plain     int64   // plaintext bytes seen before TLS started
	plainEv   bool    // an EvNotTLS event stands for the current plaintext run
	dec       *decDir // decryption with a key log (decrypt.go); nil: none yet
	v2Records int     // SSL 2.0 records framed in modeSSLv2Rec
	v2Len     int     // length of the current SSL 2.0 record
}

func (t *tlsStream) init(maxHS int) { t.maxHS = maxHS }

// wantsBytes reports whether the framer still looks at this direction's
// bytes.
func (t *tlsStream) wantsBytes() bool {
	return t.mode == modeUnknown || t.mode == modeTLS || t.mode == modeSSLv2 || t.mode == modePlain || t.mode == modeSSLv2Rec
}

// lost marks the framing as lost after a gap.
func (t *tlsStream) lost() {
	if t.mode == modePlain {
		return // still looking for a handshake to start
	}
	if t.mode == modeTLS || t.mode == modeSSLv2 || t.mode == modeUnknown || t.mode == modeSSLv2Rec {
		t.mode = modeLost
		t.gapLost = true
	}
	t.body, t.v2 = nil, nil
}

// resync reports whether the framing lost after a hole starts again at p,
// the start of a segment, and if so starts it: p must begin with a record
// header of the version this direction used (a TLS 1.0 ClientHello record
// may be followed by TLS 1.2 ones), followed by the end of the segment or
// by further such headers. Implementations start each flight, a write of
// their own, in a new segment, so the records after a lost one are found
// again: the server's ChangeCipherSpec and Finished after a flight the
// capture lost the end of. Handshake messages are no longer parsed after
// it (the hole may have cut one that spans records).
func (t *tlsStream) resync(p []byte) bool {
	if t.mode != modeLost || !t.gapLost || t.rec.Version == 0 {
		return false
	}
	for n := 0; n < 4 && len(p) >= tlsparse.RecordHeaderLen; n++ {
		h, err := tlsparse.ReadRecordHeader(p)
		if err != nil || h.Type == tlsparse.TypeHeartbeat || h.Length == 0 ||
			h.Version != t.rec.Version && !(h.Version == tlsparse.VersionTLS12 && t.rec.Version >= tlsparse.VersionTLS10 && t.rec.Version < tlsparse.VersionTLS12) {
			return false
		}
		if tlsparse.RecordHeaderLen+h.Length >= len(p) {
			break
		}
		p = p[tlsparse.RecordHeaderLen+h.Length:]
	}
	t.mode, t.gapLost = modeTLS, false
	t.hdrN, t.need, t.cut = 0, 0, false
	t.body, t.hs, t.hsFailed = nil, nil, true
	return true
}

// fillBody takes the bytes of p that belong to the current record's body
// (the TLS or SSL 2.0 record whose header was read), keeping them when the
// body is kept and not cut, and returns how many it took.
func (t *tlsStream) fillBody(p []byte, bodies *bodyPool) int {
	n := min(len(p), t.need)
	if t.keep && !t.cut {
		if len(t.body) == 0 && cap(t.body) < t.need {
			// The record's length is known (and capped): one allocation
			// rather than a doubling per segment.
			bodies.put(t.body)
			t.body = bodies.get(t.need)
		}
		t.body = append(t.body, p[:n]...)
	}
	t.need -= n
	return n
}

func (t *tlsStream) release(bodies *bodyPool) {
	bodies.put(t.body)
	t.body, t.v2, t.hs, t.first, t.dec = nil, nil, nil, nil, nil
}

// framer is the streamLayer of an Analyzer: each direction's bytes go to
// its tlsStream.
type framer struct{ a *Analyzer }

func (f framer) wants(cs *connState, side Side) bool { return cs.dirs[side].tls.wantsBytes() }

func (f framer) bytes(cs *connState, side Side, p []byte, off int64, ts time.Time) {
	t := &cs.dirs[side].tls
	if t.wantsBytes() {
		f.a.feedTLS(cs, side, p, off, ts)
	} else if t.resync(p) {
		cs.anomaly(Anomaly{Code: "resync", Frame: f.a.frame, Detail: side.String() + " stream: TLS records found again after a hole"})
		f.a.feedTLS(cs, side, p, off, ts)
	}
}

func (f framer) gap(cs *connState, side Side, n int, ts time.Time, follow bool) {
	if !follow || !f.a.skipGap(cs, side, n, ts) {
		cs.dirs[side].tls.lost()
	}
}

func (f framer) end(cs *connState, side Side) { cs.dirs[side].tls.release(&f.a.bodies) }

const sslv2Max = 16 << 10

func (a *Analyzer) feedTLS(cs *connState, side Side, p []byte, off int64, ts time.Time) {
	t := &cs.dirs[side].tls
	for len(p) > 0 && t.wantsBytes() {
		switch t.mode {
		case modeUnknown:
			if sslv2Answer(cs, side, t.first, p) {
				// An SSL 2.0 server answers the client's SSL 2.0
				// CLIENT-HELLO: its records are framed from the start.
				first := t.first
				t.first = nil
				t.mode = modeSSLv2Rec
				cs.c.TLS = true
				if len(first) > 0 {
					a.feedSSLv2(cs, side, first, off-int64(len(first)), ts)
				}
				continue
			}
			if len(t.first) == 0 && len(p) >= 8 && tlsparse.LooksLikeTLS(p[:8]) {
				if _, err := tlsparse.ReadRecordHeader(p[:8]); err == nil {
					// The first bytes, all in this segment, start a TLS
					// record: framed from here, without collecting them.
					t.mode = modeTLS
					cs.c.TLS = true
					continue
				}
			}
			n := min(len(p), 8-len(t.first))
			t.first = append(t.first, p[:n]...)
			switch {
			case !tlsparse.LooksLikeTLS(t.first):
				first := t.first
				t.first = nil
				data := append(first, p[n:]...)
				a.notTLS(cs, side, data, ts)
				a.plaintext(cs, side, data, off-int64(len(first)-n), ts)
				return
			case len(t.first) < tlsparse.RecordHeaderLen:
				return // wait for more
			}
			if _, err := tlsparse.ReadRecordHeader(t.first); err == nil {
				t.mode = modeTLS
				// A record header is evidence enough: the connection is
				// reported even if no record of it is ever complete (cut by
				// the snapshot length, the capture ends).
				cs.c.TLS = true
			} else if _, ok := tlsparse.SSLv2RecordLen(t.first); ok {
				t.mode = modeSSLv2
			} else {
				first := t.first
				t.first = nil
				data := append(first, p[n:]...)
				a.notTLS(cs, side, data, ts)
				a.plaintext(cs, side, data, off-int64(len(first)-n), ts)
				return
			}
			// Replay what was collected through the framer.
			first := t.first
			t.first = nil
			rest := p[n:]
			a.feedTLS(cs, side, first, off-int64(len(first)-n), ts)
			p = rest
			off += int64(n)
		case modeSSLv2:
			t.v2 = append(t.v2, p...)
			off += int64(len(p))
			p = nil
			n, ok := tlsparse.SSLv2RecordLen(t.v2)
			if !ok || n > sslv2Max {
				if len(t.v2) >= 3 {
					cs.anomaly(Anomaly{Code: "bad_sslv2", Frame: a.frame, Detail: "malformed SSLv2 record"})
					t.mode = modeLost
				}
				return
			}
			if len(t.v2) < n {
				return
			}
			rec, rest := t.v2[:n], t.v2[n:]
			cs.c.TLS = true
			cs.c.Sides[side].Records++
			ch, err := tlsparse.ParseSSLv2ClientHello(rec)
			if err != nil {
				cs.anomaly(Anomaly{Code: "bad_client_hello", Frame: a.frame, Detail: err.Error()})
				cs.event(a, Event{Kind: EvSSLv2, From: side, Frame: a.frame, PeerAck: -1, Length: n}.At(ts))
			} else {
				a.clientHello(cs, side, ch, ts, 0)
			}
			t.v2 = nil
			t.mode = modeTLS
			if len(rest) > 0 {
				a.feedTLS(cs, side, rest, int64(n), ts)
			}
			return
		case modeTLS:
			if t.need == 0 && t.hdrN < len(t.hdr) {
				n := copy(t.hdr[t.hdrN:], p)
				t.hdrN += n
				p = p[n:]
				off += int64(n)
				if t.hdrN < len(t.hdr) {
					return
				}
				h, err := tlsparse.ReadRecordHeader(t.hdr[:])
				if err != nil {
					cs.anomaly(Anomaly{Code: "bad_record", Frame: a.frame, Detail: fmt.Sprintf("%s stream at byte %d: %v", side, off-5, err)})
					if cs.c.Sides[side].Records == 0 {
						data := append(t.hdr[:], p...)
						t.hdrN = 0
						a.notTLS(cs, side, data, ts)
						a.plaintext(cs, side, data, off-5, ts)
						return
					} else {
						t.mode = modeLost
					}
					return
				}
				t.rec = h
				t.recStart = off - 5
				t.need = h.Length
				t.cut = false
				t.keep = a.keepBody(cs, side, h)
				t.body = t.body[:0]
				if t.keep && t.need > 0 && t.need <= len(p) && t.dec == nil {
					// The whole body is in this segment: the record is
					// handled from the segment itself, without a copy.
					// (record copies what outlives it; decryption, which
					// may work in place, gets a copy.)
					own := t.body
					t.body = p[:t.need:t.need]
					p = p[t.need:]
					off += int64(t.need)
					t.need = 0
					a.record(cs, side, ts)
					t.body = own
					continue
				}
				if t.need == 0 {
					a.record(cs, side, ts)
				}
				continue
			}
			n := t.fillBody(p, &a.bodies)
			p = p[n:]
			off += int64(n)
			if t.need == 0 {
				a.record(cs, side, ts)
			}
		case modePlain:
			a.plaintext(cs, side, p, off, ts)
			return
		case modeSSLv2Rec:
			a.feedSSLv2(cs, side, p, off, ts)
			return
		default:
			return
		}
	}
}

// plaintext looks for the start of a TLS handshake in plaintext bytes p
// (at stream offset off): a protocol that upgrades to TLS on the same
// connection, or a proxy preamble. Past plainMax bytes the direction is
// given up as not TLS.
func (a *Analyzer) plaintext(cs *connState, side Side, p []byte, off int64, ts time.Time) {
	t := &cs.dirs[side].tls
	i := tlsparse.HandshakeStart(p)
	head := p
	if i >= 0 {
		head = p[:i]
	}
	if h := &cs.c.Sides[side].PlainHead; len(*h) < plainHeadMax {
		*h = append(*h, head[:min(len(head), plainHeadMax-len(*h))]...)
	}
	if i < 0 {
		t.plain += int64(len(p))
		if t.plain > plainMax {
			t.mode = modeNotTLS
		}
		if side == Server && cs.c.ClientHello != nil {
			// The server answers the client's ClientHello in plaintext
			// (a STARTTLS it refused, which the client did not heed).
			a.notTLS(cs, side, p, ts)
		}
		return
	}
	t.plain += int64(i)
	a.upgrade(cs, side)
	a.feedTLS(cs, side, p[i:], off+int64(i), ts)
}

// upgrade switches side from plaintext to TLS. When the client starts TLS,
// the server's earlier plaintext (a banner, "220 Ready to start TLS") is no
// evidence that it does not speak TLS: its run is closed too.
func (a *Analyzer) upgrade(cs *connState, side Side) {
	t := &cs.dirs[side].tls
	t.mode = modeUnknown
	t.first = nil
	a.endPlain(cs, side)
	cs.c.Sides[side].PlainBytes = t.plain
	if side == Client {
		a.endPlain(cs, Server)
	}
	if cs.c.Upgrade == UpgradeNone {
		cs.c.Upgrade = guessUpgrade(cs.c)
	}
}

// endPlain turns side's EvNotTLS event for its current plaintext run into
// an EvPlaintext event.
func (a *Analyzer) endPlain(cs *connState, side Side) {
	t := &cs.dirs[side].tls
	if !t.plainEv {
		return
	}
	t.plainEv = false
	cs.c.Sides[side].NotTLS = false
	for i := len(cs.c.Events) - 1; i >= 0; i-- {
		if e := &cs.c.Events[i]; e.From == side && e.Kind == EvNotTLS {
			e.Kind = EvPlaintext
			break
		}
	}
}

// keepBody decides whether a record's body is worth buffering: plaintext
// handshake, alert, CCS and heartbeat records are; encrypted ones are not,
// unless a key log can decrypt them (decrypt.go).
func (a *Analyzer) keepBody(cs *connState, side Side, h tlsparse.RecordHeader) bool {
	if a.wantDecrypt(cs, side, h) {
		return true
	}
	t := &cs.dirs[side].tls
	tls13 := cs.c.Version().IsTLS13()
	switch h.Type {
	case tlsparse.TypeHandshake:
		// After a TLS <= 1.2 ChangeCipherSpec, handshake records are
		// encrypted. A TLS 1.3 compatibility ChangeCipherSpec changes
		// nothing: 1.3 encrypts inside application_data records, and in a
		// HelloRetryRequest flow the second ClientHello and the ServerHello
		// follow a ChangeCipherSpec in plaintext.
		return !t.ccs || tls13 || cs.c.ServerHello == nil
	case tlsparse.TypeAlert:
		return h.Length == 2 || !t.ccs || t.ccs && h.Length == 2+nullMAC(cs.c)
	case tlsparse.TypeChangeCipherSpec, tlsparse.TypeHeartbeat:
		return h.Length <= 64
	}
	return false
}

// skipGap passes side's framer over n bytes missing from the capture when
// they lie inside the body of a record whose header it read: the next
// record starts where that body ends, so the records after the hole are
// followed (the client's alert after a server flight the capture lost
// part of, the ChangeCipherSpec and Finished of a handshake that went on).
// It reports whether it did; otherwise the framing is lost (after the
// record, handled as cut, when the hole runs past its end). A record kept
// for decryption is not skipped: its sequence number would be lost too.
func (a *Analyzer) skipGap(cs *connState, side Side, n int, ts time.Time) bool {
	t := &cs.dirs[side].tls
	if t.mode != modeTLS || t.need == 0 || t.keep && a.o.Keys != nil && a.protected(cs, side, t.rec) {
		return false
	}
	over := n > t.need // the hole runs past the record's end: lost after it
	t.need -= min(n, t.need)
	t.cut = true
	if t.need == 0 {
		a.record(cs, side, ts)
	}
	return !over
}

// notTLS records that side sent bytes that are not TLS.
func (a *Analyzer) notTLS(cs *connState, side Side, p []byte, ts time.Time) {
	t := &cs.dirs[side].tls
	preview := t.first
	if len(preview) < 32 {
		preview = append(append([]byte(nil), preview...), p[:min(len(p), 32)]...)
	}
	if len(preview) > 32 {
		preview = preview[:32]
	}
	t.mode = modePlain
	t.first = nil
	if t.plainEv {
		return
	}
	t.plainEv = true
	cs.c.Sides[side].NotTLS = true
	cs.event(a, Event{Kind: EvNotTLS, From: side, Frame: a.frame, PeerAck: -1, Detail: string(preview)}.At(ts))
}
