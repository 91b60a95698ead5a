package tlsparse

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Extension code points (IANA "TLS ExtensionType Values"): those the
// parsers read and those client identification looks for.
const (
	ExtServerName           uint16 = 0
	ExtStatusRequest        uint16 = 5
	ExtSupportedGroups      uint16 = 10
	ExtECPointFormats       uint16 = 11
	ExtSignatureAlgorithms  uint16 = 13
	ExtALPN                 uint16 = 16
	ExtStatusRequestV2      uint16 = 17 // RFC 6961; only JSSE sends it by default
	ExtSCT                  uint16 = 18
	ExtPadding              uint16 = 21
	ExtEncryptThenMAC       uint16 = 22
	ExtExtendedMasterSecret uint16 = 23
	ExtCompressCertificate  uint16 = 27
	ExtRecordSizeLimit      uint16 = 28
	ExtDelegatedCredentials uint16 = 34
	ExtSessionTicket        uint16 = 35
	ExtPreSharedKey         uint16 = 41
	ExtEarlyData            uint16 = 42
	ExtSupportedVersions    uint16 = 43
	ExtPSKModes             uint16 = 45
	ExtCertAuthorities      uint16 = 47
	ExtPostHandshakeAuth    uint16 = 49
	ExtSignatureAlgsCert    uint16 = 50
	ExtKeyShare             uint16 = 51
	ExtALPSOld              uint16 = 0x4469 // application_settings, Chrome
	ExtALPS                 uint16 = 0x44cd
	ExtECH                  uint16 = 0xfe0d
	ExtRenegotiationInfo    uint16 = 0xff01
)

// helloRetryRequestRandom is the ServerHello.random value that marks a
// HelloRetryRequest (RFC 8446, Section 4.1.3).
var helloRetryRequestRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
	0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Downgrade sentinels in the last 8 bytes of ServerHello.random (RFC 8446,
// Section 4.1.3).
var (
	downgradeTLS12 = []byte("DOWNGRD\x01")
	downgradeTLS11 = []byte("DOWNGRD\x00")
)

// IsGREASE reports whether v is a GREASE value (RFC 8701): 0x0a0a, 0x1a1a,
// ..., 0xfafa. It applies to cipher suites, extensions, groups, versions and
// signature algorithms.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// readHandshake checks the handshake header of msg: type want and a 24-bit
// length equal to len(msg)-4. It returns the body.
func readHandshake(msg []byte, want HandshakeType) (cryptobyte.String, bool) {
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) || typ != uint8(want) || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, false
	}
	return body, true
}

// readExtensions reads a uint16-prefixed extensions block that must end s
// exactly. Extensions are kept in wire order.
func readExtensions(s *cryptobyte.String) ([]Extension, bool) {
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) || !s.Empty() {
		return nil, false
	}
	// Count first: one allocation of the right size.
	n := 0
	for b := block; !b.Empty(); n++ {
		var typ uint16
		var data cryptobyte.String
		if !b.ReadUint16(&typ) || !b.ReadUint16LengthPrefixed(&data) {
			return nil, false
		}
	}
	exts := make([]Extension, 0, n)
	for !block.Empty() {
		var e Extension
		if !block.ReadUint16(&e.Type) || !block.ReadUint16LengthPrefixed((*cryptobyte.String)(&e.Data)) {
			return nil, false
		}
		exts = append(exts, e)
	}
	return exts, true
}

// extensionTypes is the type of each extension, in order (nil for none).
func extensionTypes(exts []Extension) []uint16 {
	if len(exts) == 0 {
		return nil
	}
	out := make([]uint16, len(exts))
	for i, e := range exts {
		out[i] = e.Type
	}
	return out
}

