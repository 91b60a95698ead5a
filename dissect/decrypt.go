package dissect

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/tlstriage/tlstriage/tlsdecrypt"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// KeySource finds the secrets a key log holds for a connection, by the
// client random of its ClientHello. *tlsdecrypt.KeyLog implements it. A
// source that also has a Len method and reports 0 is taken as no key log
// at all, until it holds secrets.
type KeySource interface {
	Lookup(clientRandom []byte) *tlsdecrypt.Secrets
}

// Decryption says what a key log revealed of a connection's encrypted
// records. It is set on connections whose encrypted records were seen while
// a KeySource was given.
type Decryption struct {
	// ClientRandom is the random the secrets were looked up by (hex).
	ClientRandom string
	// Keys reports whether the key source held secrets for the connection.
	Keys bool
	// Unsupported says why decryption was not attempted (a version or
	// cipher suite this tool cannot decrypt); "" otherwise.
	Unsupported string
	// Missing names the key log labels the connection needed that the log
	// lacks ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", ...), in the order needed.
	Missing []string
	// Records counts the records decrypted, by side.
	Records [2]int
	// Mismatch is set, by side, when the first record failed
	// authentication: the secrets do not belong to this connection.
	Mismatch [2]bool
	// Failed says, by side, why decryption stopped early ("" when it did
	// not), with FailedFrame the frame of the record that failed.
	Failed      [2]string
	FailedFrame [2]int
	// Deflate is set when the session's records were DEFLATE-compressed
	// (RFC 3749) and were decompressed after decryption.
	Deflate bool
	// Renegotiated counts, by side, the TLS 1.2 renegotiations whose keys
	// decryption went on with: the side's ChangeCipherSpec, itself
	// encrypted, switched to the keys of the new handshake's master secret.
	Renegotiated [2]int
}

func (d *Decryption) missing(label string) {
	for _, m := range d.Missing {
		if m == label {
			return
		}
	}
	d.Missing = append(d.Missing, label)
}

// Bounds of decryption after a side's handshake: only short records (an
// alert, a session ticket) are worth opening, and only the first few.
const (
	maxPostRecordLen = 512
	maxPostRecords   = 16
	// maxEarlySkips bounds the client records taken for 0-RTT data (they
	// fail with the handshake key) before the client's key is judged wrong.
	maxEarlySkips = 64
)

// decDir is the decryption state of one direction.
type decDir struct {
	off      bool // no (more) decryption for this side
	c        *tlsdecrypt.Cipher
	app      bool // TLS 1.3: c is the application traffic cipher
	hs       *tlsparse.HandshakeBuffer
	hsFailed bool
	post     int // records opened after the side's Finished
	opened   int // records opened
	early    int // TLS 1.3 client records skipped as 0-RTT data
	// TLS 1.2 renegotiation (RFC 5246, Section 7.4.1): hello is the random
	// of the client's renegotiating ClientHello (client side); next the
	// keys of the new handshake, taken at the side's next ChangeCipherSpec,
	// or nextErr why they are unknown.
	hello    []byte
	next     *tlsdecrypt.Cipher
	nextComp uint8
	nextErr  string
	// zip follows the side's DEFLATE stream when the session compresses
	// its records (RFC 3749); nil otherwise.
	zip *tlsdecrypt.Inflater
}

