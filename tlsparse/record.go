package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// RecordHeaderLen is the length of a TLS record header (RFC 8446, Section 5.1).
const RecordHeaderLen = 5

// MaxRecordLen is the largest record length accepted by ReadRecordHeader:
// 2^14 plus the 2048 bytes of expansion allowed for TLSCiphertext (RFC 5246,
// Section 6.2.3).
const MaxRecordLen = 16384 + 2048

// RecordHeader is a decoded TLS record header. Length is the length of the
// fragment that follows the 5-byte header.
type RecordHeader struct {
	Type    ContentType
	Version Version
	Length  int
}

// ReadRecordHeader decodes the record header at the start of b (RFC 8446,
// Section 5.1; RFC 5246, Section 6.2.1). It returns ErrNeedMore when b holds
// fewer than RecordHeaderLen bytes, and a *ParseError when the content type
// is not 20..24, the major version byte is not 3, or the length exceeds
// MaxRecordLen. The whole record is RecordHeaderLen+Length bytes long.
func ReadRecordHeader(b []byte) (RecordHeader, error) {
	s := cryptobyte.String(b)
	var typ, major, minor uint8
	var length uint16
	if !s.ReadUint8(&typ) || !s.ReadUint8(&major) || !s.ReadUint8(&minor) || !s.ReadUint16(&length) {
		return RecordHeader{}, ErrNeedMore
	}
	hdr := b[:RecordHeaderLen]
	if typ < uint8(TypeChangeCipherSpec) || typ > uint8(TypeHeartbeat) {
		return RecordHeader{}, &ParseError{Msg: "record header", Data: hdr,
			Err: fmt.Errorf("unknown content type %d", typ)}
	}
	if major != 3 {
		return RecordHeader{}, &ParseError{Msg: "record header", Data: hdr,
			Err: fmt.Errorf("version 0x%02x%02x is not TLS", major, minor)}
	}
	if int(length) > MaxRecordLen {
		return RecordHeader{}, &ParseError{Msg: "record header", Data: hdr,
			Err: fmt.Errorf("length %d exceeds limit %d", length, MaxRecordLen)}
	}
	return RecordHeader{
		Type:    ContentType(typ),
		Version: Version(uint16(major)<<8 | uint16(minor)),
		Length:  int(length),
	}, nil
}

// LooksLikeTLS reports whether b plausibly starts a TLS record or an
// SSLv2-compatible ClientHello. b may be shorter than a record header: only
// the bytes present are checked, and an empty b gives false. It is meant to
// recognise TLS by content on any port, so it is strict: the minor version
// must be 0..4, and the first record of a stream, if it is a handshake
// record with its first message byte present, must be a known handshake type.
func LooksLikeTLS(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	s := cryptobyte.String(b)
	var typ uint8
	s.ReadUint8(&typ)
	if typ&0x80 != 0 {
		n, ok := SSLv2RecordLen(b)
		return ok && (n > 0 || len(b) < sslv2MinPeek)
	}
	if typ < uint8(TypeChangeCipherSpec) || typ > uint8(TypeHeartbeat) {
		return false
	}
	var major, minor uint8
	if !s.ReadUint8(&major) {
		return true
	}
	if major != 3 {
		return false
	}
	if !s.ReadUint8(&minor) {
		return true
	}
	if minor > 4 {
		return false
	}
	var length uint16
	if !s.ReadUint16(&length) {
		return true
	}
	if length == 0 || int(length) > MaxRecordLen {
		return false
	}
	var ht uint8
	if ContentType(typ) == TypeHandshake && s.ReadUint8(&ht) {
		switch HandshakeType(ht) {
		case HelloRequest, ClientHelloType, ServerHelloType, HelloVerifyRequest,
			NewSessionTicket, CertificateType, ServerKeyExchange,
			CertificateRequestType, ServerHelloDone, CertificateVerify,
			ClientKeyExchange, Finished, CertificateStatus:
		default:
			// Could be an encrypted Finished (TLS <= 1.2); only a
			// plausible length is left to check.
			return int(length) >= 16
		}
	}
	if ContentType(typ) == TypeAlert && length != 2 && int(length) < 16 {
		// Plaintext alerts are 2 bytes; encrypted ones carry a MAC.
		return false
	}
	return true
}

// sslv2MinPeek is how many bytes SSLv2RecordLen needs to decide: the 2-byte
// record header, the message type and the 2-byte version.
const sslv2MinPeek = 5