// duplicate reports whether the extension at i has the type of an earlier
// one. Messages carry a few dozen extensions at most in practice; a long
// list is checked with a map made on first need.
func duplicate(exts []Extension, i int, seen *map[uint16]bool) bool {
	if len(exts) <= 64 {
		for _, e := range exts[:i] {
			if e.Type == exts[i].Type {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[uint16]bool, len(exts))
	}
	if (*seen)[exts[i].Type] {
		return true
	}
	(*seen)[exts[i].Type] = true
	return false
}

// readUint16List reads a list of uint16 values from s until it is empty.
func readUint16List(s cryptobyte.String) ([]uint16, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, 0, len(s)/2)
	for !s.Empty() {
		var v uint16
		if !s.ReadUint16(&v) {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// uint16s holds the uint16 lists of one message in one array: its lists are
// slices of it, capped at their length (appending to one copies it).
type uint16s []uint16

// list is readUint16List into u.
func (u *uint16s) list(s cryptobyte.String) ([]uint16, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	a := *u
	if cap(a)-len(a) < len(s)/2 {
		return readUint16List(s)
	}
	start := len(a)
	for !s.Empty() {
		var v uint16
		s.ReadUint16(&v) // len(s) is even
		a = append(a, v)
	}
	*u = a
	return a[start:len(a):len(a)], true
}

// vector is readUint16Vector into u.
func (u *uint16s) vector(data []byte) ([]uint16, bool) {
	list, ok := vectorBody(data)
	if !ok {
		return nil, false
	}
	return u.list(list)
}

// readUint16Vector reads a uint16-prefixed list of uint16 values that must
// fill data exactly.
func readUint16Vector(data []byte) ([]uint16, bool) {
	list, ok := vectorBody(data)
	if !ok {
		return nil, false
	}
	return readUint16List(list)
}

// vectorBody is the body of the uint16-prefixed vector that fills data.
func vectorBody(data []byte) (cryptobyte.String, bool) {
	s := cryptobyte.String(data)
	var list cryptobyte.String
	return list, s.ReadUint16LengthPrefixed(&list) && s.Empty()
}

// readUint8Vector reads a uint8-prefixed list of bytes that must fill data
// exactly.
func readUint8Vector(data []byte) ([]uint8, bool) {
	s := cryptobyte.String(data)
	var list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&list) || !s.Empty() {
		return nil, false
	}
	return []uint8(list), true
}

func (ch *ClientHello) anomaly(format string, args ...any) {
	ch.Anomalies = append(ch.Anomalies, fmt.Sprintf(format, args...))
}

func (sh *ServerHello) anomaly(format string, args ...any) {
	sh.Anomalies = append(sh.Anomalies, fmt.Sprintf(format, args...))
}

// ParseClientHello parses a ClientHello handshake message, 4-byte header
// included (RFC 8446, Section 4.1.2; RFC 5246, Section 7.4.1.2). A message
// without an extensions block is valid. The result aliases msg.
//
// Framing errors (any length-prefixed block not consumed exactly, trailing
// bytes) fail the parse. Extensions whose content cannot be decoded, or that
// are duplicated, are kept and reported in Anomalies; for duplicates the
// first occurrence fills the typed fields.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	ch := &ClientHello{Raw: msg}
	if !ch.unmarshal(msg) {
		return nil, parseErr("ClientHello", msg)
	}
	return ch, nil
}

func (ch *ClientHello) unmarshal(msg []byte) bool {
	body, ok := readHandshake(msg, ClientHelloType)
	if !ok {
		return false
	}
	var version uint16
	var ciphers, comp cryptobyte.String
	if !body.ReadUint16(&version) || !body.ReadBytes(&ch.Random, 32) ||
		!body.ReadUint8LengthPrefixed((*cryptobyte.String)(&ch.SessionID)) ||
		!body.ReadUint16LengthPrefixed(&ciphers) ||
		!body.ReadUint8LengthPrefixed(&comp) {
		return false
	}
	ch.LegacyVersion = Version(version)
	// The uint16 lists of the message in one array (128 values hold a
	// browser's; longer lists get their own).
	u16 := make(uint16s, 0, min(len(msg)/2, 128))
	if ch.CipherSuites, ok = u16.list(ciphers); !ok {
		return false
	}
	ch.CompressionMethods = []uint8(comp)
	if len(ch.SessionID) > 32 {
		ch.anomaly("session id length %d exceeds 32", len(ch.SessionID))
	}
	if len(ch.CipherSuites) == 0 {
		ch.anomaly("no cipher suites")
	}
	if len(ch.CompressionMethods) == 0 {
		ch.anomaly("no compression methods")
	}
	if body.Empty() {
		return true
	}
	if ch.Extensions, ok = readExtensions(&body); !ok {
		return false
	}
	ch.ExtensionTypes = extensionTypes(ch.Extensions)
	var seen map[uint16]bool
	for i, e := range ch.Extensions {
		if duplicate(ch.Extensions, i, &seen) {
			ch.anomaly("duplicate extension %s (0x%04x)", ExtensionName(e.Type), e.Type)
			continue
		}
		if !ch.parseExtension(e, &u16) {
			ch.anomaly("malformed extension %s (0x%04x)", ExtensionName(e.Type), e.Type)
		}
		if e.Type == ExtPreSharedKey && i != len(ch.Extensions)-1 {
			// RFC 8446, Section 4.2.11.
			ch.anomaly("pre_shared_key is not the last extension")
		}
	}
	return true
}

// parseExtension decodes the content of one ClientHello extension into the
// typed fields, its uint16 lists into u16. It reports whether the content
// was well formed.
func (ch *ClientHello) parseExtension(e Extension, u16 *uint16s) bool {
	var ok bool
	switch e.Type {
	case ExtServerName: // RFC 6066, Section 3
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
			return false
		}
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				return false
			}
			if nameType != 0 {
				continue
			}
			if ch.ServerName != "" {
				ch.anomaly("several SNI host names")
				continue
			}
			if len(name) == 0 {
				ch.anomaly("empty SNI host name")
			}
			ch.ServerName = string(name)
		}
		return true
	case ExtALPN: // RFC 7301, Section 3.1
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || list.Empty() {
			return false
		}
		for !list.Empty() {
			var proto cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&proto) {
				return false
			}
			if len(proto) == 0 {
				ch.anomaly("empty ALPN protocol name")
			}
			ch.ALPN = append(ch.ALPN, string(proto))
		}
		return true
	case ExtSupportedVersions: // RFC 8446, Section 4.2.1
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&list) || !s.Empty() {
			return false
		}
		ch.SupportedVersions, ok = u16.list(list)
		return ok && len(ch.SupportedVersions) > 0
	case ExtSupportedGroups: // RFC 8446, Section 4.2.7
		ch.SupportedGroups, ok = u16.vector(e.Data)
		return ok
	case ExtECPointFormats: // RFC 8422, Section 5.1.2
		ch.ECPointFormats, ok = readUint8Vector(e.Data)
		return ok
	case ExtSignatureAlgorithms: // RFC 8446, Section 4.2.3
		ch.SignatureAlgorithms, ok = u16.vector(e.Data)
		return ok
	case ExtKeyShare: // RFC 8446, Section 4.2.8
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() {
			return false
		}
		groups := []uint16{}
		for !list.Empty() {
			var g uint16
			var key cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&key) {
				return false
			}
			groups = append(groups, g)
		}
		ch.KeyShareGroups = groups
		return true
	case ExtPSKModes: // RFC 8446, Section 4.2.9
		ch.PSKModes, ok = readUint8Vector(e.Data)
		return ok
	case ExtPreSharedKey: // RFC 8446, Section 4.2.11
		ch.PreSharedKey = true
		s := cryptobyte.String(e.Data)
		var identities, binders cryptobyte.String
		return s.ReadUint16LengthPrefixed(&identities) && !identities.Empty() &&
			s.ReadUint16LengthPrefixed(&binders) && !binders.Empty() && s.Empty()
	case ExtEarlyData:
		ch.EarlyData = true
	case ExtECH:
		ch.ECH = true
	case ExtStatusRequest:
		ch.StatusRequest = true
	case ExtSessionTicket:
		ch.SessionTicket = true
	}
	return true
}

