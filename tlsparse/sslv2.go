package tlsparse

import (
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
)

// SSL 2.0 has no RFC: the references are the SSL 2.0 specification,
// draft-hickman-netscape-ssl-00 ("The SSL Protocol", Netscape, 1995),
// cited below as [SSL2], and RFC 6176, which prohibits it.

// VersionSSL20 is the version an SSL 2.0 SERVER-HELLO carries.
const VersionSSL20 Version = 0x0002

// SSLv2MessageType is the first byte of an SSL 2.0 handshake message
// ([SSL2], Appendix C.2).
type SSLv2MessageType uint8

// SSL 2.0 message types.
const (
	SSLv2MsgError              SSLv2MessageType = 0 // ERROR
	SSLv2MsgClientHello        SSLv2MessageType = 1 // CLIENT-HELLO
	SSLv2MsgClientMasterKey    SSLv2MessageType = 2 // CLIENT-MASTER-KEY
	SSLv2MsgClientFinished     SSLv2MessageType = 3 // CLIENT-FINISHED
	SSLv2MsgServerHello        SSLv2MessageType = 4 // SERVER-HELLO
	SSLv2MsgServerVerify       SSLv2MessageType = 5 // SERVER-VERIFY
	SSLv2MsgServerFinished     SSLv2MessageType = 6 // SERVER-FINISHED
	SSLv2MsgRequestCertificate SSLv2MessageType = 7 // REQUEST-CERTIFICATE
	SSLv2MsgClientCertificate  SSLv2MessageType = 8 // CLIENT-CERTIFICATE
)

var sslv2MessageNames = [...]string{
	"ERROR", "CLIENT-HELLO", "CLIENT-MASTER-KEY", "CLIENT-FINISHED", "SERVER-HELLO",
	"SERVER-VERIFY", "SERVER-FINISHED", "REQUEST-CERTIFICATE", "CLIENT-CERTIFICATE",
}

// String returns the specification's name ("SERVER-HELLO"), or
// "SSLv2 message(N)".
func (t SSLv2MessageType) String() string {
	if int(t) < len(sslv2MessageNames) {
		return sslv2MessageNames[t]
	}
	return "SSLv2 message(" + strconv.Itoa(int(t)) + ")"
}

// SSLv2CipherKind is a 3-byte SSL 2.0 cipher kind ([SSL2], Appendix C.4).
type SSLv2CipherKind uint32

var sslv2CipherNames = map[SSLv2CipherKind]string{
	0x010080: "SSL_CK_RC4_128_WITH_MD5",
	0x020080: "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
	0x030080: "SSL_CK_RC2_128_CBC_WITH_MD5",
	0x040080: "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
	0x050080: "SSL_CK_IDEA_128_CBC_WITH_MD5",
	0x060040: "SSL_CK_DES_64_CBC_WITH_MD5",
	0x0700c0: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
}

// String returns the specification's name ("SSL_CK_RC4_128_WITH_MD5"), or
// "0x%06X" when unknown.
func (k SSLv2CipherKind) String() string {
	if n, ok := sslv2CipherNames[k]; ok {
		return n
	}
	return fmt.Sprintf("0x%06X", uint32(k))
}

// SSLv2ErrorCode is the code of an SSL 2.0 ERROR message ([SSL2],
// Appendix C.3).
type SSLv2ErrorCode uint16

// SSL 2.0 error codes.
const (
	SSLv2NoCipher                   SSLv2ErrorCode = 0x0001 // NO-CIPHER-ERROR
	SSLv2NoCertificate              SSLv2ErrorCode = 0x0002 // NO-CERTIFICATE-ERROR
	SSLv2BadCertificate             SSLv2ErrorCode = 0x0004 // BAD-CERTIFICATE-ERROR
	SSLv2UnsupportedCertificateType SSLv2ErrorCode = 0x0006 // UNSUPPORTED-CERTIFICATE-TYPE-ERROR
)

// String returns the specification's name ("NO-CIPHER-ERROR"), or
// "SSLv2 error(N)".
func (e SSLv2ErrorCode) String() string {
	switch e {
	case SSLv2NoCipher:
		return "NO-CIPHER-ERROR"
	case SSLv2NoCertificate:
		return "NO-CERTIFICATE-ERROR"
	case SSLv2BadCertificate:
		return "BAD-CERTIFICATE-ERROR"
	case SSLv2UnsupportedCertificateType:
		return "UNSUPPORTED-CERTIFICATE-TYPE-ERROR"
	}
	return "SSLv2 error(" + strconv.Itoa(int(e)) + ")"
}

// Alert is the SSL 3.0 alert that took over the error's meaning (RFC
// 6101, Section 5.4.2, which kept SSL 2.0's codes 40 to 43 for them): a
// fatal handshake_failure for NO-CIPHER-ERROR, no_certificate,
// bad_certificate and unsupported_certificate; ok is false for codes the
// specification does not define.
func (e SSLv2ErrorCode) Alert() (a Alert, ok bool) {
	desc, ok := sslv2ErrorAlerts[e]
	return Alert{Level: AlertFatal, Description: desc}, ok
}

