package tlsparse

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

type handshakeCase struct {
	name       string
	minV, maxV uint16
	suites     []uint16 // client CipherSuites (TLS 1.2)
	clientAuth bool
	hrr        bool // server prefers a group the client sends no key share for
	noSNI      bool
	noALPN     bool
}

var handshakeCases = []handshakeCase{
	{name: "tls13", minV: tls.VersionTLS13, maxV: tls.VersionTLS13},
	{name: "tls13-hrr", minV: tls.VersionTLS13, maxV: tls.VersionTLS13, hrr: true},
	{name: "tls13-clientauth", minV: tls.VersionTLS12, maxV: tls.VersionTLS13, clientAuth: true},
	{name: "tls12", minV: tls.VersionTLS12, maxV: tls.VersionTLS12,
		suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
	{name: "tls12-clientauth", minV: tls.VersionTLS12, maxV: tls.VersionTLS12, clientAuth: true},
	{name: "tls12-nosni-noalpn", minV: tls.VersionTLS12, maxV: tls.VersionTLS12, noSNI: true, noALPN: true},
	{name: "tls10", minV: tls.VersionTLS10, maxV: tls.VersionTLS10,
		suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, clientAuth: true},
}

func (c handshakeCase) run(t *testing.T) *handshake {
	cc, sc := clientConfig(t), serverConfig(t)
	cc.MinVersion, cc.MaxVersion = c.minV, c.maxV
	sc.MinVersion, sc.MaxVersion = c.minV, c.maxV
	cc.CipherSuites = c.suites
	if c.clientAuth {
		sc.ClientAuth = tls.RequireAndVerifyClientCert
		sc.ClientCAs = getPKI(t).pool
		cc.Certificates = []tls.Certificate{getPKI(t).client}
	}
	if c.hrr {
		cc.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
		sc.CurvePreferences = []tls.CurveID{tls.CurveP256}
	}
	if c.noSNI {
		cc.ServerName = ""
		cc.InsecureSkipVerify = true
	}
	if c.noALPN {
		cc.NextProtos = nil
	}
	h := runHandshake(t, cc, sc)
	if h.clientErr != nil || h.serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", h.clientErr, h.serverErr)
	}
	return h
}

func TestCryptoTLSHandshakes(t *testing.T) {
	for _, c := range handshakeCases {
		t.Run(c.name, func(t *testing.T) {
			h := c.run(t)
			cmsgs, smsgs := plaintextMessages(t, h.client), plaintextMessages(t, h.server)
			checkClientHello(t, c, h, findMessage(cmsgs, ClientHelloType))
			checkServerHellos(t, c, h, smsgs)
			if h.state.Version <= tls.VersionTLS12 {
				checkCertificate12(t, findMessage(smsgs, CertificateType))
				if c.clientAuth {
					checkCertificateRequest12(t, h, findMessage(smsgs, CertificateRequestType))
					cert, err := ParseCertificate(findMessage(cmsgs, CertificateType), false)
					if err != nil || len(cert.Entries) != 2 {
						t.Fatalf("client Certificate: %v %+v", err, cert)
					}
				}
			}
		})
	}
}

