package dissect

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
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
	base := Event{From: side, Frame: a.frame, Offset: t.recStart, PeerAck: -1, Length: h.Length, Count: 1}.At(ts)
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
		// what the Conn keeps of them is copied (the hellos detach, a
		// CertificateRequest is cloned whole). What is left goes through
		// the handshake buffer.
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
			if typ == tlsparse.CertificateRequestType {
				msg = bytes.Clone(msg) // the parsed message aliases it (hellos are detached)
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

// alertRecord records the alerts of an alert record's plaintext body
// (in the clear, or decrypted), each with detail; a body that holds no
// plausible alert (not whole alerts, or levels neither warning nor fatal)
// is an encrypted alert, with notAlert as its detail.
func (a *Analyzer) alertRecord(cs *connState, base Event, body []byte, detail, notAlert string) {
	alerts, err := tlsparse.ParseAlerts(body)
	if err != nil || len(alerts) == 0 || !plainAlerts(alerts) {
		base.Kind = EvEncryptedAlert
		base.Detail = notAlert
		cs.event(a, base)
		return
	}
	for _, al := range alerts {
		e := base
		e.Kind = EvAlert
		e.Alert = al
		e.Detail = detail
		cs.event(a, e)
	}
}

// bufferHandshake feeds handshake bytes (of records in the clear, or
// decrypted) to a direction's handshake buffer *hs (made when nil, with
// the size limit max) and hands each whole message to each, until each
// returns false. A message over the limit fails the buffer for good
// (*failed), counted and noted as an anomaly (its detail after prefix).
func (a *Analyzer) bufferHandshake(cs *connState, hs **tlsparse.HandshakeBuffer, failed *bool, max int, body []byte, prefix string, each func(tlsparse.HandshakeType, []byte) bool) {
	if *hs == nil {
		*hs = tlsparse.NewHandshakeBuffer(max)
	}
	(*hs).Write(body)
	for {
		typ, msg, err := (*hs).Next()
		if err != nil {
			*failed = true
			a.stats.limit("handshake message size")
			cs.anomaly(Anomaly{Code: "limit_reached", Frame: a.frame, Detail: prefix + err.Error()})
			return
		}
		if msg == nil || !each(typ, msg) {
			return
		}
	}
}

// cutRecord handles a kept record whose body the capture lacks part of;
// t.body holds the bytes before the hole. Handshake messages whole in
// them are handled as usual. The message the hole cuts is named from its
// header and not parsed (Event.Cut): a Certificate cut by the capture is
// still the certificate the client judged. If that message ends with the
// record, the next record starts a new one; otherwise the direction's
// handshake messages are no longer followed. An alert cut is an alert of
// unknown content. Only handshake and alert records come here.
func (a *Analyzer) cutRecord(cs *connState, side Side, base Event) {
	t := &cs.dirs[side].tls
	t.cut = false
	body := t.body
	t.body = t.body[:0]
	switch t.rec.Type {
	case tlsparse.TypeAlert:
		base.Kind, base.Detail, base.Cut = EvEncryptedAlert, cutNote, true
		cs.event(a, base)
		return
	case tlsparse.TypeHandshake:
	default:
		return
	}
	if t.hsFailed {
		return
	}
	if t.hs != nil && t.hs.Buffered() > 0 {
		t.hsFailed = true // the hole is in a message begun in an earlier record
		return
	}
	for pos := 0; ; {
		typ, n, ok := tlsparse.ReadHandshakeHeader(body[pos:])
		if !ok {
			t.hsFailed = true // the hole hides where the next message starts
			return
		}
		if pos+n <= len(body) {
			a.handshake(cs, side, typ, bytes.Clone(body[pos:pos+n]), base)
			pos += n
			continue
		}
		e := base
		e.Kind, e.HSType, e.Length, e.Detail, e.Cut = hsKind(typ), typ, n, cutNote, true
		if typ == tlsparse.CertificateRequestType && cs.c.CertRequest == nil {
			cs.c.CertRequest = &tlsparse.CertificateRequest{}
		}
		cs.event(a, e)
		if pos+n != t.rec.Length {
			t.hsFailed = true
		}
		return
	}
}

// cutNote is the detail of a message or alert the capture lacks bytes of.
const cutNote = "not captured whole: bytes missing, not parsed"

// hsKind is the event kind of a handshake message of type typ.
func hsKind(typ tlsparse.HandshakeType) EventKind {
	switch typ {
	case tlsparse.ClientHelloType:
		return EvClientHello
	case tlsparse.ServerHelloType:
		return EvServerHello
	case tlsparse.CertificateType:
		return EvCertificate
	case tlsparse.CertificateRequestType:
		return EvCertificateRequest
	}
	if k, ok := hsKinds[typ]; ok {
		return k
	}
	return EvHandshakeOther
}

// alert19 records a TLS 1.3 record of 19 bytes as an encrypted alert (a
// 2-byte alert, its inner type and a 16-byte tag), not data.
func (a *Analyzer) alert19(cs *connState, e Event) {
	e.Kind = EvEncryptedAlert
	e.Detail = "19-byte record: the size of an encrypted alert"
	cs.event(a, e)
}

// helloFirst reports whether a handshake record body starts with a
// ClientHello or ServerHello that the record holds whole.
func helloFirst(body []byte) bool {
	typ, n, ok := tlsparse.ReadHandshakeHeader(body)
	return ok && (typ == tlsparse.ClientHelloType || typ == tlsparse.ServerHelloType) && n <= len(body)
}

// nullMAC is the length of the MAC of each protected record when the
// connection negotiated a NULL-cipher suite (TLS <= 1.2): its records are
// plaintext followed by the MAC. 0 otherwise.
func nullMAC(c *Conn) int {
	if c.ServerHello == nil || c.Version().IsTLS13() {
		return 0
	}
	return c.ServerHello.CipherSuite.NullCipherMAC()
}

// plainAlerts reports whether every alert has a level a plaintext alert
// has (warning or fatal): an encrypted record read as alerts has not.
func plainAlerts(alerts []tlsparse.Alert) bool {
	for _, al := range alerts {
		if al.Level != tlsparse.AlertWarning && al.Level != tlsparse.AlertFatal {
			return false
		}
	}
	return true
}

// shortRecordNote starts the detail of a client record taken for an
// encrypted alert because it is too short for a Finished.
const shortRecordNote = "-byte record: too short for a Finished"

// notAnAlert is called when the client sends another encrypted handshake
// record: a short record before it was a handshake message (an empty
// client Certificate is 25 bytes), not an alert, since nothing follows an
// alert.
func (a *Analyzer) notAnAlert(cs *connState) {
	ev := cs.c.Events
	for i := len(ev) - 1; i >= 0; i-- {
		e := &ev[i]
		if e.From != Client {
			continue
		}
		if e.Kind == EvEncryptedAlert && strings.Contains(e.Detail, shortRecordNote) {
			e.Kind = EvEncryptedHandshake
			e.Detail = ""
		}
		return
	}
}

// minFinished13 is the size of the smallest encrypted record that can hold
// a TLS 1.3 Finished with the negotiated suite.
func minFinished13(c *Conn) int {
	hash := 32
	if c.ServerHello != nil && c.ServerHello.CipherSuite == 0x1302 { // TLS_AES_256_GCM_SHA384
		hash = 48
	}
	return 4 + hash + 1 + 16
}

// encrypted records an encrypted record, merging runs of the same kind from
// the same side into one event, and notes when the handshake is complete.
func (a *Analyzer) encrypted(cs *connState, side Side, e Event) {
	c := cs.c
	if n := len(c.Events); n > 0 {
		last := &c.Events[n-1]
		if last.Kind == e.Kind && last.From == side {
			last.Count++
			last.Length += e.Length
			a.checkDone(cs)
			return
		}
	}
	cs.event(a, e)
	a.checkDone(cs)
}

// checkDone notes whether both sides have finished the handshake; after
// that, only record headers matter.
func (a *Analyzer) checkDone(cs *connState) {
	if cs.hsDone {
		return
	}
	c := cs.c
	if c.SSLv2 != nil && c.ServerHello == nil {
		if cs.dirs[Client].tls.encSeen >= 1 && cs.dirs[Server].tls.encSeen >= sslv2ServerFlight {
			cs.hsDone = true
		}
		return
	}
	if c.ServerHello == nil {
		return
	}
	if c.Version().IsTLS13() {
		// The client's first encrypted flight (its Finished) ends the
		// handshake; after that, application data follows.
		if c.Has(Client, EvEncryptedHandshake) && c.Has(Server, EvEncryptedHandshake) {
			cs.hsDone = true
		}
		return
	}
	if c.Sides[Client].CCS && c.Sides[Server].CCS &&
		c.Has(Client, EvEncryptedHandshake) && c.Has(Server, EvEncryptedHandshake) {
		cs.hsDone = true
	}
}

var hsKinds = map[tlsparse.HandshakeType]EventKind{
	tlsparse.ServerKeyExchange: EvServerKeyExchange,
	tlsparse.ServerHelloDone:   EvServerHelloDone,
	tlsparse.ClientKeyExchange: EvClientKeyExchange,
	tlsparse.CertificateVerify: EvCertificateVerify,
	tlsparse.CertificateStatus: EvCertificateStatus,
	tlsparse.NewSessionTicket:  EvNewSessionTicket,
}

// handshake handles one complete plaintext handshake message.
func (a *Analyzer) handshake(cs *connState, side Side, typ tlsparse.HandshakeType, msg []byte, base Event) {
	c := cs.c
	base.HSType = typ
	base.Length = len(msg)
	switch typ {
	case tlsparse.ClientHelloType:
		ch, err := tlsparse.ParseClientHello(msg)
		if err != nil {
			cs.anomaly(Anomaly{Code: "bad_client_hello", Frame: a.frame, Detail: err.Error()})
			base.Kind = EvClientHello
			base.Detail = "malformed"
			cs.event(a, base)
			return
		}
		a.clientHello(cs, side, ch, base.Time(), base.Offset)
	case tlsparse.ServerHelloType:
		base.Kind = EvServerHello
		sh, err := tlsparse.ParseServerHello(msg)
		if err != nil {
			cs.anomaly(Anomaly{Code: "bad_server_hello", Frame: a.frame, Detail: err.Error()})
			base.Detail = "malformed"
			cs.event(a, base)
			return
		}
		sh.Detach() // the Conn keeps the parsed fields, not the message
		if sh.HelloRetryRequest {
			base.Kind = EvHelloRetryRequest
			c.HRR = sh
		} else {
			c.ServerHello = sh
			if sh.Version().IsTLS13() && !c.Resumed() {
				c.ChainHidden = true
			}
		}
		cs.event(a, base)
	case tlsparse.CertificateType:
		base.Kind = EvCertificate
		cert, err := tlsparse.ParseCertificate(msg, c.Version().IsTLS13())
		if err != nil {
			cs.anomaly(Anomaly{Code: "bad_certificate_message", Frame: a.frame, Detail: err.Error()})
			base.Detail = "malformed"
			cs.event(a, base)
			return
		}
		chain := make([]*CertInfo, 0, len(cert.Entries))
		for _, e := range cert.Entries {
			chain = append(chain, a.o.Certs.Get(e.Data))
		}
		base.Count = len(chain)
		if side == Server {
			c.Chain = chain
			c.ChainHidden = false
		} else {
			c.ClientSentCertificate = true
			c.ClientChain = chain
		}
		base.Detail = certCount(len(chain))
		cs.event(a, base)
	case tlsparse.CertificateRequestType:
		base.Kind = EvCertificateRequest
		if cr, err := tlsparse.ParseCertificateRequest(msg, c.Version().IsTLS13()); err == nil {
			c.CertRequest = cr
		} else {
			c.CertRequest = &tlsparse.CertificateRequest{}
			cs.anomaly(Anomaly{Code: "bad_certificate_request", Frame: a.frame, Detail: err.Error()})
		}
		cs.event(a, base)
	default:
		k, ok := hsKinds[typ]
		if !ok {
			k = EvHandshakeOther
			base.Detail = typ.String()
		}
		base.Kind = k
		cs.event(a, base)
	}
}

func (a *Analyzer) clientHello(cs *connState, side Side, ch *tlsparse.ClientHello, ts time.Time, off int64) {
	if side == Server && cs.c.ClientHello == nil {
		// The side we took for the server sent the ClientHello: the sides
		// are exchanged after this segment (events included).
		cs.swap = true
	}
	switch {
	case cs.c.ClientHello == nil:
		cs.c.ClientHello = ch
	case cs.c.HRR != nil && cs.c.RetryClientHello == nil:
		cs.c.RetryClientHello = ch
	}
	cs.event(a, Event{Kind: EvClientHello, From: side, Frame: a.frame, Offset: off, PeerAck: -1, Length: len(ch.Raw), HSType: tlsparse.ClientHelloType}.At(ts))
	ch.Detach() // the Conn keeps the parsed fields, not the message
}

// certCounts are the details of Certificate events, made once.
var certCounts = func() (s [10]string) {
	for i := range s {
		s[i] = strconv.Itoa(i) + " certificates"
	}
	s[1] = "1 certificate"
	return s
}()

func certCount(n int) string {
	if n < len(certCounts) {
		return certCounts[n]
	}
	return strconv.Itoa(n) + " certificates"
}
