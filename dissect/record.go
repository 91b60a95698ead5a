package dissect

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// A direction's TLS bytes go up through three steps, each with one job:
//
//   - the framer (tls.go) cuts the reassembled bytes into records and
//     keeps the bodies worth reading;
//   - the record layer (open, with decrypt.go) hands each record up as
//     content: its content type and plaintext, in the clear or decrypted
//     with the key log, or sealed when it cannot be read (crypto/tls's
//     halfConn.decrypt);
//   - the dispatcher (dispatch) tells what each content type means for the
//     connection, the same way for plaintext and decrypted records.

// content is a record as the record layer hands it to the dispatcher.
type content struct {
	// typ is the record's content type: its header's, or the inner type
	// of a decrypted record.
	typ tlsparse.ContentType
	// body is the plaintext: the body in the clear, or decrypted (and
	// decompressed). It is nil when the record is sealed.
	body []byte
	// sealed: the record stays encrypted (or its body was not kept): only
	// its header is known.
	sealed bool
	// decrypted: body was decrypted with the key log.
	decrypted bool
}

// record handles one complete record of side, framed by feedTLS.
func (a *Analyzer) record(cs *connState, side Side, ts time.Time) {
	t := &cs.dirs[side].tls
	t.hdrN = 0
	c := cs.c
	c.Sides[side].Records++
	c.TLS = true
	h := t.rec
	base := Event{From: side, Frame: a.frame, Time: ts, Offset: t.recStart, PeerAck: -1, Length: h.Length, Count: 1}
	if t.cut && t.keep && (h.Type == tlsparse.TypeHandshake || h.Type == tlsparse.TypeAlert) {
		// (The bodies of ChangeCipherSpec and heartbeat records do not
		// matter.)
		a.cutRecord(cs, side, base)
		return
	}
	a.dispatch(cs, side, a.open(cs, side), base)
}

// open is the record layer: it hands up side's complete record t.rec,
// decrypted when the key log opens it, in the clear when its body was kept,
// sealed otherwise. A NULL-cipher record's MAC is taken off.
func (a *Analyzer) open(cs *connState, side Side) content {
	t := &cs.dirs[side].tls
	if typ, pt, ok := a.decrypt(cs, side); ok {
		return content{typ: typ, body: pt, decrypted: true}
	}
	r := content{typ: t.rec.Type}
	if !t.keep {
		r.sealed = true
		return r
	}
	r.body = t.body
	if mac := nullMAC(cs.c); t.ccs && mac > 0 && r.typ == tlsparse.TypeAlert && len(r.body) == 2+mac {
		r.body = r.body[:2] // a NULL cipher: the alert in the clear, then its MAC
	}
	return r
}

// dispatch handles one record's content, whether it came in the clear or
// was decrypted: the one place that says what each content type means.
func (a *Analyzer) dispatch(cs *connState, side Side, r content, base Event) {
	t := &cs.dirs[side].tls
	c := cs.c
	si := &c.Sides[side]
	if r.decrypted {
		si.Encrypted++
		base.Decrypted = true
	}
	switch r.typ {
	case tlsparse.TypeHandshake:
		switch {
		case r.decrypted:
			if !t.dec.app {
				// The record stands in the side's encrypted flight; the
				// messages of a post-handshake record (NewSessionTicket,
				// KeyUpdate) stand for themselves.
				rec := base
				rec.Decrypted = false
				rec.Kind = EvEncryptedHandshake
				a.encryptedRun(cs, side, rec)
			}
			a.decryptedHandshake(cs, side, t.dec, r.body, base)
		case r.sealed || t.ccs && c.ServerHello == nil && !helloFirst(r.body):
			// (A side that sent ChangeCipherSpec before any ServerHello
			// was captured sends no plaintext message but a hello after
			// a HelloRetryRequest: the rest is encrypted.)
			si.Encrypted++
			base.Kind = EvEncryptedHandshake
			a.encrypted(cs, side, base)
		default:
			a.plainHandshake(cs, side, r.body, base)
		}
	case tlsparse.TypeAlert:
		switch {
		case r.sealed:
			si.Encrypted++
			base.Kind = EvEncryptedAlert
			cs.event(a, base)
		case r.decrypted:
			a.alertRecord(cs, base, r.body, decryptedNote, fmt.Sprintf("decrypted, but not an alert (%d bytes)", len(r.body)))
		default:
			// Not two bytes, or levels that are neither warning nor
			// fatal: an encrypted alert sent without CCS, or one after a
			// CCS the capture lost (or garbage).
			a.alertRecord(cs, base, r.body, "", "")
		}
	case tlsparse.TypeChangeCipherSpec:
		si.CCS = true
		base.Kind = EvChangeCipherSpec
		cs.event(a, base)
		if r.decrypted {
			// TLS 1.2 renegotiation: the new handshake's
			// ChangeCipherSpec travels under the keys it retires.
			a.renegotiatedKeys(cs, side, t.dec)
		} else {
			t.ccs = true
		}
	case tlsparse.TypeApplicationData:
		if r.decrypted {
			base.Decrypted = false
			base.Kind = EvApplicationData
			si.AppData++
			si.AppBytes += int64(t.rec.Length)
			a.encrypted(cs, side, base)
			return
		}
		a.sealedData(cs, side, base)
	case tlsparse.TypeHeartbeat:
		base.Kind = EvHeartbeat
		cs.event(a, base)
	default:
		base.Kind = EvHandshakeOther
		base.Detail = fmt.Sprintf("decrypted record of content type %d", r.typ)
		cs.event(a, base)
	}
}

