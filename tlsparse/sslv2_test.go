package tlsparse_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// sslv2Record frames an SSL 2.0 message in a record with a 2-byte header,
// or with a 3-byte one holding pad padding bytes (zeros) when threeByte is
// set.
func sslv2Record(msg []byte, threeByte bool, pad int) []byte {
	if !threeByte {
		return append([]byte{0x80 | byte(len(msg)>>8), byte(len(msg))}, msg...)
	}
	n := len(msg) + pad
	rec := append([]byte{byte(n>>8) & 0x3f, byte(n), byte(pad)}, msg...)
	return append(rec, make([]byte, pad)...)
}

// sslv2ServerHello builds a SERVER-HELLO message (its type byte included)
// as a server that does not resume a session sends it.
func sslv2ServerHello(hit uint8, cert []byte, specs []uint32, connID []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(tlsparse.SSLv2MsgServerHello))
	b.AddUint8(hit)
	if hit == 0 {
		b.AddUint8(tlsparse.SSLv2CertX509)
	} else {
		b.AddUint8(0)
	}
	b.AddUint16(uint16(tlsparse.VersionSSL20))
	b.AddUint16(uint16(len(cert)))
	b.AddUint16(uint16(3 * len(specs)))
	b.AddUint16(uint16(len(connID)))
	b.AddBytes(cert)
	for _, s := range specs {
		b.AddUint8(uint8(s >> 16))
		b.AddUint16(uint16(s))
	}
	b.AddBytes(connID)
	return b.BytesOrPanic()
}

// sslv2ClientMasterKey builds a CLIENT-MASTER-KEY message as the client
// of an RSA key exchange sends it (type byte included).
func sslv2ClientMasterKey(kind uint32, clear, enc, arg []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(tlsparse.SSLv2MsgClientMasterKey))
	b.AddUint8(uint8(kind >> 16))
	b.AddUint16(uint16(kind))
	b.AddUint16(uint16(len(clear)))
	b.AddUint16(uint16(len(enc)))
	b.AddUint16(uint16(len(arg)))
	b.AddBytes(clear)
	b.AddBytes(enc)
	b.AddBytes(arg)
	return b.BytesOrPanic()
}

var (
	testConnID = bytes.Repeat([]byte{0xc1}, 16)
	testSpecs  = []uint32{0x0700c0, 0x010080, 0x060040}
	// testCert stands for the DER certificate: the parser does not read it.
	testCert = append([]byte{0x30, 0x82, 0x01, 0x00}, bytes.Repeat([]byte{0xce}, 256)...)
)

func TestReadSSLv2RecordHeader(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want tlsparse.SSLv2RecordHeader
		err  bool // a *ParseError (ErrNeedMore is checked apart)
	}{
		{in: []byte{0x83, 0xb4, 0x04}, want: tlsparse.SSLv2RecordHeader{HeaderLen: 2, Length: 948}},
		{in: []byte{0xff, 0xff}, want: tlsparse.SSLv2RecordHeader{HeaderLen: 2, Length: 0x7fff}},
		{in: []byte{0x00, 0x28, 0x07}, want: tlsparse.SSLv2RecordHeader{HeaderLen: 3, Length: 40, Padding: 7}},
		{in: []byte{0x7f, 0xff, 0x00}, want: tlsparse.SSLv2RecordHeader{HeaderLen: 3, Length: 0x3fff, Escape: true}},
		{in: []byte{0x80, 0x00}, err: true},
		{in: []byte{0x00, 0x00, 0x00}, err: true},
		{in: []byte{0x00, 0x04, 0x05}, err: true},
	} {
		h, err := tlsparse.ReadSSLv2RecordHeader(tt.in)
		if tt.err {
			var pe *tlsparse.ParseError
			if !errors.As(err, &pe) || pe.Msg != "SSLv2 record header" || h != (tlsparse.SSLv2RecordHeader{}) {
				t.Errorf("% x: %+v, %v; want a ParseError", tt.in, h, err)
			}
			continue
		}
		if err != nil || h != tt.want {
			t.Errorf("% x: %+v, %v; want %+v", tt.in, h, err, tt.want)
		}
		for i := range h.HeaderLen {
			if _, err := tlsparse.ReadSSLv2RecordHeader(tt.in[:i]); err != tlsparse.ErrNeedMore {
				t.Errorf("% x: %d-byte prefix: %v, want ErrNeedMore", tt.in, i, err)
			}
		}
	}
}