// decState returns the decryption state of side, creating it (and its
// cipher) at the side's first encrypted record; nil or an off state means
// no decryption. Whether the key source has secrets is decided once, at
// that first record: later records could not be opened anyway, since the
// sequence numbers of those skipped would be unknown.
func (a *Analyzer) decState(cs *connState, side Side) *decDir {
	t := &cs.dirs[side].tls
	if t.dec != nil {
		return t.dec
	}
	c := cs.c
	if a.o.Keys == nil || c.ClientHello == nil || c.ServerHello == nil || len(c.ClientHello.Random) != 32 {
		return nil
	}
	if l, ok := a.o.Keys.(interface{ Len() int }); ok && l.Len() == 0 {
		// An empty key log: no decryption to speak of (yet: secrets may
		// come later from the capture's Decryption Secrets Blocks).
		return nil
	}
	d := &decDir{off: true}
	t.dec = d
	if c.Decryption == nil {
		c.Decryption = &Decryption{ClientRandom: hex.EncodeToString(c.ClientHello.Random)}
	}
	info := c.Decryption
	if c.Sides[side].Encrypted > 0 {
		// Secrets that came after this side's first encrypted records:
		// the sequence numbers of those records are unknown.
		info.Failed[side] = "the secrets arrived after this side's first encrypted records"
		info.FailedFrame[side] = a.frame
		return d
	}
	v, suite := c.Version(), uint16(c.ServerHello.CipherSuite)
	if v != tlsparse.VersionTLS12 && v != tlsparse.VersionTLS13 || !tlsdecrypt.Supported(uint16(v), suite) {
		info.Unsupported = fmt.Sprintf("%s with %s", v, c.ServerHello.CipherSuite)
		return d
	}
	comp := c.ServerHello.CompressionMethod
	if v == tlsparse.VersionTLS13 {
		comp = tlsdecrypt.CompressionNull // (TLS 1.3 has none: RFC 8446, Section 4.1.3)
	}
	if !knownCompression(comp) {
		info.Unsupported = fmt.Sprintf("%s with compression method %d", v, comp)
		return d
	}
	sec := a.o.Keys.Lookup(c.ClientHello.Random)
	if sec == nil && c.RetryClientHello != nil {
		sec = a.o.Keys.Lookup(c.RetryClientHello.Random)
	}
	if sec == nil {
		return d
	}
	info.Keys = true
	var err error
	if v == tlsparse.VersionTLS13 {
		secret, label := sec.ClientHandshake, tlsdecrypt.LabelClientHandshakeTraffic
		if side == Server {
			secret, label = sec.ServerHandshake, tlsdecrypt.LabelServerHandshakeTraffic
		}
		if secret == nil {
			info.missing(label)
			return d
		}
		d.c, err = tlsdecrypt.NewCipher13(suite, secret)
	} else {
		if sec.MasterSecret == nil {
			info.missing(tlsdecrypt.LabelClientRandom)
			return d
		}
		d.c, err = tlsdecrypt.NewCipher12(tlsdecrypt.Params12{
			Suite: suite, MasterSecret: sec.MasterSecret,
			ClientRandom: c.ClientHello.Random, ServerRandom: c.ServerHello.Random,
			EncryptThenMAC: hasExtension(c.ServerHello, extEncryptThenMAC),
		}, tlsdecrypt.Side(side))
	}
	if err != nil {
		// The key log checked the sizes; a secret of the other hash size
		// for this suite is a mismatch too.
		info.Mismatch[side] = true
		info.Failed[side] = err.Error()
		info.FailedFrame[side] = a.frame
		return d
	}
	d.off = false
	if comp == tlsdecrypt.CompressionDeflate {
		d.zip = new(tlsdecrypt.Inflater)
		info.Deflate = true
	}
	return d
}

// knownCompression reports whether records compressed with method can be
// read: none, or DEFLATE (RFC 3749).
func knownCompression(method uint8) bool {
	return method == tlsdecrypt.CompressionNull || method == tlsdecrypt.CompressionDeflate
}

// extEncryptThenMAC is the encrypt_then_mac extension (RFC 7366).
const extEncryptThenMAC = 22

func hasExtension(sh *tlsparse.ServerHello, typ uint16) bool {
	return slices.Contains(sh.ExtensionTypes, typ)
}

// protected reports whether the record with header h that side sends is
// protected by the side's record keys: in TLS 1.3 every application_data
// record after the ServerHello, in TLS 1.2 every record after the side's
// ChangeCipherSpec.
func (a *Analyzer) protected(cs *connState, side Side, h tlsparse.RecordHeader) bool {
	c := cs.c
	if c.ServerHello == nil {
		return false
	}
	switch c.Version() {
	case tlsparse.VersionTLS13:
		return h.Type == tlsparse.TypeApplicationData
	case tlsparse.VersionSSL30, tlsparse.VersionTLS10, tlsparse.VersionTLS11, tlsparse.VersionTLS12:
		// (Decrypted for TLS 1.2 only: decState says the others are not.)
		return cs.dirs[side].tls.ccs
	}
	return false
}