func checkClientHello(t *testing.T, c handshakeCase, h *handshake, msg []byte) {
	t.Helper()
	ch, err := ParseClientHello(msg)
	if err != nil {
		t.Fatal(err)
	}
	chi := h.hello
	if !bytes.Equal(ch.Raw, msg) {
		t.Error("Raw differs from input")
	}
	if ch.ServerName != chi.ServerName {
		t.Errorf("ServerName = %q, crypto/tls saw %q", ch.ServerName, chi.ServerName)
	}
	if !slices.Equal(ch.ALPN, chi.SupportedProtos) {
		t.Errorf("ALPN = %q, want %q", ch.ALPN, chi.SupportedProtos)
	}
	if !slices.Equal(ch.CipherSuites, chi.CipherSuites) {
		t.Errorf("CipherSuites = %x, want %x", ch.CipherSuites, chi.CipherSuites)
	}
	if !slices.Equal(extensionTypes(ch.Extensions), chi.Extensions) {
		t.Errorf("extensions = %v, want %v", extensionTypes(ch.Extensions), chi.Extensions)
	}
	groups := make([]uint16, len(chi.SupportedCurves))
	for i, g := range chi.SupportedCurves {
		groups[i] = uint16(g)
	}
	if !slices.Equal(ch.SupportedGroups, groups) {
		t.Errorf("SupportedGroups = %v, want %v", ch.SupportedGroups, groups)
	}
	if !bytes.Equal(ch.ECPointFormats, chi.SupportedPoints) {
		t.Errorf("ECPointFormats = %v, want %v", ch.ECPointFormats, chi.SupportedPoints)
	}
	algs := make([]uint16, len(chi.SignatureSchemes))
	for i, s := range chi.SignatureSchemes {
		algs[i] = uint16(s)
	}
	if !slices.Equal(ch.SignatureAlgorithms, algs) {
		t.Errorf("SignatureAlgorithms = %x, want %x", ch.SignatureAlgorithms, algs)
	}
	if c.maxV >= tls.VersionTLS13 {
		if !slices.Equal(ch.SupportedVersions, chi.SupportedVersions) {
			t.Errorf("SupportedVersions = %x, want %x", ch.SupportedVersions, chi.SupportedVersions)
		}
		// crypto/tls sends psk_key_exchange_modes only with a session cache.
		if len(ch.KeyShareGroups) == 0 || ch.PSKModes != nil {
			t.Errorf("KeyShareGroups %v PSKModes %v", ch.KeyShareGroups, ch.PSKModes)
		}
	} else if !slices.Equal(ch.SupportedVersions, chi.SupportedVersions) {
		// Go 1.26 sends supported_versions even when it offers only TLS <= 1.2.
		t.Errorf("SupportedVersions = %x, crypto/tls saw %x", ch.SupportedVersions, chi.SupportedVersions)
	}
	if got := ch.MaxVersion(); got != Version(c.maxV) {
		t.Errorf("MaxVersion = %v, want %v", got, Version(c.maxV))
	}
	if len(ch.Anomalies) != 0 {
		t.Errorf("anomalies on a crypto/tls hello: %q", ch.Anomalies)
	}
	checkPrefixes(t, msg, func(b []byte) error { _, err := ParseClientHello(b); return err })

	// Fingerprints, recomputed from what crypto/tls itself parsed.
	wantJA3 := fmt.Sprintf("%d,%s,%s,%s,%s", ch.LegacyVersion, decimals(chi.CipherSuites),
		decimals(chi.Extensions), decimals(groups), decimals8(chi.SupportedPoints))
	if str, sum := JA3(ch); str != wantJA3 || len(sum) != 32 {
		t.Errorf("JA3 = %q, want %q", str, wantJA3)
	}
	wantJA4 := ja4FromInfo(chi, c.maxV)
	if got := JA4(ch, false); got != wantJA4 {
		t.Errorf("JA4 = %s, want %s (raw %s)", got, wantJA4, JA4R(ch, false))
	}
}

func decimals(v []uint16) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "-")
}

func decimals8(v []uint8) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "-")
}

// ja4FromInfo derives JA4 directly from the spec and crypto/tls's view of
// the ClientHello (no GREASE: crypto/tls does not send any).
func ja4FromInfo(chi *tls.ClientHelloInfo, maxV uint16) string {
	ver := map[uint16]string{tls.VersionTLS10: "10", tls.VersionTLS11: "11", tls.VersionTLS12: "12", tls.VersionTLS13: "13"}[maxV]
	sni := "i"
	if chi.ServerName != "" {
		sni = "d"
	}
	alpn := "00"
	if len(chi.SupportedProtos) > 0 {
		p := chi.SupportedProtos[0]
		alpn = p[:1] + p[len(p)-1:]
	}
	a := fmt.Sprintf("t%s%s%02d%02d%s", ver, sni, len(chi.CipherSuites), len(chi.Extensions), alpn)
	hexes := func(v []uint16, sorted bool) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%04x", x)
		}
		if sorted {
			slices.Sort(s)
		}
		return strings.Join(s, ",")
	}
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:])[:12] }
	var exts []uint16
	for _, e := range chi.Extensions {
		if e != 0 && e != 16 {
			exts = append(exts, e)
		}
	}
	algs := make([]uint16, len(chi.SignatureSchemes))
	for i, s := range chi.SignatureSchemes {
		algs[i] = uint16(s)
	}
	// "If there are no signature algorithms in the hello packet, then the
	// string ends without an underscore and is hashed."
	last := hexes(exts, true)
	if len(algs) > 0 {
		last += "_" + hexes(algs, false)
	}
	return a + "_" + h(hexes(chi.CipherSuites, true)) + "_" + h(last)
}

