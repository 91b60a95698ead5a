package report

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// This file writes the JSON form of a connection without building a Record
// and without reflection: the bytes are those encoding/json writes for
// NewRecord's result (SetEscapeHTML(false)), which TestFastJSON checks.
// What many connections share is encoded once and remembered: the client's
// offer and fingerprints (by the ClientHello fields they are made of), the
// server's fingerprint, and each certificate of a chain.

// jsonEncoder holds the remembered fragments; one per JSON writer.
type jsonEncoder struct {
	hellos  map[string]*helloJSON
	servers map[string]*serverJSON
	addrs   map[netip.AddrPort]string // serverString
	certs   map[certKey][]byte
	key     []byte // scratch for cache keys
	scratch []byte // scratch for strings built before escaping
	// The last second formatted by appendTime, and its text.
	sec     int64
	secText []byte
	// Where appendRecord last wrote the ID's digits.
	idStart, idEnd int
}

// maxCache bounds each map of remembered fragments; past it, the map starts
// again empty.
const maxCache = 4096

func newJSONEncoder() *jsonEncoder {
	return &jsonEncoder{
		hellos:  make(map[string]*helloJSON),
		servers: make(map[string]*serverJSON),
		addrs:   make(map[netip.AddrPort]string),
		certs:   make(map[certKey][]byte),
		sec:     math.MinInt64,
	}
}

// helloJSON is what a ClientHello contributes to the record, encoded.
type helloJSON struct {
	object       []byte // the "client_hello" object
	ja3          []byte // ,"ja3":"...","ja3_string":"..."
	ja4          []byte // ,"ja4":"..."
	ja3Hash      string
	ja4Value     string
	versionRange string
}

// serverJSON is what a ServerHello contributes: ,"ja3s":...,"ja3s_string":...
type serverJSON struct {
	ja3s     []byte
	ja3sHash string
}

// certKey identifies the encoded form of one certificate of a chain.
type certKey struct {
	sha256                                         string
	position                                       int
	role, key, trustMatch, trustAlias              string
	isCA, selfSigned, inTrust, valid, issuedByNext bool
}