// wantDecrypt reports whether the body of the protected record with header
// h should be kept to be decrypted: while the handshake is in progress,
// and for a few short records after it.
func (a *Analyzer) wantDecrypt(cs *connState, side Side, h tlsparse.RecordHeader) bool {
	if a.o.Keys == nil || !a.protected(cs, side, h) {
		return false
	}
	d := a.decState(cs, side)
	if d == nil || d.off {
		return false
	}
	if cs.c.Version() == tlsparse.VersionTLS12 {
		if d.zip != nil {
			// Each record continues the DEFLATE stream: all are read.
			return true
		}
		// Finished, alerts and the messages and ChangeCipherSpec of a
		// renegotiation; application data is only counted.
		return h.Type == tlsparse.TypeHandshake || h.Type == tlsparse.TypeAlert || h.Type == tlsparse.TypeChangeCipherSpec
	}
	if d.app {
		return h.Length <= maxPostRecordLen && d.post < maxPostRecords
	}
	return true
}

// decrypt is the record layer's decryption: it opens a protected record of
// side whose body was kept, or counts one that was not. When it reports
// ok, typ is the record's inner content type and pt its plaintext
// (decompressed when the session compresses). Otherwise the record stays
// sealed: t.keep is cleared once decryption was tried, so that it is
// handled as an encrypted record.
func (a *Analyzer) decrypt(cs *connState, side Side) (typ tlsparse.ContentType, pt []byte, ok bool) {
	t := &cs.dirs[side].tls
	d := t.dec
	if d == nil || d.off || d.c == nil || !a.protected(cs, side, t.rec) {
		return 0, nil, false
	}
	if !t.keep && d.zip != nil {
		// The DEFLATE history of the records after it is lost.
		d.off = true
		c := cs.c
		c.Decryption.FailedFrame[side] = a.frame
		c.Decryption.Failed[side] = fmt.Sprintf("compressed record %d was not read: the records after it cannot be decompressed", d.c.Seq())
		return 0, nil, false
	}
	if !t.keep {
		d.c.Skip()
		if d.app {
			d.post++
		}
		return 0, nil, false
	}
	t.keep = false
	c := cs.c
	info := c.Decryption
	inner, pt, err := d.c.Open(uint8(t.rec.Type), uint16(t.rec.Version), t.body)
	if err != nil {
		if side == Client && c.Version() == tlsparse.VersionTLS13 && d.opened == 0 && !d.app &&
			c.ClientHello.EarlyData && d.early < maxEarlySkips {
			// Most likely 0-RTT data, under the early traffic secret.
			d.early++
			return 0, nil, false
		}
		d.off = true
		info.FailedFrame[side] = a.frame
		switch {
		case d.opened == 0 && errors.Is(err, tlsdecrypt.ErrAuth):
			info.Mismatch[side] = true
			info.Failed[side] = "the first encrypted record failed authentication: the secrets do not match this connection"
		default:
			info.Failed[side] = fmt.Sprintf("record %d could not be decrypted after %d that could (%v)", d.c.Seq(), d.opened, err)
		}
		return 0, nil, false
	}
	if d.zip != nil {
		if pt, err = d.zip.Decompress(pt); err != nil {
			d.off = true
			info.FailedFrame[side] = a.frame
			info.Failed[side] = fmt.Sprintf("record %d was decrypted but could not be decompressed (%v)", d.c.Seq()-1, err)
			cs.anomaly(Anomaly{Code: "decompression_failure", Frame: a.frame, Detail: fmt.Sprintf("%s record %d: %v", side, d.c.Seq()-1, err)})
			return 0, nil, false
		}
	}
	d.opened++
	info.Records[side]++
	if d.app {
		d.post++
	}
	return tlsparse.ContentType(inner), pt, true
}

// decryptedNote is the Detail of an alert that was decrypted.
const decryptedNote = "decrypted with the key log"