func checkServerHellos(t *testing.T, c handshakeCase, h *handshake, msgs [][]byte) {
	t.Helper()
	var hellos []*ServerHello
	for _, m := range msgs {
		if HandshakeType(m[0]) != ServerHelloType {
			continue
		}
		sh, err := ParseServerHello(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sh.Raw, m) {
			t.Error("Raw differs from input")
		}
		checkPrefixes(t, m, func(b []byte) error { _, err := ParseServerHello(b); return err })
		hellos = append(hellos, sh)
	}
	wantN := 1
	if c.hrr {
		wantN = 2
	}
	if len(hellos) != wantN {
		t.Fatalf("%d ServerHellos, want %d", len(hellos), wantN)
	}
	if c.hrr {
		hrr := hellos[0]
		if !hrr.HelloRetryRequest || hrr.KeyShareGroup != uint16(tls.CurveP256) || hrr.Version() != VersionTLS13 {
			t.Errorf("HRR: %+v", hrr)
		}
	}
	sh := hellos[len(hellos)-1]
	if sh.HelloRetryRequest {
		t.Error("final ServerHello flagged as HRR")
	}
	// In TLS 1.3 the selected ALPN travels in the encrypted EncryptedExtensions.
	wantALPN := h.state.NegotiatedProtocol
	if h.state.Version >= tls.VersionTLS13 {
		wantALPN = ""
	}
	if sh.Version() != Version(h.state.Version) || uint16(sh.CipherSuite) != h.state.CipherSuite ||
		sh.ALPN != wantALPN {
		t.Errorf("ServerHello %v %v %q, state %x %x %q", sh.Version(), sh.CipherSuite, sh.ALPN,
			h.state.Version, h.state.CipherSuite, h.state.NegotiatedProtocol)
	}
	if h.state.Version == tls.VersionTLS13 && sh.KeyShareGroup != uint16(h.state.CurveID) {
		t.Errorf("KeyShareGroup = %x, want %x", sh.KeyShareGroup, h.state.CurveID)
	}
	if sh.CipherSuite.String() != tls.CipherSuiteName(h.state.CipherSuite) {
		t.Errorf("suite name %s", sh.CipherSuite)
	}
	if len(sh.Anomalies) != 0 {
		t.Errorf("anomalies: %q", sh.Anomalies)
	}
	wantJA3S := fmt.Sprintf("%d,%d,%s", sh.LegacyVersion, h.state.CipherSuite, decimals(extensionTypes(sh.Extensions)))
	if str, _ := JA3S(sh); str != wantJA3S {
		t.Errorf("JA3S = %q, want %q", str, wantJA3S)
	}
}

func checkCertificate12(t *testing.T, msg []byte) {
	t.Helper()
	cert, err := ParseCertificate(msg, false)
	if err != nil {
		t.Fatal(err)
	}
	p := getPKI(t)
	if len(cert.Entries) != 2 || !bytes.Equal(cert.Entries[0].Data, p.serverDER) || !bytes.Equal(cert.Entries[1].Data, p.caDER) {
		t.Errorf("Certificate entries do not match the server chain")
	}
	checkPrefixes(t, msg, func(b []byte) error { _, err := ParseCertificate(b, false); return err })
	if _, err := ParseCertificate(msg, true); err == nil {
		t.Error("TLS 1.2 Certificate parsed as TLS 1.3")
	}
}

func checkCertificateRequest12(t *testing.T, h *handshake, msg []byte) {
	t.Helper()
	cr, err := ParseCertificateRequest(msg, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.CertificateAuthorities) != 1 || !bytes.Equal(cr.CertificateAuthorities[0], getPKI(t).ca.RawSubject) {
		t.Errorf("CertificateAuthorities = %x", cr.CertificateAuthorities)
	}
	if !slices.Contains(cr.CertificateTypes, 64) { // ecdsa_sign
		t.Errorf("CertificateTypes = %v", cr.CertificateTypes)
	}
	if (h.state.Version == tls.VersionTLS12) != (len(cr.SignatureAlgorithms) > 0) {
		t.Errorf("%x: SignatureAlgorithms = %x", h.state.Version, cr.SignatureAlgorithms)
	}
	checkPrefixes(t, msg, func(b []byte) error { _, err := ParseCertificateRequest(b, false); return err })
}