var sslv2ErrorAlerts = map[SSLv2ErrorCode]AlertDescription{
	SSLv2NoCipher:                   AlertHandshakeFailure,
	SSLv2NoCertificate:              AlertNoCertificate,
	SSLv2BadCertificate:             AlertBadCertificate,
	SSLv2UnsupportedCertificateType: AlertUnsupportedCertificate,
}

// SSLv2RecordHeader is a decoded SSL 2.0 record header ([SSL2], "SSL
// Record Header Format"): 2 bytes, the high bit set and a 15-bit length,
// or 3 bytes, a 14-bit length, the IS-ESCAPE bit and a padding count.
type SSLv2RecordHeader struct {
	HeaderLen int  // 2 or 3
	Length    int  // RECORD-LENGTH: the bytes after the header, padding included
	Padding   int  // 3-byte form: padding bytes at the end of the record
	Escape    bool // 3-byte form: IS-ESCAPE (the specification defines no escape)
}

// ReadSSLv2RecordHeader decodes the SSL 2.0 record header at the start of
// b. It returns ErrNeedMore when b is too short to hold it (1 byte, or 2 of
// the 3-byte form), and a *ParseError for an empty record or padding
// longer than it. The whole record is HeaderLen+Length bytes long.
func ReadSSLv2RecordHeader(b []byte) (SSLv2RecordHeader, error) {
	s := cryptobyte.String(b)
	var hdr uint16
	if !s.ReadUint16(&hdr) {
		return SSLv2RecordHeader{}, ErrNeedMore
	}
	h := SSLv2RecordHeader{HeaderLen: 2, Length: int(hdr & 0x7fff)}
	if hdr&0x8000 == 0 {
		var pad uint8
		if !s.ReadUint8(&pad) {
			return SSLv2RecordHeader{}, ErrNeedMore
		}
		h = SSLv2RecordHeader{HeaderLen: 3, Length: int(hdr & 0x3fff), Padding: int(pad), Escape: hdr&0x4000 != 0}
	}
	if h.Length == 0 || h.Padding > h.Length {
		return SSLv2RecordHeader{}, &ParseError{Msg: "SSLv2 record header", Data: b[:h.HeaderLen],
			Err: fmt.Errorf("length %d, padding %d", h.Length, h.Padding)}
	}
	return h, nil
}

// LooksLikeSSLv2ServerHello reports whether b starts the answer of an SSL
// 2.0 server to an SSL 2.0 CLIENT-HELLO: a record with a 2-byte header
// holding a SERVER-HELLO whose version is 2, or an ERROR. The first 3 bytes
// decide an ERROR, the first 7 a SERVER-HELLO; shorter input gives false.
func LooksLikeSSLv2ServerHello(b []byte) bool {
	h, err := ReadSSLv2RecordHeader(b)
	if err != nil || h.HeaderLen != 2 {
		return false
	}
	s := cryptobyte.String(b[h.HeaderLen:])
	var typ, hit, certType uint8
	var version uint16
	if !s.ReadUint8(&typ) {
		return false
	}
	switch SSLv2MessageType(typ) {
	case SSLv2MsgError:
		return h.Length == 3
	case SSLv2MsgServerHello:
		return h.Length >= 11 && s.ReadUint8(&hit) && s.ReadUint8(&certType) && s.ReadUint16(&version) && hit <= 1 && version == uint16(VersionSSL20)
	}
	return false
}

// sslv2Message reads the SSL 2.0 record rec, header included, holding one
// message in the clear: the header's length must cover the rest of rec
// exactly, and a 3-byte header must give no padding (messages in the clear
// are not padded). It returns the message, its type byte included.
func sslv2Message(rec []byte, want SSLv2MessageType) (cryptobyte.String, bool) {
	h, err := ReadSSLv2RecordHeader(rec)
	if err != nil || h.Padding != 0 || h.HeaderLen+h.Length != len(rec) {
		return nil, false
	}
	msg := cryptobyte.String(rec[h.HeaderLen:])
	var typ uint8
	if !msg.ReadUint8(&typ) || SSLv2MessageType(typ) != want {
		return nil, false
	}
	return msg, true
}

// SSLv2ServerHello is a parsed SSL 2.0 SERVER-HELLO ([SSL2], Appendix
// C.2). Slices alias the input record.
type SSLv2ServerHello struct {
	Raw             []byte // the whole record, header included
	SessionIDHit    bool   // the server resumes the session the client named: no certificate, no cipher specs
	CertificateType uint8  // 1: SSL_CT_X509_CERTIFICATE
	Version         Version
	Certificate     []byte            // the server's certificate (DER for X.509); empty on a session-id hit
	CipherSpecs     []SSLv2CipherKind // wire order
	ConnectionID    []byte
	Anomalies       []string
}