// encryptedRun records an encrypted handshake record like encrypted does,
// merging it into the side's run even when the messages decrypted from the
// run's records were recorded after it.
func (a *Analyzer) encryptedRun(cs *connState, side Side, e Event) {
	ev := cs.c.Events
	for i := len(ev) - 1; i >= 0; i-- {
		last := &ev[i]
		if last.From != side {
			break
		}
		if last.Decrypted {
			continue
		}
		if last.Kind == e.Kind {
			last.Count++
			last.Length += e.Length
			a.checkDone(cs)
			return
		}
		break
	}
	a.encrypted(cs, side, e)
}

// decryptedHandshake feeds decrypted handshake bytes to side's buffer and
// records each complete message as the plaintext ones are (a Certificate
// fills the chain), marked as decrypted.
func (a *Analyzer) decryptedHandshake(cs *connState, side Side, d *decDir, pt []byte, base Event) {
	if d.hsFailed {
		return
	}
	a.bufferHandshake(cs, &d.hs, &d.hsFailed, cs.dirs[side].tls.maxHS, pt, "decrypted ", func(typ tlsparse.HandshakeType, msg []byte) bool {
		switch {
		case (typ == tlsparse.ClientHelloType || typ == tlsparse.ServerHelloType) && cs.c.Version() == tlsparse.VersionTLS12:
			a.renegotiationHello(cs, side, d, typ, msg, base)
		case typ == tlsparse.ClientHelloType || typ == tlsparse.ServerHelloType:
			// Never in a TLS 1.3 encrypted flight: do not let it replace
			// the hellos seen in plaintext.
			e := base
			e.Kind, e.HSType, e.Length, e.Detail = EvHandshakeOther, typ, len(msg), typ.String()
			cs.anomaly(Anomaly{Code: "unexpected_message", Frame: a.frame, Detail: "decrypted " + typ.String() + " in an encrypted flight"})
			cs.event(a, e)
		default:
			a.handshake(cs, side, typ, msg, base)
		}
		if typ == tlsparse.Finished && cs.c.Version() == tlsparse.VersionTLS13 && !d.app {
			a.nextKeys(cs, side, d)
		}
		if typ == tlsparse.KeyUpdate && d.app {
			// Only the first application traffic secrets are logged.
			d.off = true
			return false
		}
		return true
	})
}

// nextKeys switches side from its TLS 1.3 handshake traffic keys to its
// first application traffic keys, after its Finished.
func (a *Analyzer) nextKeys(cs *connState, side Side, d *decDir) {
	c := cs.c
	d.app = true
	sec := a.o.Keys.Lookup(c.ClientHello.Random)
	if sec == nil && c.RetryClientHello != nil {
		sec = a.o.Keys.Lookup(c.RetryClientHello.Random)
	}
	secret, label := []byte(nil), tlsdecrypt.LabelClientTraffic0
	if sec != nil {
		secret = sec.ClientTraffic
	}
	if side == Server {
		label = tlsdecrypt.LabelServerTraffic0
		if sec != nil {
			secret = sec.ServerTraffic
		}
	}
	if secret == nil {
		c.Decryption.missing(label)
		d.off = true
		return
	}
	ci, err := tlsdecrypt.NewCipher13(uint16(c.ServerHello.CipherSuite), secret)
	if err != nil {
		c.Decryption.Failed[side] = err.Error()
		c.Decryption.FailedFrame[side] = a.frame
		d.off = true
		return
	}
	d.c = ci
}

// renegotiationNote ends the Detail of the hellos of a renegotiation.
const renegotiationNote = " (renegotiation)"