// checkPrefixes verifies that every strict prefix of msg fails to parse.
func checkPrefixes(t *testing.T, msg []byte, parse func([]byte) error) {
	t.Helper()
	for i := range len(msg) {
		if parse(msg[:i]) == nil {
			t.Fatalf("prefix of %d/%d bytes parsed", i, len(msg))
		}
	}
	// A trailing byte must fail too.
	if parse(append(bytes.Clone(msg), 0)) == nil {
		t.Fatalf("message with a trailing byte parsed")
	}
}

// ---- cryptobyte-built messages ----

func addHandshake(typ HandshakeType, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(typ))
	b.AddUint24LengthPrefixed(body)
	return b.BytesOrPanic()
}

func addExt(b *cryptobyte.Builder, typ uint16, data func(b *cryptobyte.Builder)) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(data)
}

func u16s(b *cryptobyte.Builder, v ...uint16) {
	for _, x := range v {
		b.AddUint16(x)
	}
}

// specExample is the ClientHello of the JA4 specification's example
// (technical_details/JA4.md), with GREASE added in every list.
type helloSpec struct {
	suites, exts, algs []uint16
	alpn               []string
	sni                string
	versions           []uint16
}

var ja4SpecHello = helloSpec{
	suites:   []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
	exts:     []uint16{0x2a2a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0x3a3a},
	algs:     []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	alpn:     []string{"h2", "http/1.1"},
	sni:      "example.com",
	versions: []uint16{0x7a7a, 0x0304, 0x0303},
}

// build makes a ClientHello whose extensions appear in hs.exts order, with
// well-formed content for the known ones.
func (hs helloSpec) build() []byte {
	return addHandshake(ClientHelloType, func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(bytes.Repeat([]byte{7}, 32)) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, hs.suites...) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range hs.exts {
				addExt(b, e, func(b *cryptobyte.Builder) {
					switch e {
					case ExtServerName:
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
							b.AddUint8(0)
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(hs.sni)) })
						})
					case ExtALPN:
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
							for _, p := range hs.alpn {
								b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
							}
						})
					case ExtSignatureAlgorithms:
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, hs.algs...) })
					case ExtSupportedVersions:
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, hs.versions...) })
					case ExtSupportedGroups:
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, 0x4a4a, 29, 23, 24) })
					case ExtECPointFormats:
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
					case ExtKeyShare:
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
							u16s(b, 0x4a4a)
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
							u16s(b, 29)
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
						})
					case ExtPSKModes:
						b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) })
					}
				})
			}
		})
	})
}

func TestJA4SpecExample(t *testing.T) {
	ch, err := ParseClientHello(ja4SpecHello.build())
	if err != nil {
		t.Fatal(err)
	}
	// Values published in the JA4 specification.
	const want = "t13d1516h2_8daaf6152771_e5627efa2ab1"
	const wantRaw = "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := JA4(ch, false); got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
	if got := JA4R(ch, false); got != wantRaw {
		t.Errorf("JA4R = %s, want %s", got, wantRaw)
	}
	if got := JA4(ch, true); got != "q"+want[1:] {
		t.Errorf("JA4 quic = %s", got)
	}
	// Without signature algorithms the c string has no "_" (spec: 6d807ffa2a79).
	noAlgs := ja4SpecHello
	noAlgs.exts = slices.DeleteFunc(slices.Clone(noAlgs.exts), func(e uint16) bool { return e == ExtSignatureAlgorithms })
	noAlgs.exts = append(noAlgs.exts, 0x000d+0x1000) // keep 16 extensions with an unknown one
	ch2, err := ParseClientHello(noAlgs.build())
	if err != nil {
		t.Fatal(err)
	}
	// The extension list changed (000d -> 100d), so recompute the expected
	// value from the spec's rule rather than its example digest.
	exts := "0005,000a,000b,0012,0015,0017,001b,0023,002b,002d,0033,100d,4469,ff01"
	sum := sha256.Sum256([]byte(exts))
	if got, want := JA4(ch2, false), "t13d1516h2_8daaf6152771_"+hex.EncodeToString(sum[:6]); got != want {
		t.Errorf("JA4 without sigalgs = %s, want %s", got, want)
	}
	if got := hash12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"); got != "6d807ffa2a79" {
		t.Errorf("hash12 of the spec's no-sigalgs example = %s", got)
	}
}

