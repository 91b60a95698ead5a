package report

import (
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// Record is the JSON form of one connection. Field names are a contract:
// add fields freely, never rename.
type Record struct {
	Type                string             `json:"type"` // "connection"
	File                string             `json:"file"`
	ID                  int                `json:"id"`
	Client              string             `json:"client"`
	Server              string             `json:"server"`
	SNI                 string             `json:"sni"`
	Version             string             `json:"version"`
	Cipher              string             `json:"cipher"`
	ALPN                string             `json:"alpn"`
	Start               string             `json:"start"`
	DurationMS          float64            `json:"duration_ms"`
	Frames              map[string]int     `json:"frames"`
	Chain               []ChainCert        `json:"chain"`
	ChainHidden         bool               `json:"chain_hidden"`
	Alerts              []Alert            `json:"alerts"`
	Verdict             string             `json:"verdict"`
	VerdictDetail       string             `json:"verdict_detail"`
	Failed              bool               `json:"failed"`
	Cause               string             `json:"cause"`
	CauseDetail         string             `json:"cause_detail"`
	Fix                 string             `json:"fix"`
	ClientError         string             `json:"client_error,omitempty"`
	Findings            []diagnose.Finding `json:"findings"`
	TrustStore          string             `json:"trust_store"`
	Trusted             *bool              `json:"trusted,omitempty"`
	TrustPath           []string           `json:"trust_path,omitempty"`
	Host                string             `json:"host"`
	NameCheck           string             `json:"name_check"`
	CloseAfterCertMS    *float64           `json:"close_after_certificate_ms,omitempty"`
	ClientHello         *Hello             `json:"client_hello,omitempty"`
	HelloRetry          bool               `json:"hello_retry_request"`
	JA3                 string             `json:"ja3,omitempty"`
	JA3String           string             `json:"ja3_string,omitempty"`
	JA3S                string             `json:"ja3s,omitempty"`
	JA3SString          string             `json:"ja3s_string,omitempty"`
	JA4                 string             `json:"ja4,omitempty"`
	ClientStack         *ClientStack       `json:"client_stack,omitempty"`
	ClientCertRequested bool               `json:"client_cert_requested"`
	Partial             bool               `json:"partial"`
	Flipped             bool               `json:"flipped"`
	Upgrade             string             `json:"upgrade,omitempty"`
	Anomalies           []dissect.Anomaly  `json:"anomalies,omitempty"`
	Timeline            []TimelineEvent    `json:"timeline"`
	EventsDropped       int                `json:"events_dropped,omitempty"`
}

// ClientStack is the TLS stack that wrote the ClientHello and the profile
// the connection was judged with.
type ClientStack struct {
	Name     string `json:"name"`              // java, openssl, go, gnutls, nss, boringssl, rustls, schannel, unknown
	Version  string `json:"version,omitempty"` // a release range, when the offer tells it
	App      string `json:"app,omitempty"`     // curl, s_client, python, node, when the offer tells it
	Evidence string `json:"evidence"`
	// Profile names the rules the connection was judged with; Forced
	// says --client chose them.
	Profile string `json:"profile"`
	Forced  bool   `json:"forced,omitempty"`
}

func newClientStack(r *diagnose.Result) *ClientStack {
	s := r.ClientStack
	return &ClientStack{Name: string(s.Name), Version: s.Version, App: string(s.App), Evidence: s.Evidence, Profile: r.Profile.Label, Forced: r.ProfileForced}
}

// Hello summarises the client's offer.
type Hello struct {
	Versions            []string `json:"versions"`
	CipherSuites        []string `json:"cipher_suites"`
	Groups              []string `json:"groups"`
	SignatureAlgorithms []string `json:"signature_algorithms"`
	KeyShareGroups      []string `json:"key_share_groups"`
	ALPN                []string `json:"alpn"`
	Extensions          []string `json:"extensions"`
	PSK                 bool     `json:"psk"`
	EarlyData           bool     `json:"early_data"`
	ECH                 bool     `json:"ech"`
	StatusRequest       bool     `json:"status_request"`
	SSLv2               bool     `json:"sslv2"`
}

// ChainCert is one certificate of the server's chain.
type ChainCert struct {
	Position           int      `json:"position"`
	Role               string   `json:"role"`
	Subject            string   `json:"subject"`
	Issuer             string   `json:"issuer"`
	Serial             string   `json:"serial"`
	SHA256             string   `json:"sha256"`
	NotBefore          string   `json:"not_before"`
	NotAfter           string   `json:"not_after"`
	DNSNames           []string `json:"dns_names"`
	IPAddresses        []string `json:"ip_addresses"`
	IsCA               bool     `json:"is_ca"`
	SelfSigned         bool     `json:"self_signed"`
	Key                string   `json:"key"`
	SignatureAlgorithm string   `json:"signature_algorithm"`
	InTruststore       bool     `json:"in_truststore"`
	TruststoreMatch    string   `json:"truststore_match,omitempty"`
	TruststoreAlias    string   `json:"truststore_alias,omitempty"`
	ValidAtCapture     bool     `json:"valid_at_capture"`
	IssuedByNext       bool     `json:"issued_by_next"`
	AIAIssuers         []string `json:"aia_ca_issuers,omitempty"`
	ParseError         string   `json:"parse_error,omitempty"`
}

// Alert is one alert.
type Alert struct {
	From        string `json:"from"`
	Level       string `json:"level"`
	Description string `json:"description"`
	Encrypted   bool   `json:"encrypted"`
	Decrypted   bool   `json:"decrypted,omitempty"` // read from an encrypted record with the key log
	Cut         bool   `json:"cut,omitempty"`       // not captured whole: its content is unknown
	Frame       int    `json:"frame"`
	Time        string `json:"time"`
	Note        string `json:"note,omitempty"`
}

// TimelineEvent is one event of the timeline.
type TimelineEvent struct {
	Frame  int     `json:"frame"`
	Time   string  `json:"time"`
	RelMS  float64 `json:"rel_ms"`
	From   string  `json:"from"`
	Event  string  `json:"event"`
	Detail string  `json:"detail,omitempty"`
	// Decrypted is set on messages and alerts read from encrypted records
	// with the key log.
	Decrypted bool `json:"decrypted,omitempty"`
	// Cut is set on messages and alerts the capture lacks bytes of: named
	// from their header, not parsed.
	Cut bool `json:"cut,omitempty"`
	// File names the file of Frame when it is not the connection's file:
	// a connection cut by a capture rotation, read as one capture.
	File string `json:"file,omitempty"`
}

const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func rfc3339(t time.Time) string { return t.UTC().Format(timeLayout) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// NewRecord builds the JSON form of a diagnosed connection.
func NewRecord(c *dissect.Conn, r *diagnose.Result) *Record { return newRecord(c, r, nil, false) }

// newRecord is NewRecord. For the text report (fp set) it leaves out what
// that report never shows: the ClientHello's lists, the frames, the alerts,
// the events' times and the fingerprints' strings (the hashes come from
// fp's caches); lean, also the timeline, which it shows only for failures
// and with -v.
func newRecord(c *dissect.Conn, r *diagnose.Result, fp *jsonEncoder, lean bool) *Record {
	rec := &Record{
		Type: "connection", File: c.File, ID: c.ID,
		Client: c.Client.String(), Server: c.Server.String(),
		SNI: c.SNI(), Start: rfc3339(c.FirstTime), DurationMS: ms(c.LastTime.Sub(c.FirstTime)),
		Chain: []ChainCert{}, Alerts: []Alert{}, Findings: r.Findings, Timeline: []TimelineEvent{},
		Verdict: string(r.Verdict), VerdictDetail: r.Detail, Failed: r.Failed, Cause: string(r.Cause), CauseDetail: r.CauseDetail, Fix: r.Fix, ClientError: r.ClientError,
		TrustStore: r.TrustStore, Host: r.Host, NameCheck: r.NameCheck, ChainHidden: c.ChainHidden,
		HelloRetry: c.HRR != nil, ClientCertRequested: c.CertRequest != nil,
		Partial: c.Midstream(), Flipped: c.Flipped, Upgrade: string(c.Upgrade), Anomalies: c.Anomalies, EventsDropped: c.Dropped,
	}
	if rec.Findings == nil {
		rec.Findings = []diagnose.Finding{}
	}
	if v := c.Version(); v != 0 && c.ServerHello == nil {
		rec.Version = v.String()
		rec.Cipher = c.SSLv2.Cipher()
	} else if v != 0 {
		rec.Version = v.String()
		rec.Cipher = c.ServerHello.CipherSuite.String()
		rec.ALPN = c.ServerHello.ALPN
		if fp != nil {
			rec.JA3S = fp.server(c.ServerHello).ja3sHash
		} else {
			rec.JA3SString, rec.JA3S = tlsparse.JA3S(c.ServerHello)
		}
	}
	versions := "" // what the ClientHello offers, for the timeline
	if ch := c.ClientHello; ch != nil {
		rec.ClientStack = newClientStack(r)
		if fp != nil {
			hj := fp.hello(ch)
			rec.JA3, rec.JA4, versions = hj.ja3Hash, hj.ja4Value, hj.versionRange
		} else {
			rec.ClientHello = newHello(ch)
			rec.JA3String, rec.JA3 = tlsparse.JA3(ch)
			rec.JA4 = tlsparse.JA4(ch, false)
			versions = rec.ClientHello.versionRange()
		}
	}
	if r.CloseAfterCert > 0 {
		v := ms(r.CloseAfterCert)
		rec.CloseAfterCertMS = &v
	}
	if ch := r.Chain; ch != nil {
		t := ch.Trusted
		rec.Trusted = &t
		rec.TrustPath = ch.Path
		for _, cc := range ch.Certs {
			rec.Chain = append(rec.Chain, newChainCert(cc))
		}
	}
	if lean {
		return rec
	}
	text := fp != nil
	if !text {
		rec.Frames = frames(c)
	}
	start := c.FirstTime
	for i := range c.Events {
		e := &c.Events[i]
		at := e.Time()
		if !text && (e.Kind == dissect.EvAlert || e.Kind == dissect.EvEncryptedAlert) {
			a := Alert{From: e.From.String(), Frame: e.Frame, Time: rfc3339(at), Encrypted: e.Kind == dissect.EvEncryptedAlert, Decrypted: e.Decrypted, Cut: e.Cut, Note: e.Detail}
			if !a.Encrypted {
				a.Level = e.Alert.Level.String()
				a.Description = e.Alert.Description.String()
			}
			rec.Alerts = append(rec.Alerts, a)
		}
		te := TimelineEvent{
			Frame: e.Frame, RelMS: ms(at.Sub(start)),
			From: e.From.String(), Event: eventName(e), Detail: eventDetail(c, e, versions), Decrypted: e.Decrypted, Cut: e.Cut,
		}
		if e.FileNo != c.FileNo {
			te.File = c.FileOf(e.FileNo)
		}
		if !text {
			te.Time = rfc3339(at)
		}
		rec.Timeline = append(rec.Timeline, te)
	}
	return rec
}

// frames is the frame of each step of c's handshake and close.
func frames(c *dissect.Conn) map[string]int {
	m := map[string]int{}
	frame := func(key string, e *dissect.Event) {
		if e != nil {
			m[key] = e.Frame
		}
	}
	frame("syn", c.First(dissect.Client, dissect.EvSYN))
	frame("syn_ack", c.First(dissect.Server, dissect.EvSYN))
	frame("client_hello", c.First(dissect.Client, dissect.EvClientHello))
	frame("hello_retry_request", c.First(dissect.Server, dissect.EvHelloRetryRequest))
	frame("server_hello", c.First(dissect.Server, dissect.EvServerHello))
	frame("certificate", c.First(dissect.Server, dissect.EvCertificate))
	frame("certificate_request", c.First(dissect.Server, dissect.EvCertificateRequest))
	frame("server_hello_done", c.First(dissect.Server, dissect.EvServerHelloDone))
	frame("server_encrypted_handshake", c.First(dissect.Server, dissect.EvEncryptedHandshake))
	frame("client_key_exchange", c.First(dissect.Client, dissect.EvClientKeyExchange))
	frame("client_encrypted_handshake", c.First(dissect.Client, dissect.EvEncryptedHandshake))
	for _, s := range []dissect.Side{dissect.Client, dissect.Server} {
		si := c.Sides[s]
		if si.FIN != nil {
			m[s.String()+"_fin"] = si.FIN.Frame
		}
		if si.RST != nil {
			m[s.String()+"_rst"] = si.RST.Frame
		}
	}
	return m
}

func newHello(ch *tlsparse.ClientHello) *Hello {
	// Lists are never nil, so that JSON shows [] rather than null.
	h := &Hello{
		ALPN: append([]string{}, ch.ALPN...), PSK: ch.PreSharedKey, EarlyData: ch.EarlyData, ECH: ch.ECH, StatusRequest: ch.StatusRequest, SSLv2: ch.SSLv2,
		Versions: []string{}, CipherSuites: []string{}, Groups: []string{}, SignatureAlgorithms: []string{}, KeyShareGroups: []string{}, Extensions: []string{},
	}
	for _, v := range ch.SupportedVersions {
		if !tlsparse.IsGREASE(v) {
			h.Versions = append(h.Versions, tlsparse.Version(v).String())
		}
	}
	if len(h.Versions) == 0 {
		h.Versions = []string{ch.LegacyVersion.String()}
	}
	for _, s := range ch.CipherSuites {
		if !tlsparse.IsGREASE(s) {
			h.CipherSuites = append(h.CipherSuites, tlsparse.CipherSuite(s).String())
		}
	}
	for _, g := range ch.SupportedGroups {
		if !tlsparse.IsGREASE(g) {
			h.Groups = append(h.Groups, tlsparse.GroupName(g))
		}
	}
	for _, g := range ch.KeyShareGroups {
		if !tlsparse.IsGREASE(g) {
			h.KeyShareGroups = append(h.KeyShareGroups, tlsparse.GroupName(g))
		}
	}
	for _, s := range ch.SignatureAlgorithms {
		h.SignatureAlgorithms = append(h.SignatureAlgorithms, tlsparse.SignatureSchemeName(s))
	}
	for _, typ := range ch.ExtensionTypes {
		if !tlsparse.IsGREASE(typ) {
			h.Extensions = append(h.Extensions, tlsparse.ExtensionName(typ))
		}
	}
	return h
}

func newChainCert(cc diagnose.ChainCert) ChainCert {
	out := ChainCert{
		Position: cc.Position, Role: cc.Role, SHA256: cc.Info.SHA256, IsCA: cc.IsCA, SelfSigned: cc.SelfSigned,
		Key: cc.Key, InTruststore: cc.InTruststore, TruststoreMatch: cc.TrustMatch, TruststoreAlias: cc.TrustAlias,
		ValidAtCapture: cc.ValidAtCapture, IssuedByNext: cc.IssuedByNext, DNSNames: []string{}, IPAddresses: []string{},
	}
	c := cc.Info.Cert
	if c == nil {
		out.ParseError = fmt.Sprint(cc.Info.Err)
		return out
	}
	f := certFieldsOf(c)
	out.Subject, out.Issuer, out.Serial = f.subject, f.issuer, f.serial
	out.NotBefore, out.NotAfter = f.notBefore, f.notAfter
	out.DNSNames = append(out.DNSNames, c.DNSNames...)
	out.IPAddresses = append(out.IPAddresses, f.ips...)
	out.SignatureAlgorithm = f.sigAlg
	out.AIAIssuers = c.IssuingCertificateURL
	return out
}

// certFields are the strings of a certificate's record that depend on the
// certificate alone: made once per certificate (dissect shares one parsed
// certificate between the connections that send it), not per connection.
type certFields struct {
	subject, issuer, serial, notBefore, notAfter, sigAlg string
	ips                                                  []string
}

// certMemo holds certFields by certificate, weakly (a certificate collected
// and another allocated at its address get different keys), bounded.
var certMemo struct {
	sync.Mutex
	m map[weak.Pointer[x509.Certificate]]*certFields
}

func certFieldsOf(c *x509.Certificate) *certFields {
	k := weak.Make(c)
	certMemo.Lock()
	f := certMemo.m[k]
	certMemo.Unlock()
	if f != nil {
		return f
	}
	f = &certFields{
		subject: c.Subject.String(), issuer: c.Issuer.String(), serial: serialHex(c),
		notBefore: c.NotBefore.UTC().Format(time.RFC3339), notAfter: c.NotAfter.UTC().Format(time.RFC3339),
		sigAlg: c.SignatureAlgorithm.String(),
	}
	for _, ip := range c.IPAddresses {
		f.ips = append(f.ips, ip.String())
	}
	certMemo.Lock()
	if certMemo.m == nil || len(certMemo.m) >= maxCache {
		certMemo.m = make(map[weak.Pointer[x509.Certificate]]*certFields)
	}
	certMemo.m[k] = f
	certMemo.Unlock()
	return f
}

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return strings.ToLower(c.SerialNumber.Text(16))
}

func eventName(e *dissect.Event) string {
	switch e.Kind {
	case dissect.EvSYN, dissect.EvFIN, dissect.EvRST:
		return e.Flags.String()
	case dissect.EvAlert:
		return fmt.Sprintf("Alert %s %s", e.Alert.Level, e.Alert.Description)
	case dissect.EvHandshakeOther:
		return "Handshake " + e.Detail
	}
	return e.Kind.String()
}

// eventDetail is the detail of event e of c; versions is what c's
// ClientHello offers (Hello.versionRange).
func eventDetail(c *dissect.Conn, e *dissect.Event, versions string) string {
	if e.Cut {
		return e.Detail
	}
	switch e.Kind {
	case dissect.EvClientHello:
		if ch := c.ClientHello; ch != nil {
			parts := []string{}
			if ch.ServerName != "" {
				parts = append(parts, "SNI "+ch.ServerName)
			}
			parts = append(parts, "offers "+versions, fmt.Sprintf("%d cipher suites", len(ch.CipherSuites)))
			if len(ch.ALPN) > 0 {
				parts = append(parts, "ALPN "+strings.Join(ch.ALPN, ","))
			}
			return strings.Join(parts, ", ")
		}
	case dissect.EvServerHello:
		if sh := c.ServerHello; sh != nil {
			return sh.Version().String() + ", " + sh.CipherSuite.String()
		}
		return e.Detail // SSL 2.0, or malformed
	case dissect.EvClientKeyExchange:
		return e.Detail // SSL 2.0's CLIENT-MASTER-KEY
	case dissect.EvCertificate:
		return e.Detail
	case dissect.EvEncryptedHandshake, dissect.EvApplicationData:
		if e.Count > 1 {
			return fmt.Sprintf("%d records, %d bytes", e.Count, e.Length)
		}
		return fmt.Sprintf("%d bytes", e.Length)
	case dissect.EvEncryptedAlert:
		return e.Detail
	case dissect.EvGap:
		return fmt.Sprintf("%d bytes not captured (%s)", e.Length, e.Detail)
	case dissect.EvNotTLS, dissect.EvPlaintext:
		return fmt.Sprintf("%q", e.Detail)
	}
	return ""
}

func (h *Hello) versionRange() string {
	if len(h.Versions) == 1 {
		return h.Versions[0]
	}
	return strings.Join(h.Versions, "/")
}