func TestParseSSLv2ServerHello(t *testing.T) {
	msg := sslv2ServerHello(0, testCert, testSpecs, testConnID)
	for _, rec := range [][]byte{sslv2Record(msg, false, 0), sslv2Record(msg, true, 0)} {
		sh, err := tlsparse.ParseSSLv2ServerHello(rec)
		if err != nil {
			t.Fatal(err)
		}
		if sh.SessionIDHit || sh.CertificateType != tlsparse.SSLv2CertX509 || sh.Version != tlsparse.VersionSSL20 ||
			!bytes.Equal(sh.Certificate, testCert) || !bytes.Equal(sh.ConnectionID, testConnID) ||
			!bytes.Equal(sh.Raw, rec) || len(sh.Anomalies) != 0 {
			t.Fatalf("%+v", sh)
		}
		if len(sh.CipherSpecs) != 3 || sh.CipherSpecs[0].String() != "SSL_CK_DES_192_EDE3_CBC_WITH_MD5" ||
			sh.CipherSpecs[1].String() != "SSL_CK_RC4_128_WITH_MD5" || sh.CipherSpecs[2] != 0x060040 {
			t.Fatalf("cipher specs %v", sh.CipherSpecs)
		}
		if !within(sh.Certificate, rec) || !within(sh.ConnectionID, rec) {
			t.Fatal("the certificate or connection id does not alias the record")
		}
		checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2ServerHello(b); return err })
		if tlsparse.LooksLikeSSLv2ServerHello(rec) != (rec[0]&0x80 != 0) {
			t.Errorf("LooksLikeSSLv2ServerHello(% x...) wrong", rec[:8])
		}
	}

	// A session-id hit: no certificate, no cipher specs.
	hit, err := tlsparse.ParseSSLv2ServerHello(sslv2Record(sslv2ServerHello(1, nil, nil, testConnID), false, 0))
	if err != nil || !hit.SessionIDHit || len(hit.Certificate) != 0 || len(hit.CipherSpecs) != 0 || len(hit.Anomalies) != 0 {
		t.Fatalf("session-id hit: %+v, %v", hit, err)
	}
	// Oddities are anomalies, not failures.
	odd, err := tlsparse.ParseSSLv2ServerHello(sslv2Record(sslv2ServerHello(0, nil, nil, testConnID[:4]), false, 0))
	if err != nil || len(odd.Anomalies) != 2 {
		t.Fatalf("odd: %+v, %v", odd, err)
	}

	for name, rec := range map[string][]byte{
		"padded":          sslv2Record(msg, true, 2),
		"another message": sslv2Record(sslv2ClientMasterKey(0x010080, nil, testCert, nil), false, 0),
		"spec length not a multiple of 3": sslv2Record(func() []byte {
			m := sslv2ServerHello(0, testCert, testSpecs, testConnID)
			m[8]-- // CIPHER-SPECS-LENGTH 9 -> 8, one more byte of connection id
			m[10]++
			return m
		}(), false, 0),
	} {
		if sh, err := tlsparse.ParseSSLv2ServerHello(rec); err == nil || sh != nil {
			t.Errorf("%s: parsed", name)
		} else {
			checkParseError(t, err, "SSLv2 SERVER-HELLO", rec)
		}
	}
}

func TestLooksLikeSSLv2ServerHello(t *testing.T) {
	sh := sslv2Record(sslv2ServerHello(0, testCert, testSpecs, testConnID), false, 0)
	for _, tt := range []struct {
		in   []byte
		want bool
	}{
		{sh, true},
		{sh[:7], true},
		{sh[:6], false},
		{[]byte{0x80, 0x03, 0x00, 0x00, 0x01}, true},                 // ERROR NO-CIPHER-ERROR
		{[]byte{0x80, 0x04, 0x00, 0x00, 0x01, 0x00}, false},          // an ERROR is 3 bytes
		{[]byte{0x80, 0x2e, 0x01, 0x00, 0x02}, false},                // a CLIENT-HELLO
		{[]byte{0x16, 0x03, 0x01, 0x00, 0x31, 0x02}, false},          // a TLS record
		{[]byte{0x83, 0xb4, 0x04, 0x00, 0x01, 0x03, 0x00}, false},    // version 3.0: not SSL 2.0
		{[]byte{0x00, 0x0b, 0x00, 0x04, 0x00, 0x01, 0x00}, false},    // 3-byte header: ambiguous with TLS, not taken
		{[]byte{0x80, 0x05, 0x04, 0x00, 0x01, 0x00, 0x02, 0}, false}, // too short for a SERVER-HELLO
	} {
		if got := tlsparse.LooksLikeSSLv2ServerHello(tt.in); got != tt.want {
			t.Errorf("LooksLikeSSLv2ServerHello(% x) = %v", tt.in, got)
		}
	}
}