func TestJA4ALPN(t *testing.T) {
	tests := []struct {
		alpn []string
		want string
	}{
		{nil, "00"},
		{[]string{""}, "00"},
		{[]string{"h2"}, "h2"},
		{[]string{"http/1.1", "h2"}, "h1"},
		{[]string{"h"}, "hh"},
		{[]string{"\xba\xad"}, "99"}, // FoxIO: a value that starts with a non-ASCII byte gives "99"
		{[]string{"h2\xff"}, "6f"},
		{[]string{"/x"}, "28"},
	}
	for _, tt := range tests {
		if got := ja4ALPN(tt.alpn); got != tt.want {
			t.Errorf("ja4ALPN(%q) = %s, want %s", tt.alpn, got, tt.want)
		}
	}
}

func TestParseClientHelloBuilt(t *testing.T) {
	msg := ja4SpecHello.build()
	ch, err := ParseClientHello(msg)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "example.com" || !slices.Equal(ch.ALPN, []string{"h2", "http/1.1"}) ||
		!slices.Equal(ch.SupportedVersions, []uint16{0x7a7a, 0x0304, 0x0303}) || ch.MaxVersion() != VersionTLS13 ||
		!slices.Equal(ch.KeyShareGroups, []uint16{0x4a4a, 29}) || !slices.Equal(ch.PSKModes, []uint8{1}) ||
		!slices.Equal(ch.SupportedGroups, []uint16{0x4a4a, 29, 23, 24}) || !ch.StatusRequest || !ch.SessionTicket ||
		len(ch.Extensions) != len(ja4SpecHello.exts) || len(ch.SessionID) != 32 || len(ch.CipherSuites) != 16 {
		t.Errorf("unexpected fields: %+v", ch)
	}
	if len(ch.Anomalies) != 0 {
		t.Errorf("anomalies: %q", ch.Anomalies)
	}
	checkPrefixes(t, msg, func(b []byte) error { _, err := ParseClientHello(b); return err })

	// Lenient semantics: duplicate, unknown, malformed-content extensions
	// and a misplaced pre_shared_key are kept and reported.
	odd := helloSpec{suites: []uint16{0x002f}, exts: []uint16{ExtServerName, ExtPreSharedKey, ExtServerName, 0x1234, ExtEarlyData, ExtECH}, sni: "a.test"}
	msg = odd.build()
	ch, err = ParseClientHello(msg)
	if err != nil {
		t.Fatal(err)
	}
	wantAnoms := []string{"malformed extension pre_shared_key", "pre_shared_key is not the last", "duplicate extension server_name"}
	for _, w := range wantAnoms {
		if !slices.ContainsFunc(ch.Anomalies, func(a string) bool { return strings.Contains(a, w) }) {
			t.Errorf("anomalies %q lack %q", ch.Anomalies, w)
		}
	}
	if !ch.PreSharedKey || !ch.EarlyData || !ch.ECH || ch.ServerName != "a.test" || len(ch.Extensions) != 6 {
		t.Errorf("fields: %+v", ch)
	}
	if str, _ := JA3(ch); str != "771,47,0-41-0-4660-42-65037,," {
		t.Errorf("JA3 = %q", str)
	}

	// No extensions block at all.
	bare := addHandshake(ClientHelloType, func(b *cryptobyte.Builder) {
		b.AddUint16(0x0301)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, 0x0005, 0x000a) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	})
	ch, err = ParseClientHello(bare)
	if err != nil || ch.Extensions != nil || ch.MaxVersion() != VersionTLS10 {
		t.Fatalf("bare hello: %v %+v", err, ch)
	}
	checkPrefixes(t, bare, func(b []byte) error { _, err := ParseClientHello(b); return err })
	if got := JA4(ch, false); got != "t10i020000_"+hash12("0005,000a")+"_000000000000" {
		t.Errorf("JA4 = %s", got)
	}
	if str, _ := JA3(ch); str != "769,5-10,,," {
		t.Errorf("JA3 = %q", str)
	}
}