// appendRecord appends the JSON form of a diagnosed connection and a
// newline, and fills sum with the fields the summary counts.
func (e *jsonEncoder) appendRecord(b []byte, c *dissect.Conn, r *diagnose.Result, sum *counted) []byte {
	sum.Verdict, sum.Failed, sum.Cause = string(r.Verdict), r.Failed, string(r.Cause)
	sum.Warnings = sum.Warnings[:0]
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Severity == diagnose.SevWarning {
			sum.Warnings = append(sum.Warnings, string(f.Code))
		}
	}
	b = append(b, `{"type":"connection","file":`...)
	b = appendString(b, c.File)
	b = append(b, `,"id":`...)
	e.idStart = len(b)
	b = strconv.AppendInt(b, int64(c.ID), 10)
	e.idEnd = len(b)
	b = append(b, `,"client":`...)
	b = e.appendAddrPort(b, c.Client)
	b = append(b, `,"server":`...)
	b = e.appendAddrPort(b, c.Server)
	b = append(b, `,"sni":`...)
	b = appendString(b, c.SNI())
	sum.SNI = c.SNI()

	var sh *serverJSON
	b = append(b, `,"version":`...)
	if v := c.Version(); v != 0 && c.ServerHello != nil {
		b = appendString(b, v.String())
		b = append(b, `,"cipher":`...)
		b = appendString(b, c.ServerHello.CipherSuite.String())
		b = append(b, `,"alpn":`...)
		b = appendString(b, c.ServerHello.ALPN)
		sh = e.server(c.ServerHello)
	} else if v != 0 {
		// SSL 2.0: the cipher kind the client chose; no ALPN, no JA3S.
		b = appendString(b, v.String())
		b = append(b, `,"cipher":`...)
		b = appendString(b, c.SSLv2.Cipher())
		b = append(b, `,"alpn":""`...)
	} else {
		b = append(b, `"","cipher":"","alpn":""`...)
	}
	b = append(b, `,"start":`...)
	b = e.appendTime(b, c.FirstTime)
	b = append(b, `,"duration_ms":`...)
	b = appendMS(b, c.LastTime.Sub(c.FirstTime))

	// frames, in the order of their sorted keys.
	var first [2][maxKinds]int
	for i := range c.Events {
		ev := &c.Events[i]
		if int(ev.Kind) < maxKinds && first[ev.From&1][ev.Kind] == 0 {
			first[ev.From&1][ev.Kind] = i + 1
		}
	}
	frameOf := func(s dissect.Side, k dissect.EventKind) int {
		if i := first[s][k]; i > 0 {
			return c.Events[i-1].Frame
		}
		return 0
	}
	var closes [2][2]int // side, FIN/RST
	for s := range 2 {
		if fin := c.Sides[s].FIN; fin != nil {
			closes[s][0] = fin.Frame
		}
		if rst := c.Sides[s].RST; rst != nil {
			closes[s][1] = rst.Frame
		}
	}
	b = append(b, `,"frames":{`...)
	n := 0
	frame := func(key string, v int, ok bool) {
		if !ok {
			return
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	ev := func(key string, s dissect.Side, k dissect.EventKind) {
		f := frameOf(s, k)
		frame(key, f, first[s][k] > 0)
	}
	ev("certificate", dissect.Server, dissect.EvCertificate)
	ev("certificate_request", dissect.Server, dissect.EvCertificateRequest)
	ev("client_encrypted_handshake", dissect.Client, dissect.EvEncryptedHandshake)
	frame("client_fin", closes[dissect.Client][0], c.Sides[dissect.Client].FIN != nil)
	ev("client_hello", dissect.Client, dissect.EvClientHello)
	ev("client_key_exchange", dissect.Client, dissect.EvClientKeyExchange)
	frame("client_rst", closes[dissect.Client][1], c.Sides[dissect.Client].RST != nil)
	ev("hello_retry_request", dissect.Server, dissect.EvHelloRetryRequest)
	ev("server_encrypted_handshake", dissect.Server, dissect.EvEncryptedHandshake)
	frame("server_fin", closes[dissect.Server][0], c.Sides[dissect.Server].FIN != nil)
	ev("server_hello", dissect.Server, dissect.EvServerHello)
	ev("server_hello_done", dissect.Server, dissect.EvServerHelloDone)
	frame("server_rst", closes[dissect.Server][1], c.Sides[dissect.Server].RST != nil)
	ev("syn", dissect.Client, dissect.EvSYN)
	ev("syn_ack", dissect.Server, dissect.EvSYN)
	b = append(b, '}')

	b = append(b, `,"chain":[`...)
	if ch := r.Chain; ch != nil {
		for i := range ch.Certs {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendChainCert(b, &ch.Certs[i])
		}
	}
	b = append(b, `],"chain_hidden":`...)
	b = strconv.AppendBool(b, c.ChainHidden)

	b = append(b, `,"alerts":[`...)
	n = 0
	for i := range c.Events {
		ev := &c.Events[i]
		if ev.Kind != dissect.EvAlert && ev.Kind != dissect.EvEncryptedAlert {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"from":`...)
		b = appendString(b, ev.From.String())
		encrypted := ev.Kind == dissect.EvEncryptedAlert
		b = append(b, `,"level":`...)
		if encrypted {
			b = append(b, `"","description":""`...)
		} else {
			b = appendString(b, ev.Alert.Level.String())
			b = append(b, `,"description":`...)
			b = appendString(b, ev.Alert.Description.String())
		}
		b = append(b, `,"encrypted":`...)
		b = strconv.AppendBool(b, encrypted)
		if ev.Decrypted {
			b = append(b, `,"decrypted":true`...)
		}
		if ev.Cut {
			b = append(b, `,"cut":true`...)
		}
		b = append(b, `,"frame":`...)
		b = strconv.AppendInt(b, int64(ev.Frame), 10)
		b = append(b, `,"time":`...)
		b = e.appendTime(b, ev.Time())
		if ev.Detail != "" {
			b = append(b, `,"note":`...)
			b = appendString(b, ev.Detail)
		}
		b = append(b, '}')
	}
	b = append(b, `],"verdict":`...)
	b = appendString(b, string(r.Verdict))
	b = append(b, `,"verdict_detail":`...)
	b = appendString(b, r.Detail)
	b = append(b, `,"failed":`...)
	b = strconv.AppendBool(b, r.Failed)
	b = append(b, `,"cause":`...)
	b = appendString(b, string(r.Cause))
	b = append(b, `,"cause_detail":`...)
	b = appendString(b, r.CauseDetail)
	b = append(b, `,"fix":`...)
	b = appendString(b, r.Fix)
	if r.ClientError != "" {
		b = append(b, `,"client_error":`...)
		b = appendString(b, r.ClientError)
	}
	b = append(b, `,"findings":[`...)
	for i := range r.Findings {
		f := &r.Findings[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = appendString(b, string(f.Code))
		b = append(b, `,"severity":`...)
		b = appendString(b, string(f.Severity))
		b = append(b, `,"summary":`...)
		b = appendString(b, f.Summary)
		if len(f.Evidence) > 0 {
			b = append(b, `,"evidence":`...)
			b = appendStrings(b, f.Evidence)
		}
		b = append(b, '}')
	}
	b = append(b, `],"trust_store":`...)
	b = appendString(b, r.TrustStore)
	if ch := r.Chain; ch != nil {
		b = append(b, `,"trusted":`...)
		b = strconv.AppendBool(b, ch.Trusted)
		if len(ch.Path) > 0 {
			b = append(b, `,"trust_path":`...)
			b = appendStrings(b, ch.Path)
		}
	}
	b = append(b, `,"host":`...)
	b = appendString(b, r.Host)
	b = append(b, `,"name_check":`...)
	b = appendString(b, r.NameCheck)
	if r.CloseAfterCert > 0 {
		b = append(b, `,"close_after_certificate_ms":`...)
		b = appendMS(b, r.CloseAfterCert)
	}
	var hj *helloJSON
	if ch := c.ClientHello; ch != nil {
		hj = e.hello(ch)
		b = append(b, `,"client_hello":`...)
		b = append(b, hj.object...)
		sum.JA3, sum.JA4 = hj.ja3Hash, hj.ja4Value
		cs := r.ClientStack
		sum.Stack = stackLabel(string(cs.Name), cs.Version, string(cs.App))
	}
	b = append(b, `,"hello_retry_request":`...)
	b = strconv.AppendBool(b, c.HRR != nil)
	if hj != nil {
		b = append(b, hj.ja3...)
	}
	if sh != nil {
		b = append(b, sh.ja3s...)
	}
	if hj != nil {
		b = append(b, hj.ja4...)
		b = appendClientStack(b, r)
	}
	b = append(b, `,"client_cert_requested":`...)
	b = strconv.AppendBool(b, c.CertRequest != nil)
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, c.Midstream())
	b = append(b, `,"flipped":`...)
	b = strconv.AppendBool(b, c.Flipped)
	if c.Upgrade != dissect.UpgradeNone {
		b = append(b, `,"upgrade":`...)
		b = appendString(b, string(c.Upgrade))
	}
	if len(c.Anomalies) > 0 {
		b = append(b, `,"anomalies":[`...)
		for i := range c.Anomalies {
			a := &c.Anomalies[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"code":`...)
			b = appendString(b, a.Code)
			b = append(b, `,"frame":`...)
			b = strconv.AppendInt(b, int64(a.Frame), 10)
			b = append(b, `,"detail":`...)
			b = appendString(b, a.Detail)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"timeline":[`...)
	start := c.FirstTime
	for i := range c.Events {
		ev := &c.Events[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"frame":`...)
		b = strconv.AppendInt(b, int64(ev.Frame), 10)
		at := ev.Time()
		b = append(b, `,"time":`...)
		b = e.appendTime(b, at)
		b = append(b, `,"rel_ms":`...)
		b = appendMS(b, at.Sub(start))
		b = append(b, `,"from":`...)
		b = append(b, quoted.side[ev.From]...)
		b = append(b, `,"event":`...)
		b = e.appendEventName(b, ev)
		b = e.appendEventDetail(b, c, ev, hj)
		if ev.Decrypted {
			b = append(b, `,"decrypted":true`...)
		}
		if ev.Cut {
			b = append(b, `,"cut":true`...)
		}
		if ev.FileNo != c.FileNo {
			b = append(b, `,"file":`...)
			b = appendString(b, c.FileOf(ev.FileNo))
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if c.Dropped != 0 {
		b = append(b, `,"events_dropped":`...)
		b = strconv.AppendInt(b, int64(c.Dropped), 10)
	}
	return append(b, "}\n"...)
}

// Encoder makes the JSON form of connections before they are written, on
// another goroutine than the writer's: one Encoder per goroutine
// (JSON.Preparer).
type Encoder struct {
	e    *jsonEncoder
	size int // the capacity a new record's buffer starts with
}

// Prepare makes the JSON record of c diagnosed as r.
func (x *Encoder) Prepare(c *dissect.Conn, r *diagnose.Result) *Prepared {
	p := &Prepared{}
	p.b = x.e.appendRecord(preparedBuf(x.size), c, r, &p.sum)
	x.size = min(max(x.size, len(p.b)+len(p.b)/4), 64<<10)
	p.idStart, p.idEnd = x.e.idStart, x.e.idEnd
	p.sum.Server = x.e.serverString(c.Server)
	return p
}

// maxKinds bounds the event kinds the frames table tracks.
const maxKinds = 64

// serverString is ap.String(), remembered: the same servers come back
// connection after connection.
func (e *jsonEncoder) serverString(ap netip.AddrPort) string {
	if s, ok := e.addrs[ap]; ok {
		return s
	}
	s := ap.String()
	if len(e.addrs) >= maxCache {
		clear(e.addrs)
	}
	e.addrs[ap] = s
	return s
}

func (e *jsonEncoder) appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	e.scratch = ap.AppendTo(e.scratch[:0])
	return appendString(b, e.scratch)
}

func (e *jsonEncoder) appendEventName(b []byte, ev *dissect.Event) []byte {
	switch ev.Kind {
	case dissect.EvSYN, dissect.EvFIN, dissect.EvRST:
		return appendString(b, ev.Flags.String())
	case dissect.EvAlert:
		s := append(e.scratch[:0], "Alert "...)
		s = append(s, ev.Alert.Level.String()...)
		s = append(s, ' ')
		s = append(s, ev.Alert.Description.String()...)
		e.scratch = s
		return appendString(b, s)
	case dissect.EvHandshakeOther:
		s := append(append(e.scratch[:0], "Handshake "...), ev.Detail...)
		e.scratch = s
		return appendString(b, s)
	}
	return append(b, quoted.kind[ev.Kind]...)
}

// quoted holds the JSON strings of the event kinds and sides, made once.
var quoted = func() (q struct{ kind, side [256][]byte }) {
	for i := range 256 {
		q.kind[i] = appendString(nil, dissect.EventKind(i).String())
		q.side[i] = appendString(nil, dissect.Side(i).String())
	}
	return q
}()

// appendEventDetail appends ,"detail":... when the event has one: what
// eventDetail returns.
func (e *jsonEncoder) appendEventDetail(b []byte, c *dissect.Conn, ev *dissect.Event, hj *helloJSON) []byte {
	if ev.Cut {
		b = append(b, `,"detail":`...)
		return appendString(b, ev.Detail)
	}
	s := e.scratch[:0]
	switch ev.Kind {
	case dissect.EvClientHello:
		ch := c.ClientHello
		if ch == nil {
			return b
		}
		if ch.ServerName != "" {
			s = append(s, "SNI "...)
			s = append(s, ch.ServerName...)
			s = append(s, ", "...)
		}
		s = append(s, "offers "...)
		s = append(s, hj.versionRange...)
		s = append(s, ", "...)
		s = strconv.AppendInt(s, int64(len(ch.CipherSuites)), 10)
		s = append(s, " cipher suites"...)
		if len(ch.ALPN) > 0 {
			s = append(s, ", ALPN "...)
			for i, p := range ch.ALPN {
				if i > 0 {
					s = append(s, ',')
				}
				s = append(s, p...)
			}
		}
	case dissect.EvClientKeyExchange:
		s = append(s, ev.Detail...)
	case dissect.EvServerHello:
		sh := c.ServerHello
		if sh == nil {
			s = append(s, ev.Detail...)
			break
		}
		s = append(s, sh.Version().String()...)
		s = append(s, ", "...)
		s = append(s, sh.CipherSuite.String()...)
	case dissect.EvCertificate, dissect.EvEncryptedAlert:
		s = append(s, ev.Detail...)
	case dissect.EvEncryptedHandshake, dissect.EvApplicationData:
		if ev.Count > 1 {
			s = strconv.AppendInt(s, int64(ev.Count), 10)
			s = append(s, " records, "...)
		}
		s = strconv.AppendInt(s, int64(ev.Length), 10)
		s = append(s, " bytes"...)
	case dissect.EvGap:
		s = strconv.AppendInt(s, int64(ev.Length), 10)
		s = append(s, " bytes not captured ("...)
		s = append(s, ev.Detail...)
		s = append(s, ')')
	case dissect.EvNotTLS, dissect.EvPlaintext:
		s = strconv.AppendQuote(s, ev.Detail)
	}
	e.scratch = s
	if len(s) == 0 {
		return b
	}
	b = append(b, `,"detail":`...)
	return appendString(b, s)
}

// appendTime appends t as rfc3339 formats it, in quotes.
func (e *jsonEncoder) appendTime(b []byte, t time.Time) []byte {
	// Times of a capture come in runs within one second: the date and
	// clock are formatted when the second changes, checked then to be in
	// the years 1 to 9999 that the layout writes as RFC 3339.
	sec := t.Unix()
	if sec != e.sec {
		if sec < minLayoutSec || sec > maxLayoutSec {
			return appendString(b, rfc3339(t))
		}
		e.sec = sec
		e.secText = t.UTC().AppendFormat(e.secText[:0], "2006-01-02T15:04:05")
	}
	b = append(b, '"')
	b = append(b, e.secText...)
	us := t.Nanosecond() / 1000
	b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z', '"')
	return b
}

// The seconds of the first and last instants of the years 1 to 9999.
var (
	minLayoutSec = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxLayoutSec = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// hello returns the encoded fragments of ch, from the cache when a
// ClientHello with the same fields was seen.
func (e *jsonEncoder) hello(ch *tlsparse.ClientHello) *helloJSON {
	k := e.key[:0]
	u16s := func(v []uint16) {
		k = binary.BigEndian.AppendUint32(k, uint32(len(v)))
		for _, x := range v {
			k = binary.BigEndian.AppendUint16(k, x)
		}
	}
	strs := func(v []string) {
		k = binary.BigEndian.AppendUint32(k, uint32(len(v)))
		for _, x := range v {
			k = binary.BigEndian.AppendUint32(k, uint32(len(x)))
			k = append(k, x...)
		}
	}
	k = binary.BigEndian.AppendUint16(k, uint16(ch.LegacyVersion))
	u16s(ch.SupportedVersions)
	u16s(ch.CipherSuites)
	u16s(ch.SupportedGroups)
	u16s(ch.KeyShareGroups)
	u16s(ch.SignatureAlgorithms)
	k = binary.BigEndian.AppendUint32(k, uint32(len(ch.ExtensionTypes)))
	for _, typ := range ch.ExtensionTypes {
		k = binary.BigEndian.AppendUint16(k, typ)
	}
	strs(ch.ALPN)
	k = binary.BigEndian.AppendUint32(k, uint32(len(ch.ECPointFormats)))
	k = append(k, ch.ECPointFormats...)
	k = append(k, flag(ch.PreSharedKey), flag(ch.EarlyData), flag(ch.ECH), flag(ch.StatusRequest), flag(ch.SSLv2))
	e.key = k
	if h := e.hellos[string(k)]; h != nil {
		return h
	}
	h := &helloJSON{}
	hello := newHello(ch)
	h.versionRange = hello.versionRange()
	h.object = appendHello(nil, hello)
	ja3str, ja3 := tlsparse.JA3(ch)
	h.ja3Hash, h.ja4Value = ja3, tlsparse.JA4(ch, false)
	h.ja3 = append(h.ja3, `,"ja3":`...)
	h.ja3 = appendString(h.ja3, ja3)
	h.ja3 = append(h.ja3, `,"ja3_string":`...)
	h.ja3 = appendString(h.ja3, ja3str)
	h.ja4 = append(h.ja4, `,"ja4":`...)
	h.ja4 = appendString(h.ja4, h.ja4Value)
	if len(e.hellos) >= maxCache {
		clear(e.hellos)
	}
	e.hellos[string(k)] = h
	return h
}

func flag(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendHello(b []byte, h *Hello) []byte {
	b = append(b, `{"versions":`...)
	b = appendStrings(b, h.Versions)
	b = append(b, `,"cipher_suites":`...)
	b = appendStrings(b, h.CipherSuites)
	b = append(b, `,"groups":`...)
	b = appendStrings(b, h.Groups)
	b = append(b, `,"signature_algorithms":`...)
	b = appendStrings(b, h.SignatureAlgorithms)
	b = append(b, `,"key_share_groups":`...)
	b = appendStrings(b, h.KeyShareGroups)
	b = append(b, `,"alpn":`...)
	b = appendStrings(b, h.ALPN)
	b = append(b, `,"extensions":`...)
	b = appendStrings(b, h.Extensions)
	b = append(b, `,"psk":`...)
	b = strconv.AppendBool(b, h.PSK)
	b = append(b, `,"early_data":`...)
	b = strconv.AppendBool(b, h.EarlyData)
	b = append(b, `,"ech":`...)
	b = strconv.AppendBool(b, h.ECH)
	b = append(b, `,"status_request":`...)
	b = strconv.AppendBool(b, h.StatusRequest)
	b = append(b, `,"sslv2":`...)
	b = strconv.AppendBool(b, h.SSLv2)
	return append(b, '}')
}

// server returns the encoded JA3S of sh, from the cache when a ServerHello
// with the same fields was seen.
func (e *jsonEncoder) server(sh *tlsparse.ServerHello) *serverJSON {
	k := e.key[:0]
	k = binary.BigEndian.AppendUint16(k, uint16(sh.LegacyVersion))
	k = binary.BigEndian.AppendUint16(k, uint16(sh.CipherSuite))
	for _, typ := range sh.ExtensionTypes {
		k = binary.BigEndian.AppendUint16(k, typ)
	}
	e.key = k
	if s := e.servers[string(k)]; s != nil {
		return s
	}
	str, sum := tlsparse.JA3S(sh)
	s := &serverJSON{ja3sHash: sum}
	s.ja3s = append(s.ja3s, `,"ja3s":`...)
	s.ja3s = appendString(s.ja3s, sum)
	s.ja3s = append(s.ja3s, `,"ja3s_string":`...)
	s.ja3s = appendString(s.ja3s, str)
	if len(e.servers) >= maxCache {
		clear(e.servers)
	}
	e.servers[string(k)] = s
	return s
}

// appendChainCert appends the JSON form of one judged certificate.
func (e *jsonEncoder) appendChainCert(b []byte, cc *diagnose.ChainCert) []byte {
	k := certKey{
		sha256: cc.Info.SHA256, position: cc.Position, role: cc.Role, key: cc.Key, trustMatch: cc.TrustMatch, trustAlias: cc.TrustAlias,
		isCA: cc.IsCA, selfSigned: cc.SelfSigned, inTrust: cc.InTruststore, valid: cc.ValidAtCapture, issuedByNext: cc.IssuedByNext,
	}
	if j, ok := e.certs[k]; ok {
		return append(b, j...)
	}
	j := appendChainCertJSON(nil, newChainCert(*cc))
	if len(e.certs) >= maxCache {
		clear(e.certs)
	}
	e.certs[k] = j
	return append(b, j...)
}

func appendChainCertJSON(b []byte, c ChainCert) []byte {
	b = append(b, `{"position":`...)
	b = strconv.AppendInt(b, int64(c.Position), 10)
	b = append(b, `,"role":`...)
	b = appendString(b, c.Role)
	b = append(b, `,"subject":`...)
	b = appendString(b, c.Subject)
	b = append(b, `,"issuer":`...)
	b = appendString(b, c.Issuer)
	b = append(b, `,"serial":`...)
	b = appendString(b, c.Serial)
	b = append(b, `,"sha256":`...)
	b = appendString(b, c.SHA256)
	b = append(b, `,"not_before":`...)
	b = appendString(b, c.NotBefore)
	b = append(b, `,"not_after":`...)
	b = appendString(b, c.NotAfter)
	b = append(b, `,"dns_names":`...)
	b = appendStrings(b, c.DNSNames)
	b = append(b, `,"ip_addresses":`...)
	b = appendStrings(b, c.IPAddresses)
	b = append(b, `,"is_ca":`...)
	b = strconv.AppendBool(b, c.IsCA)
	b = append(b, `,"self_signed":`...)
	b = strconv.AppendBool(b, c.SelfSigned)
	b = append(b, `,"key":`...)
	b = appendString(b, c.Key)
	b = append(b, `,"signature_algorithm":`...)
	b = appendString(b, c.SignatureAlgorithm)
	b = append(b, `,"in_truststore":`...)
	b = strconv.AppendBool(b, c.InTruststore)
	if c.TruststoreMatch != "" {
		b = append(b, `,"truststore_match":`...)
		b = appendString(b, c.TruststoreMatch)
	}
	if c.TruststoreAlias != "" {
		b = append(b, `,"truststore_alias":`...)
		b = appendString(b, c.TruststoreAlias)
	}
	b = append(b, `,"valid_at_capture":`...)
	b = strconv.AppendBool(b, c.ValidAtCapture)
	b = append(b, `,"issued_by_next":`...)
	b = strconv.AppendBool(b, c.IssuedByNext)
	if len(c.AIAIssuers) > 0 {
		b = append(b, `,"aia_ca_issuers":`...)
		b = appendStrings(b, c.AIAIssuers)
	}
	if c.ParseError != "" {
		b = append(b, `,"parse_error":`...)
		b = appendString(b, c.ParseError)
	}
	return append(b, '}')
}

// appendStrings appends a JSON array of strings ([] for none).
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFloat appends f as encoding/json writes a float64.
// appendMS appends ms(d) as appendFloat would: whole microseconds as
// milliseconds with up to three decimals, trailing zeros cut. (ms(d) is
// the double nearest that decimal, which has at most 15 significant
// digits here: the shortest form of the double is the decimal itself.)
func appendMS(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us <= -1e15 || us >= 1e15 {
		return appendFloat(b, ms(d))
	}
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	if frac := us % 1000; frac != 0 {
		digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		n := 3
		for digits[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), digits[:n]...)
	}
	return b
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic(fmt.Sprintf("report: %v in JSON", f))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false): invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped.
// plain8 reports whether the 8 bytes of x are all ASCII that JSON keeps
// as it is: none below 0x20, none 0x80 or above, no '"' and no '\\'.
// (Each test is exact for "any byte": (v-0x01..) & ^v & 0x80.. has a bit
// set only if some byte of v is zero.)
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, bslash := x^(ones*'"'), x^(ones*'\\')
	bad := x | (x - ones*0x20) | (quote-ones) & ^quote | (bslash-ones) & ^bslash
	return bad&highs == 0
}

func appendString[S []byte | string](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if plain8(x) {
				i += 8
				continue
			}
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		r, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendClientStack appends ,"client_stack":{...} as ClientStack encodes.
func appendClientStack(b []byte, r *diagnose.Result) []byte {
	s := r.ClientStack
	b = append(b, `,"client_stack":{"name":`...)
	b = appendString(b, string(s.Name))
	if s.Version != "" {
		b = append(b, `,"version":`...)
		b = appendString(b, s.Version)
	}
	if s.App != "" {
		b = append(b, `,"app":`...)
		b = appendString(b, string(s.App))
	}
	b = append(b, `,"evidence":`...)
	b = appendString(b, s.Evidence)
	b = append(b, `,"profile":`...)
	b = appendString(b, r.Profile.Label)
	if r.ProfileForced {
		b = append(b, `,"forced":true`...)
	}
	return append(b, '}')
}