// SSLv2RecordLen recognises an SSLv2-compatible ClientHello (RFC 5246,
// Appendix E.2) at the start of b: a 2-byte record header with the high bit
// set, message type 1 (client_hello) and version 0x0002 or 3.x.
//
// It returns:
//   - ok == false: b does not start an SSLv2 ClientHello;
//   - ok == true, n == 0: b is a plausible prefix but holds fewer than 5
//     bytes, so more bytes are needed to decide;
//   - ok == true, n > 0: the whole record (header included) is n bytes;
//     n may exceed len(b), in which case the caller needs more bytes.
func SSLv2RecordLen(b []byte) (n int, ok bool) {
	s := cryptobyte.String(b)
	var hdr uint16
	var typ, major, minor uint8
	if !s.ReadUint16(&hdr) {
		if len(b) == 1 {
			return 0, b[0]&0x80 != 0
		}
		return 0, len(b) == 0
	}
	if hdr&0x8000 == 0 {
		return 0, false
	}
	length := int(hdr & 0x7fff)
	// msg type, version, 3 lengths, at least 3 bytes of cipher specs and
	// 16 bytes of challenge.
	if length < 9+3+16 {
		return 0, false
	}
	if !s.ReadUint8(&typ) {
		return 0, true
	}
	if typ != 1 {
		return 0, false
	}
	if !s.ReadUint8(&major) {
		return 0, true
	}
	if major != 0 && major != 3 {
		return 0, false
	}
	if !s.ReadUint8(&minor) {
		return 0, true
	}
	if (major == 0 && minor != 2) || (major == 3 && minor > 4) {
		return 0, false
	}
	return 2 + length, true
}

// ParseSSLv2ClientHello parses a whole SSLv2-compatible ClientHello record,
// 2-byte header included (RFC 5246, Appendix E.2; RFC 6101 Appendix E). The
// result has SSLv2 set, Raw equal to rec, Random holding the challenge, and
// CipherSuites holding the 3-byte cipher specs whose first byte is 0 (the
// ones that name TLS cipher suites), in wire order. It aliases rec.
func ParseSSLv2ClientHello(rec []byte) (*ClientHello, error) {
	ch := &ClientHello{Raw: rec, SSLv2: true}
	if !ch.unmarshalSSLv2(rec) {
		return nil, parseErr("SSLv2 ClientHello", rec)
	}
	return ch, nil
}

func (ch *ClientHello) unmarshalSSLv2(rec []byte) bool {
	s := cryptobyte.String(rec)
	var hdr, version, specLen, sidLen, chalLen uint16
	var typ uint8
	if !s.ReadUint16(&hdr) || hdr&0x8000 == 0 || int(hdr&0x7fff) != len(s) {
		return false
	}
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint16(&version) ||
		!s.ReadUint16(&specLen) || !s.ReadUint16(&sidLen) || !s.ReadUint16(&chalLen) {
		return false
	}
	var specs cryptobyte.String
	if specLen%3 != 0 || specLen == 0 || !s.ReadBytes((*[]byte)(&specs), int(specLen)) ||
		!s.ReadBytes(&ch.SessionID, int(sidLen)) || !s.ReadBytes(&ch.Random, int(chalLen)) || !s.Empty() {
		return false
	}
	if chalLen < 16 || chalLen > 32 {
		ch.anomaly("SSLv2 challenge length %d outside 16..32", chalLen)
	}
	if sidLen != 0 && sidLen != 16 {
		ch.anomaly("SSLv2 session id length %d", sidLen)
	}
	ch.LegacyVersion = Version(version)
	for !specs.Empty() {
		var hi uint8
		var lo uint16
		if !specs.ReadUint8(&hi) || !specs.ReadUint16(&lo) {
			return false
		}
		if hi == 0 {
			ch.CipherSuites = append(ch.CipherSuites, lo)
		}
	}
	return true
}

// ParseAlert decodes a plaintext alert fragment, which must be exactly 2
// bytes (RFC 8446, Section 6).
func ParseAlert(fragment []byte) (Alert, error) {
	s := cryptobyte.String(fragment)
	var level, desc uint8
	if !s.ReadUint8(&level) || !s.ReadUint8(&desc) || !s.Empty() {
		return Alert{}, parseErr("alert", fragment)
	}
	return Alert{Level: AlertLevel(level), Description: AlertDescription(desc)}, nil
}

// ParseAlerts decodes a plaintext alert record fragment, which may hold
// several 2-byte alerts. An empty or odd-length fragment is an error.
func ParseAlerts(fragment []byte) ([]Alert, error) {
	if len(fragment) == 0 || len(fragment)%2 != 0 {
		return nil, parseErr("alert", fragment)
	}
	s := cryptobyte.String(fragment)
	alerts := make([]Alert, 0, len(fragment)/2)
	for !s.Empty() {
		var level, desc uint8
		if !s.ReadUint8(&level) || !s.ReadUint8(&desc) {
			return nil, parseErr("alert", fragment)
		}
		alerts = append(alerts, Alert{Level: AlertLevel(level), Description: AlertDescription(desc)})
	}
	return alerts, nil
}

// String returns "fatal handshake_failure"-style text.
func (a Alert) String() string {
	return a.Level.String() + " " + a.Description.String()
}