func TestParseSSLv2ClientMasterKey(t *testing.T) {
	arg := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	rec := sslv2Record(sslv2ClientMasterKey(0x0700c0, nil, testCert, arg), false, 0)
	m, err := tlsparse.ParseSSLv2ClientMasterKey(rec)
	if err != nil {
		t.Fatal(err)
	}
	if m.CipherKind != 0x0700c0 || m.CipherKind.String() != "SSL_CK_DES_192_EDE3_CBC_WITH_MD5" ||
		len(m.ClearKey) != 0 || !bytes.Equal(m.EncryptedKey, testCert) || !bytes.Equal(m.KeyArg, arg) || !bytes.Equal(m.Raw, rec) {
		t.Fatalf("%+v", m)
	}
	if s := tlsparse.SSLv2CipherKind(0xff0001).String(); s != "0xFF0001" {
		t.Errorf("unknown kind: %q", s)
	}
	checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2ClientMasterKey(b); return err })
	if _, err := tlsparse.ParseSSLv2ClientMasterKey(sslv2Record(sslv2ServerHello(0, testCert, testSpecs, testConnID), false, 0)); err == nil {
		t.Error("a SERVER-HELLO parsed as CLIENT-MASTER-KEY")
	}
}

func TestParseSSLv2Error(t *testing.T) {
	rec := []byte{0x80, 0x03, 0x00, 0x00, 0x01}
	code, err := tlsparse.ParseSSLv2Error(rec)
	if err != nil || code != tlsparse.SSLv2NoCipher || code.String() != "NO-CIPHER-ERROR" {
		t.Fatalf("%v, %v", code, err)
	}
	if a, ok := code.Alert(); !ok || a.String() != "fatal handshake_failure" {
		t.Errorf("alert %v, %v", a, ok)
	}
	if a, ok := tlsparse.SSLv2BadCertificate.Alert(); !ok || a.Description != tlsparse.AlertBadCertificate {
		t.Errorf("alert %v, %v", a, ok)
	}
	if _, ok := tlsparse.SSLv2ErrorCode(3).Alert(); ok {
		t.Error("undefined code mapped to an alert")
	}
	checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2Error(b); return err })
	if tlsparse.SSLv2MsgServerHello.String() != "SERVER-HELLO" || tlsparse.SSLv2MessageType(9).String() != "SSLv2 message(9)" {
		t.Error("message type names")
	}
}

// FuzzParseSSLv2ServerHello parses the first record of an SSL 2.0 server,
// its answer to a CLIENT-HELLO: a SERVER-HELLO ([SSL2], Appendix C.2) or
// an ERROR. The seeds carry a certificate of the generated captures.
func FuzzParseSSLv2ServerHello(f *testing.F) {
	c, err := tlsparse.ParseCertificate(seeds(f).messages[tlsparse.CertificateType][0], false)
	if err != nil {
		f.Fatal(err)
	}
	cert := c.Entries[0].Data
	f.Add(sslv2Record(sslv2ServerHello(0, cert, testSpecs, testConnID), false, 0))
	f.Add(sslv2Record(sslv2ServerHello(0, cert, testSpecs[:1], testConnID), true, 0))
	f.Add(sslv2Record(sslv2ServerHello(1, nil, nil, testConnID), false, 0))
	f.Add([]byte{0x80, 0x03, 0x00, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, rec []byte) {
		looks := tlsparse.LooksLikeSSLv2ServerHello(rec)
		if looks && !tlsparse.LooksLikeSSLv2ServerHello(append(slices.Clip(rec), 0)) {
			t.Fatal("LooksLikeSSLv2ServerHello depends on the bytes after the input")
		}
		if code, err := tlsparse.ParseSSLv2Error(rec); err != nil {
			if code != 0 {
				t.Fatal("error code and error both returned")
			}
			checkParseError(t, err, "SSLv2 ERROR", rec)
		} else {
			if !bytes.Equal(rec[len(rec)-3:], []byte{0, byte(code >> 8), byte(code)}) || looks != (rec[0]&0x80 != 0) {
				t.Fatalf("ERROR %v from % x", code, rec)
			}
			checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2Error(b); return err })
		}
		sh, err := tlsparse.ParseSSLv2ServerHello(rec)
		if err != nil {
			if sh != nil {
				t.Fatal("SERVER-HELLO and error both returned")
			}
			checkParseError(t, err, "SSLv2 SERVER-HELLO", rec)
			return
		}
		if !bytes.Equal(sh.Raw, rec) || !within(sh.Raw, rec) || !within(sh.Certificate, rec) || !within(sh.ConnectionID, rec) {
			t.Fatal("Raw, Certificate or ConnectionID do not alias the input")
		}
		h, err := tlsparse.ReadSSLv2RecordHeader(rec)
		if err != nil {
			t.Fatal(err)
		}
		if looks != (h.HeaderLen == 2 && sh.Version == tlsparse.VersionSSL20 && rec[h.HeaderLen+1] <= 1) {
			t.Fatalf("LooksLikeSSLv2ServerHello = %v for %+v", looks, sh)
		}
		// Re-marshal the message and compare it with the record's.
		var b cryptobyte.Builder
		b.AddUint8(uint8(tlsparse.SSLv2MsgServerHello))
		b.AddUint8(rec[h.HeaderLen+1]) // SESSION-ID-HIT as sent
		b.AddUint8(sh.CertificateType)
		b.AddUint16(uint16(sh.Version))
		b.AddUint16(uint16(len(sh.Certificate)))
		b.AddUint16(uint16(3 * len(sh.CipherSpecs)))
		b.AddUint16(uint16(len(sh.ConnectionID)))
		b.AddBytes(sh.Certificate)
		for _, s := range sh.CipherSpecs {
			b.AddUint8(uint8(s >> 16))
			b.AddUint16(uint16(s))
		}
		b.AddBytes(sh.ConnectionID)
		if out := b.BytesOrPanic(); !bytes.Equal(out, rec[h.HeaderLen:]) || h.Padding != 0 {
			t.Fatalf("re-marshalled SERVER-HELLO differs:\n got %x\nwant %x", out, rec[h.HeaderLen:])
		}
		checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2ServerHello(b); return err })
	})
}