// MaxVersion returns the highest non-GREASE version in supported_versions,
// or LegacyVersion when the extension is absent or holds only GREASE.
func (ch *ClientHello) MaxVersion() Version {
	var best uint16
	for _, v := range ch.SupportedVersions {
		if !IsGREASE(v) && v > best {
			best = v
		}
	}
	if best == 0 {
		return ch.LegacyVersion
	}
	return Version(best)
}

// ParseServerHello parses a ServerHello handshake message, 4-byte header
// included (RFC 8446, Section 4.1.3; RFC 5246, Section 7.4.1.3). A
// HelloRetryRequest is a ServerHello with a special random: it is parsed
// the same way and flagged with HelloRetryRequest. The result aliases msg.
//
// ServerHellos of TLS 1.3 drafts before 22 (version 0x7f00+draft, or
// 0x0304 in early drafts), which had no session id and no compression
// method, are accepted too and get an anomaly saying so.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	sh := &ServerHello{Raw: msg}
	if !sh.unmarshal(msg) {
		*sh = ServerHello{Raw: msg}
		if !sh.unmarshalDraft(msg) {
			return nil, parseErr("ServerHello", msg)
		}
	}
	return sh, nil
}

// unmarshalDraft parses the ServerHello of TLS 1.3 drafts 0..21
// (draft-ietf-tls-tls13-21, Section 4.1.3): version, random, cipher_suite,
// extensions.
func (sh *ServerHello) unmarshalDraft(msg []byte) bool {
	body, ok := readHandshake(msg, ServerHelloType)
	if !ok {
		return false
	}
	var version, suite uint16
	if !body.ReadUint16(&version) || !isDraft13(version) ||
		!body.ReadBytes(&sh.Random, 32) || !body.ReadUint16(&suite) {
		return false
	}
	sh.LegacyVersion = Version(version)
	sh.CipherSuite = CipherSuite(suite)
	if sh.Extensions, ok = readExtensions(&body); !ok {
		return false
	}
	sh.ExtensionTypes = extensionTypes(sh.Extensions)
	sh.anomaly("TLS 1.3 draft ServerHello format (version 0x%04x)", version)
	for _, e := range sh.Extensions {
		if !sh.parseExtension(e) {
			sh.anomaly("malformed extension %s (0x%04x)", ExtensionName(e.Type), e.Type)
		}
	}
	return true
}