// SSLv2CertX509 is the only certificate type of SSL 2.0
// (SSL_CT_X509_CERTIFICATE).
const SSLv2CertX509 = 1

// ParseSSLv2ServerHello parses a whole SSL 2.0 record holding a
// SERVER-HELLO, header included. It aliases rec.
func ParseSSLv2ServerHello(rec []byte) (*SSLv2ServerHello, error) {
	sh := &SSLv2ServerHello{Raw: rec}
	if !sh.unmarshal(rec) {
		return nil, parseErr("SSLv2 SERVER-HELLO", rec)
	}
	return sh, nil
}

func (sh *SSLv2ServerHello) unmarshal(rec []byte) bool {
	s, ok := sslv2Message(rec, SSLv2MsgServerHello)
	if !ok {
		return false
	}
	var hit, certType uint8
	var version, certLen, specLen, idLen uint16
	var specs cryptobyte.String
	if !s.ReadUint8(&hit) || !s.ReadUint8(&certType) || !s.ReadUint16(&version) ||
		!s.ReadUint16(&certLen) || !s.ReadUint16(&specLen) || !s.ReadUint16(&idLen) ||
		!s.ReadBytes(&sh.Certificate, int(certLen)) || specLen%3 != 0 ||
		!s.ReadBytes((*[]byte)(&specs), int(specLen)) || !s.ReadBytes(&sh.ConnectionID, int(idLen)) || !s.Empty() {
		return false
	}
	sh.SessionIDHit = hit != 0
	sh.CertificateType = certType
	sh.Version = Version(version)
	for !specs.Empty() {
		var hi uint8
		var lo uint16
		if !specs.ReadUint8(&hi) || !specs.ReadUint16(&lo) {
			return false
		}
		sh.CipherSpecs = append(sh.CipherSpecs, SSLv2CipherKind(uint32(hi)<<16|uint32(lo)))
	}
	if hit > 1 {
		sh.anomaly("session-id-hit %d", hit)
	}
	if sh.Version != VersionSSL20 {
		sh.anomaly("server version 0x%04x", version)
	}
	if !sh.SessionIDHit && certType != SSLv2CertX509 {
		sh.anomaly("certificate type %d", certType)
	}
	if !sh.SessionIDHit && (certLen == 0 || specLen == 0) {
		sh.anomaly("a new session with %d certificate bytes and %d cipher specs", certLen, specLen/3)
	}
	if idLen < 16 || idLen > 32 {
		sh.anomaly("connection id length %d outside 16..32", idLen)
	}
	return true
}

func (sh *SSLv2ServerHello) anomaly(format string, args ...any) {
	sh.Anomalies = append(sh.Anomalies, fmt.Sprintf(format, args...))
}

// SSLv2ClientMasterKey is a parsed SSL 2.0 CLIENT-MASTER-KEY ([SSL2],
// Appendix C.2), the client's last message in the clear. Slices alias the
// input record.
type SSLv2ClientMasterKey struct {
	Raw          []byte // the whole record, header included
	CipherKind   SSLv2CipherKind
	ClearKey     []byte
	EncryptedKey []byte
	KeyArg       []byte
}

// ParseSSLv2ClientMasterKey parses a whole SSL 2.0 record holding a
// CLIENT-MASTER-KEY, header included. It aliases rec.
func ParseSSLv2ClientMasterKey(rec []byte) (*SSLv2ClientMasterKey, error) {
	m := &SSLv2ClientMasterKey{Raw: rec}
	if !m.unmarshal(rec) {
		return nil, parseErr("SSLv2 CLIENT-MASTER-KEY", rec)
	}
	return m, nil
}

func (m *SSLv2ClientMasterKey) unmarshal(rec []byte) bool {
	s, ok := sslv2Message(rec, SSLv2MsgClientMasterKey)
	if !ok {
		return false
	}
	var hi uint8
	var lo, clearLen, encLen, argLen uint16
	if !s.ReadUint8(&hi) || !s.ReadUint16(&lo) ||
		!s.ReadUint16(&clearLen) || !s.ReadUint16(&encLen) || !s.ReadUint16(&argLen) ||
		!s.ReadBytes(&m.ClearKey, int(clearLen)) || !s.ReadBytes(&m.EncryptedKey, int(encLen)) ||
		!s.ReadBytes(&m.KeyArg, int(argLen)) || !s.Empty() {
		return false
	}
	m.CipherKind = SSLv2CipherKind(uint32(hi)<<16 | uint32(lo))
	return true
}

// ParseSSLv2Error parses a whole SSL 2.0 record holding an ERROR message
// in the clear, header included.
func ParseSSLv2Error(rec []byte) (SSLv2ErrorCode, error) {
	s, ok := sslv2Message(rec, SSLv2MsgError)
	var code uint16
	if !ok || !s.ReadUint16(&code) || !s.Empty() {
		return 0, parseErr("SSLv2 ERROR", rec)
	}
	return SSLv2ErrorCode(code), nil
}