// plainHandshake handles the body of a handshake record in the clear: the
// messages it completes, through side's handshake buffer.
func (a *Analyzer) plainHandshake(cs *connState, side Side, body []byte, base Event) {
	t := &cs.dirs[side].tls
	if t.hsFailed {
		return
	}
	if t.hs == nil || t.hs.Buffered() == 0 {
		// The whole messages at the start of a record, with nothing
		// buffered before them, are handled from the record's buffer:
		// only the messages the Conn keeps are copied. What is left goes
		// through the handshake buffer.
		limit := t.maxHS
		if limit <= 0 {
			limit = tlsparse.DefaultMaxHandshake
		}
		limit = max(limit, tlsparse.HandshakeHeaderLen)
		for {
			typ, msg, rest, ok := tlsparse.NextHandshake(body, limit)
			if !ok {
				break
			}
			body = rest
			switch typ {
			case tlsparse.ClientHelloType, tlsparse.ServerHelloType, tlsparse.CertificateRequestType:
				msg = bytes.Clone(msg) // the parsed message aliases it
			}
			a.handshake(cs, side, typ, msg, base)
		}
		if len(body) == 0 {
			return
		}
	}
	a.bufferHandshake(cs, &t.hs, &t.hsFailed, t.maxHS, body, "", func(typ tlsparse.HandshakeType, msg []byte) bool {
		a.handshake(cs, side, typ, msg, base)
		return true
	})
}

// sealedData handles an application_data record that stays sealed: in TLS
// 1.3 before the handshake is over, a record of the encrypted handshake (or
// an alert, told by its size); after it, application data.
func (a *Analyzer) sealedData(cs *connState, side Side, base Event) {
	t := &cs.dirs[side].tls
	c := cs.c
	si := &c.Sides[side]
	h := t.rec
	si.Encrypted++
	t.encSeen++
	tls13 := c.Version().IsTLS13()
	if tls13 && !cs.hsDone {
		// TLS 1.3 hides the handshake in application_data records.
		base.Kind = EvEncryptedHandshake
		if side == Client && !c.Has(Client, EvEncryptedHandshake) && h.Length < minFinished13(c) {
			// Too short to hold a Finished (4-byte header, the transcript
			// hash, the inner type and a 16-byte AEAD tag): an encrypted
			// alert (19 bytes unpadded).
			base.Kind = EvEncryptedAlert
			base.Detail = fmt.Sprintf("%d"+shortRecordNote+", the size of an encrypted alert", h.Length)
			cs.event(a, base)
			return
		}
		if side == Server && h.Length == 19 && (c.Has(Client, EvEncryptedHandshake) || c.Has(Client, EvEncryptedAlert)) {
			// The server's flight is over once the client answered it: a
			// 19-byte record now is an alert (a refused client
			// certificate), not more of the flight.
			a.alert19(cs, base)
			return
		}
		if side == Client {
			a.notAnAlert(cs)
		}
		a.encrypted(cs, side, base)
		return
	}
	base.Kind = EvApplicationData
	if tls13 && h.Length == 19 {
		a.alert19(cs, base)
		return
	}
	si.AppData++
	si.AppBytes += int64(h.Length)
	a.encrypted(cs, side, base)
}