// isDraft13 reports whether v is a TLS 1.3 draft version whose ServerHello
// used the pre-draft-22 layout.
func isDraft13(v uint16) bool {
	return v == uint16(VersionTLS13) || (v>>8 == 0x7f && v&0xff < 22)
}

func (sh *ServerHello) unmarshal(msg []byte) bool {
	body, ok := readHandshake(msg, ServerHelloType)
	if !ok {
		return false
	}
	var version, suite uint16
	if !body.ReadUint16(&version) || !body.ReadBytes(&sh.Random, 32) ||
		!body.ReadUint8LengthPrefixed((*cryptobyte.String)(&sh.SessionID)) ||
		!body.ReadUint16(&suite) || !body.ReadUint8(&sh.CompressionMethod) {
		return false
	}
	sh.LegacyVersion = Version(version)
	sh.CipherSuite = CipherSuite(suite)
	sh.HelloRetryRequest = bytes.Equal(sh.Random, helloRetryRequestRandom)
	if len(sh.SessionID) > 32 {
		sh.anomaly("session id length %d exceeds 32", len(sh.SessionID))
	}
	if !body.Empty() {
		if sh.Extensions, ok = readExtensions(&body); !ok {
			return false
		}
		sh.ExtensionTypes = extensionTypes(sh.Extensions)
	}
	var seen map[uint16]bool
	for i, e := range sh.Extensions {
		if duplicate(sh.Extensions, i, &seen) {
			sh.anomaly("duplicate extension %s (0x%04x)", ExtensionName(e.Type), e.Type)
			continue
		}
		if !sh.parseExtension(e) {
			sh.anomaly("malformed extension %s (0x%04x)", ExtensionName(e.Type), e.Type)
		}
	}
	if !sh.HelloRetryRequest {
		tail := sh.Random[len(sh.Random)-8:]
		switch {
		case bytes.Equal(tail, downgradeTLS12):
			sh.anomaly("downgrade sentinel: server supports TLS 1.3 but negotiated TLS 1.2")
		case bytes.Equal(tail, downgradeTLS11):
			sh.anomaly("downgrade sentinel: server supports TLS 1.2 or higher but negotiated TLS 1.1 or lower")
		}
	}
	return true
}