func TestParseServerHelloBuilt(t *testing.T) {
	build := func(random []byte, exts func(b *cryptobyte.Builder)) []byte {
		return addHandshake(ServerHelloType, func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(random)
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{1, 2, 3}) })
			b.AddUint16(0x1301)
			b.AddUint8(0)
			if exts != nil {
				b.AddUint16LengthPrefixed(exts)
			}
		})
	}
	hrr := build(helloRetryRequestRandom, func(b *cryptobyte.Builder) {
		addExt(b, ExtSupportedVersions, func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
		addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) { b.AddUint16(23) })
		addExt(b, 44, func(b *cryptobyte.Builder) { b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(9) }) })
	})
	down := append(make([]byte, 24), downgradeTLS12...)
	tests := []struct {
		name  string
		msg   []byte
		check func(sh *ServerHello) bool
	}{
		{"hrr", hrr, func(sh *ServerHello) bool {
			return sh.HelloRetryRequest && sh.KeyShareGroup == 23 && sh.Version() == VersionTLS13 && len(sh.Extensions) == 3
		}},
		{"no-extensions", build(make([]byte, 32), nil), func(sh *ServerHello) bool {
			return !sh.HelloRetryRequest && sh.Extensions == nil && sh.Version() == VersionTLS12 && bytes.Equal(sh.SessionID, []byte{1, 2, 3})
		}},
		{"alpn-downgrade", build(down, func(b *cryptobyte.Builder) {
			addExt(b, ExtALPN, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("h2")) })
				})
			})
		}), func(sh *ServerHello) bool {
			return sh.ALPN == "h2" && len(sh.Anomalies) == 1 && strings.Contains(sh.Anomalies[0], "downgrade")
		}},
		{"bad-key-share-content", build(make([]byte, 32), func(b *cryptobyte.Builder) {
			addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) { b.AddUint8(1) })
			addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) {})
		}), func(sh *ServerHello) bool {
			return sh.KeyShareGroup == 0 && len(sh.Anomalies) == 2
		}},
		{"draft18", addHandshake(ServerHelloType, func(b *cryptobyte.Builder) {
			b.AddUint16(0x7f12)
			b.AddBytes(make([]byte, 32))
			b.AddUint16(0x1301)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) {
					b.AddUint16(29)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
				})
			})
		}), func(sh *ServerHello) bool {
			return sh.Version().String() == "TLS 1.3 draft 18" && sh.KeyShareGroup == 29 && len(sh.Anomalies) == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := ParseServerHello(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(sh) {
				t.Errorf("unexpected: %+v", sh)
			}
			checkPrefixes(t, tt.msg, func(b []byte) error { _, err := ParseServerHello(b); return err })
		})
	}
}

func TestParseCertificate13AndRequest13(t *testing.T) {
	p := getPKI(t)
	cert := addHandshake(CertificateType, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{0xaa}) })
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, der := range [][]byte{p.serverDER, p.caDER} {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					addExt(b, ExtStatusRequest, func(b *cryptobyte.Builder) { b.AddBytes([]byte{1}) })
				})
			}
		})
	})
	c, err := ParseCertificate(cert, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Context, []byte{0xaa}) || len(c.Entries) != 2 || !bytes.Equal(c.Entries[1].Data, p.caDER) || len(c.Entries[0].Extensions) != 5 {
		t.Errorf("Certificate: %+v", c)
	}
	checkPrefixes(t, cert, func(b []byte) error { _, err := ParseCertificate(b, true); return err })
	if _, err := ParseCertificate(cert, false); err == nil {
		t.Error("TLS 1.3 Certificate parsed as TLS 1.2")
	}
	empty := addHandshake(CertificateType, func(b *cryptobyte.Builder) { b.AddUint24(0) })
	if c, err := ParseCertificate(empty, false); err != nil || len(c.Entries) != 0 {
		t.Errorf("empty Certificate: %v", err)
	}

	req := addHandshake(CertificateRequestType, func(b *cryptobyte.Builder) {
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			addExt(b, ExtSignatureAlgorithms, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { u16s(b, 0x0403, 0x0804) })
			})
			addExt(b, ExtCertAuthorities, func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p.ca.RawSubject) })
				})
			})
		})
	})
	cr, err := ParseCertificateRequest(req, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cr.SignatureAlgorithms, []uint16{0x0403, 0x0804}) || len(cr.CertificateAuthorities) != 1 ||
		!bytes.Equal(cr.CertificateAuthorities[0], p.ca.RawSubject) || len(cr.Extensions) != 2 || cr.Context == nil {
		t.Errorf("CertificateRequest: %+v", cr)
	}
	checkPrefixes(t, req, func(b []byte) error { _, err := ParseCertificateRequest(b, true); return err })
}