// renegotiationHello handles a ClientHello or ServerHello decrypted from a
// TLS 1.2 session: a renegotiation, a new handshake under the session's
// keys (RFC 5246, Section 7.4.1; RFC 5746). It is recorded without
// replacing the hellos of the first handshake. The client's random is kept;
// at the ServerHello both sides' keys for the new master secret are
// derived, to be taken at each side's ChangeCipherSpec.
func (a *Analyzer) renegotiationHello(cs *connState, side Side, d *decDir, typ tlsparse.HandshakeType, msg []byte, base Event) {
	e := base
	e.Kind, e.HSType, e.Length, e.Detail = EvHandshakeOther, typ, len(msg), typ.String()+renegotiationNote
	cs.event(a, e)
	want := Client
	if typ == tlsparse.ServerHelloType {
		want = Server
	}
	if side != want {
		cs.anomaly(Anomaly{Code: "unexpected_message", Frame: a.frame, Detail: "decrypted " + typ.String() + " from the " + side.String()})
		return
	}
	if typ == tlsparse.ClientHelloType {
		ch, err := tlsparse.ParseClientHello(msg)
		if err != nil {
			cs.anomaly(Anomaly{Code: "bad_client_hello", Frame: a.frame, Detail: "decrypted: " + err.Error()})
			return
		}
		d.hello = bytes.Clone(ch.Random)
		return
	}
	sh, err := tlsparse.ParseServerHello(msg)
	if err != nil {
		cs.anomaly(Anomaly{Code: "bad_server_hello", Frame: a.frame, Detail: "decrypted: " + err.Error()})
		a.nextKeys12(cs, nil, "its ServerHello is malformed")
		return
	}
	a.nextKeys12(cs, sh, "")
}

// nextKeys12 derives both sides' keys for the renegotiated handshake whose
// ServerHello is sh, or, when they cannot be derived, notes why (reason,
// or what is missing).
func (a *Analyzer) nextKeys12(cs *connState, sh *tlsparse.ServerHello, reason string) {
	c := cs.c
	cd, sd := cs.dirs[Client].tls.dec, cs.dirs[Server].tls.dec
	var random []byte
	if cd != nil {
		random, cd.hello = cd.hello, nil
	}
	var keys [2]*tlsdecrypt.Cipher
	switch {
	case reason != "":
	case random == nil:
		reason = "the client's ClientHello was not decrypted"
	case sh.Version() != tlsparse.VersionTLS12 || !tlsdecrypt.Supported(uint16(sh.Version()), uint16(sh.CipherSuite)):
		reason = fmt.Sprintf("decrypting %s with %s is not supported", sh.Version(), sh.CipherSuite)
	case !knownCompression(sh.CompressionMethod):
		reason = fmt.Sprintf("decrypting %s with compression method %d is not supported", sh.Version(), sh.CompressionMethod)
	default:
		sec := a.o.Keys.Lookup(random)
		if sec == nil || sec.MasterSecret == nil {
			c.Decryption.missing(tlsdecrypt.LabelClientRandom)
			reason = "the key log has no " + tlsdecrypt.LabelClientRandom + " line for its client random " + hex.EncodeToString(random)
			break
		}
		p := tlsdecrypt.Params12{
			Suite: uint16(sh.CipherSuite), MasterSecret: sec.MasterSecret,
			ClientRandom: random, ServerRandom: sh.Random,
			EncryptThenMAC: hasExtension(sh, extEncryptThenMAC),
		}
		for _, s := range []Side{Client, Server} {
			var err error
			if keys[s], err = tlsdecrypt.NewCipher12(p, tlsdecrypt.Side(s)); err != nil {
				reason = err.Error()
				keys = [2]*tlsdecrypt.Cipher{}
				break
			}
		}
	}
	if reason != "" {
		reason = "the session renegotiated and the new keys are unknown: " + reason
	}
	for s, d := range []*decDir{cd, sd} {
		if d != nil {
			d.next, d.nextErr = keys[s], reason
			if sh != nil {
				d.nextComp = sh.CompressionMethod
			}
		}
	}
}

// renegotiatedKeys switches side to the keys of the renegotiated handshake
// at its decrypted ChangeCipherSpec (RFC 5246, Section 7.1); decryption of
// the side stops when they are unknown.
func (a *Analyzer) renegotiatedKeys(cs *connState, side Side, d *decDir) {
	info := cs.c.Decryption
	if d.next == nil {
		d.off = true
		info.FailedFrame[side] = a.frame
		info.Failed[side] = d.nextErr
		if d.nextErr == "" {
			info.Failed[side] = "a ChangeCipherSpec under the session's keys, without a renegotiating ServerHello decrypted before it"
		}
		return
	}
	d.c, d.next, d.nextErr = d.next, nil, ""
	d.zip = nil
	if d.nextComp == tlsdecrypt.CompressionDeflate {
		// A new session, a new stream.
		d.zip = new(tlsdecrypt.Inflater)
		info.Deflate = true
	}
	info.Renegotiated[side]++
}