// FuzzParseSSLv2ClientMasterKey parses CLIENT-MASTER-KEY records ([SSL2],
// Appendix C.2), and their headers with ReadSSLv2RecordHeader.
func FuzzParseSSLv2ClientMasterKey(f *testing.F) {
	f.Add(sslv2Record(sslv2ClientMasterKey(0x0700c0, nil, testCert, []byte{1, 2, 3, 4, 5, 6, 7, 8}), false, 0))
	f.Add(sslv2Record(sslv2ClientMasterKey(0x020080, testConnID[:11], testCert[:64], nil), true, 0))
	f.Add([]byte{0x00, 0x28, 0x07})
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, herr := tlsparse.ReadSSLv2RecordHeader(rec)
		switch {
		case herr == tlsparse.ErrNeedMore:
			if len(rec) >= 3 || len(rec) == 2 && rec[0]&0x80 != 0 {
				t.Fatalf("% x: ErrNeedMore", rec)
			}
		case herr != nil:
			var pe *tlsparse.ParseError
			if !errors.As(herr, &pe) || !bytes.Equal(pe.Data, rec[:len(pe.Data)]) || len(pe.Data) < 2 || len(pe.Data) > 3 {
				t.Fatalf("error %v does not hold the header", herr)
			}
		default:
			if h.Length <= 0 || h.Padding > h.Length || h.HeaderLen != 2 && h.HeaderLen != 3 || (h.HeaderLen == 2) != (rec[0]&0x80 != 0) {
				t.Fatalf("% x: header %+v", rec[:h.HeaderLen], h)
			}
			if h2, _ := tlsparse.ReadSSLv2RecordHeader(rec[:h.HeaderLen]); h2 != h {
				t.Fatal("the header depends on the bytes after it")
			}
		}
		m, err := tlsparse.ParseSSLv2ClientMasterKey(rec)
		if err != nil {
			if m != nil {
				t.Fatal("CLIENT-MASTER-KEY and error both returned")
			}
			checkParseError(t, err, "SSLv2 CLIENT-MASTER-KEY", rec)
			return
		}
		if herr != nil || !bytes.Equal(m.Raw, rec) || !within(m.ClearKey, rec) || !within(m.EncryptedKey, rec) || !within(m.KeyArg, rec) {
			t.Fatal("Raw or key fields do not alias the input")
		}
		out := sslv2ClientMasterKey(uint32(m.CipherKind), m.ClearKey, m.EncryptedKey, m.KeyArg)
		if !bytes.Equal(out, rec[h.HeaderLen:]) || h.Padding != 0 {
			t.Fatalf("re-marshalled CLIENT-MASTER-KEY differs:\n got %x\nwant %x", out, rec[h.HeaderLen:])
		}
		checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2ClientMasterKey(b); return err })
	})
}
