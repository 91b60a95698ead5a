package dissect

import (
	"fmt"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// An SSL 2.0 handshake (draft-hickman-netscape-ssl-00, cited as [SSL2]):
// the client's CLIENT-HELLO, the server's SERVER-HELLO (its certificate
// inside), the client's CLIENT-MASTER-KEY, all in the clear, then
// encrypted records both ways: the client's CLIENT-FINISHED, the server's
// SERVER-VERIFY and SERVER-FINISHED, then data. A server that refuses
// answers with an ERROR in the clear instead of the SERVER-HELLO.

// SSLv2 is what the clear part of an SSL 2.0 handshake showed: the server
// answered an SSL 2.0 CLIENT-HELLO with an SSL 2.0 SERVER-HELLO. Its
// certificate is the connection's Chain.
type SSLv2 struct {
	// SessionIDHit is set when the server resumed the session the client
	// named: it sends no certificate, and the client no CLIENT-MASTER-KEY.
	SessionIDHit bool
	// CipherSpecs are the cipher kinds the server offered, in wire order.
	CipherSpecs []tlsparse.SSLv2CipherKind
	// CipherKind is the one the client chose in its CLIENT-MASTER-KEY; 0
	// until it is seen.
	CipherKind tlsparse.SSLv2CipherKind
}

// sslv2ServerFlight is how many encrypted records of the server belong to
// its handshake: SERVER-VERIFY and SERVER-FINISHED (a REQUEST-CERTIFICATE
// between them is counted as data).
const sslv2ServerFlight = 2

// sslv2Answer reports whether side's first bytes (first, collected so far,
// then p) are an SSL 2.0 server's answer to the client's SSL 2.0
// CLIENT-HELLO: a SERVER-HELLO or an ERROR.
func sslv2Answer(cs *connState, side Side, first, p []byte) bool {
	ch := cs.c.ClientHello
	if side != Server || ch == nil || !ch.SSLv2 {
		return false
	}
	if len(first) > 0 {
		p = append(first[:len(first):len(first)], p[:min(len(p), 8)]...)
	}
	return tlsparse.LooksLikeSSLv2ServerHello(p)
}

// feedSSLv2 frames side's SSL 2.0 records (2- or 3-byte headers). The
// messages sent in the clear (the server's first record, the client's
// CLIENT-MASTER-KEY) are buffered and parsed; encrypted records are
// skipped by length.
func (a *Analyzer) feedSSLv2(cs *connState, side Side, p []byte, off int64, ts time.Time) {
	t := &cs.dirs[side].tls
	for len(p) > 0 {
		if t.need == 0 {
			if t.hdrN == 0 {
				t.recStart = off
			}
			hl := 3
			if t.hdrN > 0 && t.hdr[0]&0x80 != 0 || t.hdrN == 0 && p[0]&0x80 != 0 {
				hl = 2
			}
			n := copy(t.hdr[t.hdrN:hl], p)
			t.hdrN += n
			p = p[n:]
			off += int64(n)
			if t.hdrN < hl {
				return
			}
			t.hdrN = 0
			h, err := tlsparse.ReadSSLv2RecordHeader(t.hdr[:hl])
			if err != nil {
				cs.anomaly(Anomaly{Code: "bad_sslv2", Frame: a.frame, Detail: fmt.Sprintf("%s stream at byte %d: %v", side, t.recStart, err)})
				t.mode = modeLost
				return
			}
			t.need, t.v2Len, t.cut = h.Length, h.Length, false
			t.keep = a.sslv2Clear(cs, side)
			if t.keep && cap(t.body) < hl+t.need {
				// The record's length is known: one allocation, no
				// larger than the record (bodyMax).
				a.bodies.put(t.body)
				t.body = a.bodies.get(hl + t.need)
			}
			t.body = append(t.body[:0], t.hdr[:hl]...)
			continue
		}
		n := t.fillBody(p, &a.bodies)
		p = p[n:]
		off += int64(n)
		if t.need == 0 {
			a.sslv2Record(cs, side, ts)
		}
	}
}

// sslv2Clear reports whether side's next record holds a message in the
// clear: the server's first, and the client's first after a SERVER-HELLO
// that resumes no session (its CLIENT-MASTER-KEY).
func (a *Analyzer) sslv2Clear(cs *connState, side Side) bool {
	t := &cs.dirs[side].tls
	if t.v2Records > 0 {
		return false
	}
	if side == Server {
		return true
	}
	return cs.c.SSLv2 != nil && !cs.c.SSLv2.SessionIDHit
}

// sslv2Record handles one complete SSL 2.0 record; t.body holds it whole,
// header included, when it is in the clear.
func (a *Analyzer) sslv2Record(cs *connState, side Side, ts time.Time) {
	t := &cs.dirs[side].tls
	c := cs.c
	si := &c.Sides[side]
	si.Records++
	c.TLS = true
	t.v2Records++
	base := Event{From: side, Frame: a.frame, Offset: t.recStart, PeerAck: -1, Length: t.v2Len, Count: 1}.At(ts)
	if t.keep {
		// The parsed messages alias t.body: what is kept is copied.
		rec := t.body
		t.body = t.body[:0]
		if side == Server {
			a.sslv2ServerAnswer(cs, rec, base)
		} else {
			a.sslv2MasterKey(cs, rec, base)
		}
		return
	}
	// Encrypted: the client's CLIENT-FINISHED, the server's SERVER-VERIFY
	// and SERVER-FINISHED, then data.
	si.Encrypted++
	t.encSeen++
	base.Kind = EvApplicationData
	if side == Client && t.encSeen == 1 || side == Server && t.encSeen <= sslv2ServerFlight {
		base.Kind = EvEncryptedHandshake
	} else {
		si.AppData++
		si.AppBytes += int64(base.Length)
	}
	a.encrypted(cs, side, base)
}

// sslv2MasterKey handles the client's CLIENT-MASTER-KEY: the cipher kind
// it chose.
func (a *Analyzer) sslv2MasterKey(cs *connState, rec []byte, base Event) {
	base.Kind = EvClientKeyExchange
	m, err := tlsparse.ParseSSLv2ClientMasterKey(rec)
	if err != nil {
		cs.anomaly(Anomaly{Code: "bad_sslv2", Frame: a.frame, Detail: err.Error()})
		base.Detail = "SSLv2 record: not a CLIENT-MASTER-KEY"
	} else {
		cs.c.SSLv2.CipherKind = m.CipherKind
		base.Detail = "CLIENT-MASTER-KEY, " + m.CipherKind.String()
	}
	cs.event(a, base)
}

// sslv2ServerAnswer handles the server's first SSL 2.0 record: a
// SERVER-HELLO, whose certificate becomes the chain, or an ERROR, recorded
// as the SSL 3.0 alert that took over its meaning.
func (a *Analyzer) sslv2ServerAnswer(cs *connState, rec []byte, base Event) {
	c := cs.c
	if code, err := tlsparse.ParseSSLv2Error(rec); err == nil {
		base.Kind = EvAlert
		base.Detail = "SSLv2 ERROR " + code.String()
		al, ok := code.Alert()
		if !ok {
			base.Kind = EvEncryptedAlert // an alert whose meaning is unknown
		}
		base.Alert = al
		cs.event(a, base)
		return
	}
	sh, err := tlsparse.ParseSSLv2ServerHello(rec)
	base.Kind = EvServerHello
	if err != nil {
		cs.anomaly(Anomaly{Code: "bad_server_hello", Frame: a.frame, Detail: err.Error()})
		base.Detail = "SSLv2 SERVER-HELLO: malformed"
		cs.event(a, base)
		return
	}
	v2 := &SSLv2{SessionIDHit: sh.SessionIDHit, CipherSpecs: append([]tlsparse.SSLv2CipherKind(nil), sh.CipherSpecs...)}
	c.SSLv2 = v2
	base.Detail = fmt.Sprintf("SSL 2.0 SERVER-HELLO, %d cipher specs", len(sh.CipherSpecs))
	if sh.SessionIDHit {
		base.Detail = "SSL 2.0 SERVER-HELLO, session resumed"
	}
	cs.event(a, base)
	if len(sh.Certificate) > 0 {
		e := base
		e.Kind, e.HSType, e.Count, e.Detail = EvCertificate, tlsparse.CertificateType, 1, certCount(1)
		if sh.CertificateType == tlsparse.SSLv2CertX509 {
			c.Chain = []*CertInfo{a.o.Certs.Get(sh.Certificate)}
		} else {
			e.Detail = fmt.Sprintf("certificate type %d, not X.509", sh.CertificateType)
		}
		cs.event(a, e)
	}
	// The client's next records are SSL 2.0 too: its CLIENT-MASTER-KEY,
	// then encrypted ones. (Its framer went to TLS after the CLIENT-HELLO,
	// as for the SSLv2-compatible hello of a TLS client.)
	if ct := &cs.dirs[Client].tls; ct.mode == modeTLS && ct.hdrN == 0 && ct.need == 0 && c.Sides[Client].Records == 1 {
		ct.mode = modeSSLv2Rec
	}
}

// Cipher is the name of the cipher kind the client chose
// ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5"), "" when its CLIENT-MASTER-KEY was
// not seen.
func (v *SSLv2) Cipher() string {
	if v.CipherKind == 0 {
		return ""
	}
	return v.CipherKind.String()
}
