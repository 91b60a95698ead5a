package tlsparse

// This file holds the types that other packages of tlstriage depend on.
// Their names and fields are a contract: add fields freely, never rename.

// ContentType is a TLS record content type (RFC 8446, Section 5.1).
type ContentType uint8

// Record content types.
const (
	TypeChangeCipherSpec ContentType = 20 // change_cipher_spec
	TypeAlert            ContentType = 21 // alert
	TypeHandshake        ContentType = 22 // handshake
	TypeApplicationData  ContentType = 23 // application_data
	TypeHeartbeat        ContentType = 24 // heartbeat
)

// HandshakeType is a handshake message type (RFC 8446, Section 4).
type HandshakeType uint8

// Handshake message types.
const (
	HelloRequest           HandshakeType = 0   // hello_request
	ClientHelloType        HandshakeType = 1   // client_hello
	ServerHelloType        HandshakeType = 2   // server_hello
	HelloVerifyRequest     HandshakeType = 3   // hello_verify_request
	NewSessionTicket       HandshakeType = 4   // new_session_ticket
	EndOfEarlyData         HandshakeType = 5   // end_of_early_data
	EncryptedExtensions    HandshakeType = 8   // encrypted_extensions
	CertificateType        HandshakeType = 11  // certificate
	ServerKeyExchange      HandshakeType = 12  // server_key_exchange
	CertificateRequestType HandshakeType = 13  // certificate_request
	ServerHelloDone        HandshakeType = 14  // server_hello_done
	CertificateVerify      HandshakeType = 15  // certificate_verify
	ClientKeyExchange      HandshakeType = 16  // client_key_exchange
	Finished               HandshakeType = 20  // finished
	CertificateStatus      HandshakeType = 22  // certificate_status
	KeyUpdate              HandshakeType = 24  // key_update
	MessageHash            HandshakeType = 254 // message_hash
)

// Version is a protocol version as carried on the wire (0x0303 is TLS 1.2).
// String gives "SSL 3.0", "TLS 1.0" ... "TLS 1.3", and "0x%04x" otherwise.
type Version uint16

// Protocol versions.
const (
	VersionSSL30 Version = 0x0300
	VersionTLS10 Version = 0x0301
	VersionTLS11 Version = 0x0302
	VersionTLS12 Version = 0x0303
	VersionTLS13 Version = 0x0304
)

// CipherSuite is a cipher suite code point. String gives the IANA name as Go's
// tls.CipherSuiteName prints it, or "0x%04X" when unknown.
type CipherSuite uint16

// AlertLevel is the level of an alert (RFC 5246, Section 7.2).
type AlertLevel uint8

// Alert levels.
const (
	AlertWarning AlertLevel = 1 // warning
	AlertFatal   AlertLevel = 2 // fatal
)

// AlertDescription is the description of an alert (RFC 8446, Section 6).
// String gives the RFC name in snake_case ("certificate_unknown"), or
// "alert(N)" when unknown.
type AlertDescription uint8

// Alert is a decoded plaintext alert.
type Alert struct {
	Level       AlertLevel
	Description AlertDescription
}

// Extension is one hello extension in wire order. Data aliases the input.
type Extension struct {
	Type uint16
	Data []byte // nil once its hello is detached (ClientHello.Detach)
}

// ClientHello is a parsed ClientHello (RFC 8446, Section 4.1.2), or an
// SSLv2-compatible ClientHello when SSLv2 is set. Slices alias the input
// message unless noted.
type ClientHello struct {
	Raw                 []byte  // the whole message including the 4-byte header; nil once detached
	LegacyVersion       Version // client_version
	Random              []byte  // 32 bytes (SSLv2: the challenge)
	SessionID           []byte
	CipherSuites        []uint16 // wire order, GREASE kept
	CompressionMethods  []uint8
	Extensions          []Extension // wire order, duplicates and unknowns kept; nil once detached
	ExtensionTypes      []uint16    // the type of each of Extensions, kept once detached
	ServerName          string      // SNI host_name, raw bytes as a string (untrusted)
	ALPN                []string    // offered protocols, wire order
	SupportedVersions   []uint16    // supported_versions, wire order, GREASE kept
	SupportedGroups     []uint16
	ECPointFormats      []uint8
	SignatureAlgorithms []uint16
	KeyShareGroups      []uint16 // groups of the key_share entries
	PSKModes            []uint8
	PreSharedKey        bool     // pre_shared_key extension present
	EarlyData           bool     // early_data extension present
	ECH                 bool     // encrypted_client_hello (0xfe0d) present
	StatusRequest       bool     // status_request present
	SessionTicket       bool     // session_ticket extension present
	SSLv2               bool     // came in an SSLv2-compatible record
	Anomalies           []string // lenient findings: "duplicate extension 0x0000", ...
}

// ServerHello is a parsed ServerHello (RFC 8446, Section 4.1.3).
type ServerHello struct {
	Raw               []byte // the whole message; nil once detached (Detach)
	LegacyVersion     Version
	Random            []byte
	SessionID         []byte
	CipherSuite       CipherSuite
	CompressionMethod uint8
	Extensions        []Extension // nil once detached
	ExtensionTypes    []uint16    // the type of each of Extensions, kept once detached
	SupportedVersion  Version     // from supported_versions; 0 when absent
	ALPN              string      // selected protocol, "" when none
	KeyShareGroup     uint16      // selected group (or HRR requested group); 0 when absent
	HelloRetryRequest bool        // random equals the HRR magic value
	Anomalies         []string
}

// CertificateEntry is one certificate of a Certificate message; Data is the
// DER bytes and aliases the input.
type CertificateEntry struct {
	Data       []byte
	Extensions []byte // TLS 1.3 only: raw extensions block
}

// Certificate is a parsed Certificate message (RFC 5246, Section 7.4.2, and
// RFC 8446, Section 4.4.2).
type Certificate struct {
	Context []byte // TLS 1.3 certificate_request_context
	Entries []CertificateEntry
}

// CertificateRequest is a parsed CertificateRequest (RFC 5246, Section
// 7.4.4; RFC 8446, Section 4.3.2).
type CertificateRequest struct {
	CertificateTypes       []uint8 // TLS <= 1.2
	SignatureAlgorithms    []uint16
	CertificateAuthorities [][]byte    // DER distinguished names
	Context                []byte      // TLS 1.3
	Extensions             []Extension // TLS 1.3 only, wire order
}