func TestParseErrors(t *testing.T) {
	_, err := ParseClientHello([]byte{2, 0, 0, 0})
	var pe *ParseError
	if !errorsAs(err, &pe) || pe.Msg != "ClientHello" {
		t.Fatalf("err = %v", err)
	}
	if got := err.Error(); got != "tlsparse: malformed ClientHello (4 bytes: 02 00 00 00)" {
		t.Errorf("Error() = %q", got)
	}
	long := &ParseError{Msg: "x", Data: make([]byte, 100), Err: ErrNeedMore}
	if s := long.Error(); !strings.Contains(s, "100 bytes") || !strings.HasSuffix(s, "...)") || long.Unwrap() != ErrNeedMore {
		t.Errorf("Error() = %q", s)
	}
}

// TestClientHelloListsApart: the uint16 lists of a ClientHello share one
// array, each capped at its length: appending to one (as callers may) does
// not write over the next.
func TestClientHelloListsApart(t *testing.T) {
	h := handshakeCases[0].run(t)
	msg := findMessage(plaintextMessages(t, h.client), ClientHelloType)
	ch, err := ParseClientHello(msg)
	if err != nil {
		t.Fatal(err)
	}
	lists := [][]uint16{ch.CipherSuites, ch.SupportedVersions, ch.SupportedGroups, ch.SignatureAlgorithms}
	var before [][]uint16
	for i, l := range lists {
		if len(l) == 0 {
			t.Fatalf("list %d empty: %+v", i, ch)
		}
		before = append(before, slices.Clone(l))
	}
	for i := range lists {
		_ = append(lists[i], 0xffff, 0xffff, 0xffff)
	}
	for i, l := range [][]uint16{ch.CipherSuites, ch.SupportedVersions, ch.SupportedGroups, ch.SignatureAlgorithms} {
		if !slices.Equal(l, before[i]) {
			t.Errorf("list %d changed by an append to another: %v, was %v", i, l, before[i])
		}
	}
}

// TestDetach: a detached hello (crypto/tls's, every handshake case) says
// what it said, and its fingerprints, once its message is overwritten; it
// keeps no Raw nor Extensions, only their types.
func TestDetach(t *testing.T) {
	for _, c := range handshakeCases {
		t.Run(c.name, func(t *testing.T) {
			h := c.run(t)
			cmsg := findMessage(plaintextMessages(t, h.client), ClientHelloType)
			smsg := findMessage(plaintextMessages(t, h.server), ServerHelloType)
			wantCH, err1 := ParseClientHello(bytes.Clone(cmsg))
			wantSH, err2 := ParseServerHello(bytes.Clone(smsg))
			ch, err3 := ParseClientHello(cmsg)
			sh, err4 := ParseServerHello(smsg)
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				t.Fatal(err)
			}
			ch.Detach()
			sh.Detach()
			for i := range cmsg {
				cmsg[i] = 0xaa
			}
			for i := range smsg {
				smsg[i] = 0xaa
			}
			_, ja3 := JA3(ch)
			_, wantJA3 := JA3(wantCH)
			_, ja3s := JA3S(sh)
			_, wantJA3S := JA3S(wantSH)
			if ja3 != wantJA3 || JA4(ch, false) != JA4(wantCH, false) || JA4R(ch, false) != JA4R(wantCH, false) || ja3s != wantJA3S {
				t.Errorf("fingerprints changed: %s %s %s, want %s %s %s", ja3, JA4(ch, false), ja3s, wantJA3, JA4(wantCH, false), wantJA3S)
			}
			var wantTypes [2][]uint16
			for _, e := range wantCH.Extensions {
				wantTypes[0] = append(wantTypes[0], e.Type)
			}
			for _, e := range wantSH.Extensions {
				wantTypes[1] = append(wantTypes[1], e.Type)
			}
			if !slices.Equal(ch.ExtensionTypes, wantTypes[0]) || !slices.Equal(sh.ExtensionTypes, wantTypes[1]) || len(wantTypes[0]) == 0 {
				t.Errorf("detached: extension types %v and %v, want %v and %v", ch.ExtensionTypes, sh.ExtensionTypes, wantTypes[0], wantTypes[1])
			}
			wantCH.Raw, wantSH.Raw = nil, nil
			wantCH.Extensions, wantSH.Extensions = nil, nil
			if !reflect.DeepEqual(ch, wantCH) {
				t.Errorf("detached ClientHello\n got %+v\nwant %+v", ch, wantCH)
			}
			if !reflect.DeepEqual(sh, wantSH) {
				t.Errorf("detached ServerHello\n got %+v\nwant %+v", sh, wantSH)
			}
		})
	}
}