func (sh *ServerHello) parseExtension(e Extension) bool {
	s := cryptobyte.String(e.Data)
	switch e.Type {
	case ExtSupportedVersions: // RFC 8446, Section 4.2.1
		var v uint16
		if !s.ReadUint16(&v) || !s.Empty() {
			return false
		}
		sh.SupportedVersion = Version(v)
	case ExtALPN: // RFC 7301, Section 3.1: exactly one name
		var list, proto cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() ||
			!list.ReadUint8LengthPrefixed(&proto) || !list.Empty() || proto.Empty() {
			return false
		}
		sh.ALPN = string(proto)
	case ExtKeyShare: // RFC 8446, Section 4.2.8
		var g uint16
		if !s.ReadUint16(&g) {
			return false
		}
		if !sh.HelloRetryRequest {
			var key cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&key) {
				return false
			}
		}
		if !s.Empty() {
			return false
		}
		sh.KeyShareGroup = g
	}
	return true
}

// Version returns the negotiated version: SupportedVersion when the
// supported_versions extension was present, else LegacyVersion.
func (sh *ServerHello) Version() Version {
	if sh.SupportedVersion != 0 {
		return sh.SupportedVersion
	}
	return sh.LegacyVersion
}

// ParseCertificate parses a Certificate handshake message, 4-byte header
// included: the TLS 1.2 form (RFC 5246, Section 7.4.2) or, when tls13 is
// set, the TLS 1.3 form with a request context and per-entry extensions
// (RFC 8446, Section 4.4.2). An empty list is valid (a client without a
// certificate). The result aliases msg.
func ParseCertificate(msg []byte, tls13 bool) (*Certificate, error) {
	c := &Certificate{}
	if !c.unmarshal(msg, tls13) {
		return nil, parseErr("Certificate", msg)
	}
	return c, nil
}

func (c *Certificate) unmarshal(msg []byte, tls13 bool) bool {
	body, ok := readHandshake(msg, CertificateType)
	if !ok {
		return false
	}
	if tls13 && !body.ReadUint8LengthPrefixed((*cryptobyte.String)(&c.Context)) {
		return false
	}
	var list cryptobyte.String
	if !body.ReadUint24LengthPrefixed(&list) || !body.Empty() {
		return false
	}
	c.Entries = []CertificateEntry{}
	for !list.Empty() {
		var e CertificateEntry
		if !list.ReadUint24LengthPrefixed((*cryptobyte.String)(&e.Data)) {
			return false
		}
		if tls13 && !list.ReadUint16LengthPrefixed((*cryptobyte.String)(&e.Extensions)) {
			return false
		}
		c.Entries = append(c.Entries, e)
	}
	return true
}

// ParseCertificateRequest parses a CertificateRequest handshake message,
// 4-byte header included. Without tls13 it accepts the TLS 1.2 form
// (RFC 5246, Section 7.4.4, with supported_signature_algorithms) and, if
// that does not fit, the TLS 1.0/1.1 form without it (RFC 4346, Section
// 7.4.4). With tls13 it parses the context and extensions (RFC 8446,
// Section 4.3.2), filling SignatureAlgorithms and CertificateAuthorities
// from the extensions of those names. The result aliases msg.
func ParseCertificateRequest(msg []byte, tls13 bool) (*CertificateRequest, error) {
	cr := &CertificateRequest{}
	var ok bool
	if tls13 {
		ok = cr.unmarshal13(msg)
	} else {
		ok = cr.unmarshal12(msg, true)
		if !ok {
			*cr = CertificateRequest{}
			ok = cr.unmarshal12(msg, false)
		}
	}
	if !ok {
		return nil, parseErr("CertificateRequest", msg)
	}
	return cr, nil
}

func (cr *CertificateRequest) unmarshal12(msg []byte, sigAlgs bool) bool {
	body, ok := readHandshake(msg, CertificateRequestType)
	if !ok {
		return false
	}
	var types, cas cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&types) {
		return false
	}
	cr.CertificateTypes = []uint8(types)
	if sigAlgs {
		var algs cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&algs) {
			return false
		}
		if cr.SignatureAlgorithms, ok = readUint16List(algs); !ok {
			return false
		}
	}
	if !body.ReadUint16LengthPrefixed(&cas) || !body.Empty() {
		return false
	}
	cr.CertificateAuthorities, ok = readDNs(cas)
	return ok
}

// readDNs reads a list of uint16-prefixed distinguished names filling s.
func readDNs(s cryptobyte.String) ([][]byte, bool) {
	dns := [][]byte{}
	for !s.Empty() {
		var dn cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&dn) {
			return nil, false
		}
		dns = append(dns, dn)
	}
	return dns, true
}

func (cr *CertificateRequest) unmarshal13(msg []byte) bool {
	body, ok := readHandshake(msg, CertificateRequestType)
	if !ok || !body.ReadUint8LengthPrefixed((*cryptobyte.String)(&cr.Context)) {
		return false
	}
	if cr.Extensions, ok = readExtensions(&body); !ok {
		return false
	}
	for _, e := range cr.Extensions {
		switch e.Type {
		case ExtSignatureAlgorithms:
			if cr.SignatureAlgorithms != nil {
				continue
			}
			if cr.SignatureAlgorithms, ok = readUint16Vector(e.Data); !ok {
				return false
			}
		case ExtCertAuthorities: // RFC 8446, Section 4.2.4
			if cr.CertificateAuthorities != nil {
				continue
			}
			s := cryptobyte.String(e.Data)
			var list cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() {
				return false
			}
			if cr.CertificateAuthorities, ok = readDNs(list); !ok {
				return false
			}
		}
	}
	return true
}

// Detach makes ch hold no byte of the message it was parsed from, for a
// hello kept long after its message: the byte fields that alias it
// (Random, SessionID, CompressionMethods, ECPointFormats, PSKModes) are
// copied into one allocation of their own, and Raw and Extensions are
// dropped (ExtensionTypes keeps their types: 2 bytes each rather than 32).
// What the parsed fields say is unchanged; a hybrid post-quantum key share
// alone is over a kilobyte of message.
func (ch *ClientHello) Detach() {
	own := make([]byte, 0, len(ch.Random)+len(ch.SessionID)+len(ch.CompressionMethods)+len(ch.ECPointFormats)+len(ch.PSKModes))
	ch.Random, own = detach(ch.Random, own)
	ch.SessionID, own = detach(ch.SessionID, own)
	ch.CompressionMethods, own = detach(ch.CompressionMethods, own)
	ch.ECPointFormats, own = detach(ch.ECPointFormats, own)
	ch.PSKModes, _ = detach(ch.PSKModes, own)
	ch.Raw, ch.Extensions = nil, nil
}

// Detach makes sh hold no byte of the message it was parsed from, as
// ClientHello.Detach does: Random and SessionID are copied, Raw and
// Extensions dropped.
func (sh *ServerHello) Detach() {
	own := make([]byte, 0, len(sh.Random)+len(sh.SessionID))
	sh.Random, own = detach(sh.Random, own)
	sh.SessionID, _ = detach(sh.SessionID, own)
	sh.Raw, sh.Extensions = nil, nil
}

// detach copies b to the end of own, which has room for it, and returns
// the copy (nil for nil) and own.
func detach(b, own []byte) ([]byte, []byte) {
	if b == nil {
		return nil, own
	}
	n := len(own)
	own = append(own, b...)
	return own[n:len(own):len(own)], own
}
