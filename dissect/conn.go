package dissect

import (
	"crypto/x509"
	"net/netip"
	"slices"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// Side is one end of a connection.
type Side uint8

// Sides of a connection.
const (
	Client Side = 0
	Server Side = 1
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Other is the opposite side.
func (s Side) Other() Side { return 1 - s }

// EventKind says what happened.
type EventKind uint8

// Event kinds, in the order a handshake usually shows them.
const (
	EvSYN                EventKind = iota + 1 // SYN (client) or SYN-ACK (server)
	EvClientHello                             // ClientHello
	EvServerHello                             // ServerHello
	EvHelloRetryRequest                       // TLS 1.3 HelloRetryRequest
	EvCertificate                             // plaintext Certificate (TLS <= 1.2, or decrypted)
	EvServerKeyExchange                       // ServerKeyExchange
	EvCertificateRequest                      // CertificateRequest
	EvServerHelloDone                         // ServerHelloDone
	EvClientKeyExchange                       // ClientKeyExchange
	EvCertificateVerify                       // CertificateVerify
	EvCertificateStatus                       // CertificateStatus (OCSP stapling)
	EvNewSessionTicket                        // NewSessionTicket
	EvHandshakeOther                          // another plaintext handshake message
	EvChangeCipherSpec                        // ChangeCipherSpec
	EvEncryptedHandshake                      // encrypted handshake record(s)
	EvApplicationData                         // first application data record(s) of a run
	EvAlert                                   // plaintext alert
	EvEncryptedAlert                          // encrypted alert
	EvHeartbeat                               // heartbeat record
	EvNotTLS                                  // the side sent bytes that are not TLS
	EvGap                                     // bytes missing from the capture
	EvFIN                                     // FIN
	EvRST                                     // RST
	EvSSLv2                                   // SSLv2 record
	EvPlaintext                               // plaintext before TLS started (STARTTLS, proxy CONNECT)
)

var eventNames = [...]string{
	EvSYN: "SYN", EvClientHello: "ClientHello", EvServerHello: "ServerHello",
	EvHelloRetryRequest: "HelloRetryRequest", EvCertificate: "Certificate",
	EvServerKeyExchange: "ServerKeyExchange", EvCertificateRequest: "CertificateRequest",
	EvServerHelloDone: "ServerHelloDone", EvClientKeyExchange: "ClientKeyExchange",
	EvCertificateVerify: "CertificateVerify", EvCertificateStatus: "CertificateStatus",
	EvNewSessionTicket: "NewSessionTicket", EvHandshakeOther: "Handshake",
	EvChangeCipherSpec: "ChangeCipherSpec", EvEncryptedHandshake: "Encrypted handshake",
	EvApplicationData: "Application data", EvAlert: "Alert", EvEncryptedAlert: "Encrypted alert",
	EvHeartbeat: "Heartbeat", EvNotTLS: "Not TLS", EvGap: "Missing bytes", EvFIN: "FIN",
	EvRST: "RST", EvSSLv2: "SSLv2 record", EvPlaintext: "Plaintext",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "event"
}

// Event is one thing a side did, in capture order. A connection keeps 10
// to 20 events, 80 bytes each: the small fields come first, the time is
// held as seconds and nanoseconds (Time, At) rather than a time.Time (24
// bytes with its location), and the TCP flags as bits.
type Event struct {
	Kind   EventKind
	From   Side
	HSType tlsparse.HandshakeType
	Alert  tlsparse.Alert // EvAlert
	// Decrypted is set on messages and alerts read from encrypted records
	// with a key log.
	Decrypted bool
	// Cut is set on a handshake message or alert the capture lacks bytes
	// of: named from its header, not parsed.
	Cut bool
	// FileNo is the file of Frame among those read as one capture
	// (Analyzer.NextFile); Conn.FileOf names it.
	FileNo uint8
	Frame  int // frame (packet) number in its file, from 1, where the event completed
	// sec and nsec are the capture timestamp of that frame: seconds since
	// January 1, year 1 UTC (as time.Time counts them, so that an Event
	// without a time has the zero Time) and nanoseconds.
	sec   int64
	nsec  int32
	Flags TCPFlags // TCP flags of the frame for EvFIN/EvRST/EvSYN (FIN,ACK)
	// Offset is the position in the sender's byte stream (bytes after its
	// SYN, or after its first byte seen) where the event starts; for FIN
	// and RST it is the sequence position of the flag.
	Offset int64
	// PeerAck is how many bytes of the peer's stream the sender had
	// acknowledged in the frame (-1 when the frame carried no ACK).
	PeerAck int64
	Length  int    // record payload length, for encrypted records; gap size for EvGap
	Count   int    // how many records this event stands for (runs of encrypted records)
	Detail  string // free text (untrusted bytes escaped by the report)
}

// unixToYear1 is the number of seconds from January 1, year 1 to the Unix
// epoch.
const unixToYear1 = 62135596800

// Time is the capture timestamp of the event's frame, in UTC; the zero
// Time for an event made without one.
func (e Event) Time() time.Time {
	if e.sec == 0 && e.nsec == 0 {
		return time.Time{}
	}
	return time.Unix(e.sec-unixToYear1, int64(e.nsec)).UTC()
}

// At returns e with its time set to t.
func (e Event) At(t time.Time) Event {
	if t.IsZero() {
		e.sec, e.nsec = 0, 0
		return e
	}
	e.sec, e.nsec = t.Unix()+unixToYear1, int32(t.Nanosecond())
	return e
}

// TCPFlags are the flag bits of a TCP header (String names SYN, FIN, RST,
// PSH and ACK).
type TCPFlags uint8

// TCP flag bits.
const (
	FlagFIN TCPFlags = 0x01
	FlagSYN TCPFlags = 0x02
	FlagRST TCPFlags = 0x04
	FlagPSH TCPFlags = 0x08
	FlagACK TCPFlags = 0x10
)

// String names the flags set, comma-separated in the order SYN, FIN, RST,
// PSH, ACK ("FIN,ACK"); "" when none is.
func (f TCPFlags) String() string { return flagStrings[f&(FlagSYN|FlagFIN|FlagRST|FlagPSH|FlagACK)] }

// flagStrings are String's results, made once.
var flagStrings = func() (s [32]string) {
	for f := range s {
		s[f] = makeFlagString(TCPFlags(f))
	}
	return s
}()

func makeFlagString(f TCPFlags) string {
	var b []byte
	for _, n := range []struct {
		bit  TCPFlags
		name string
	}{{FlagSYN, "SYN"}, {FlagFIN, "FIN"}, {FlagRST, "RST"}, {FlagPSH, "PSH"}, {FlagACK, "ACK"}} {
		if f&n.bit != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, n.name...)
		}
	}
	return string(b)
}

// CertInfo is one certificate as sent on the wire, parsed once and shared
// between connections that send the same bytes.
type CertInfo struct {
	Raw    []byte
	SHA256 string            // lowercase hex
	Cert   *x509.Certificate // nil when crypto/x509 cannot parse it
	Err    error             // why parsing failed
}

// CloseInfo is when and how a side ended its part of the connection.
type CloseInfo struct {
	FileNo  uint8 // as Event.FileNo
	Frame   int
	Time    time.Time
	Offset  int64
	PeerAck int64
	Flags   TCPFlags
}

// SideInfo is what one side did on the TCP level.
type SideInfo struct {
	Addr        netip.AddrPort
	SYN         bool
	FIN         *CloseInfo // first FIN
	RST         *CloseInfo // first RST
	RSTCount    int
	Packets     int
	Bytes       int64 // payload bytes seen (including retransmissions)
	Retransmits int
	Gaps        int   // holes in the stream (lost or not captured)
	GapBytes    int64 // bytes missing
	Midstream   bool  // the stream was picked up without its SYN
	Records     int   // TLS records seen
	CCS         bool  // sent ChangeCipherSpec
	Encrypted   int   // encrypted records sent (handshake, alert, application data)
	AppData     int   // application data records sent (best effort in TLS 1.3)
	AppBytes    int64 // application data record bytes
	Acked       int64 // how many bytes of the peer's stream the side acknowledged (its highest ACK)
	NotTLS      bool  // the side's latest bytes were not TLS (and no handshake followed)
	// PlainBytes is how many plaintext bytes the side sent before its TLS
	// started (a STARTTLS exchange, a proxy CONNECT); PlainHead holds the
	// first of them (at most 256), untrusted.
	PlainBytes int64
	PlainHead  []byte
}

// Anomaly is something unusual noticed in a connection (a Zeek "weird").
type Anomaly struct {
	Code   string `json:"code"` // stable short code: "limit_reached", "midstream", "gap", ...
	Frame  int    `json:"frame"`
	Detail string `json:"detail"`
}

// Conn is everything the capture shows of one TCP connection.
type Conn struct {
	ID   int    // 1-based, in order of first packet within the analysis
	File string // the capture file the connection came from
	// FileNo is the number of File among the files read as one capture
	// (events of a connection cut by a rotation carry another).
	FileNo uint8
	files  *fileList
	// seq is the count of frames analysed when the connection was made
	// (clock.seq, over every file): the order connections are made in.
	seq        int
	Client     netip.AddrPort
	Server     netip.AddrPort
	Flipped    bool // the first packet seen went from server to client
	FirstFrame int
	LastFrame  int
	FirstTime  time.Time
	LastTime   time.Time
	Sides      [2]SideInfo
	Events     []Event
	Dropped    int // events not recorded because of the per-connection cap

	// The hellos are detached from their messages (tlsparse's Detach):
	// parsed fields only, no Raw nor extension data.
	TLS                   bool                  // at least one TLS record was seen
	ClientHello           *tlsparse.ClientHello // the first (fingerprints are of this one)
	RetryClientHello      *tlsparse.ClientHello // the second, after a HelloRetryRequest
	ServerHello           *tlsparse.ServerHello // the final one (after an HRR)
	HRR                   *tlsparse.ServerHello
	Chain                 []*CertInfo // the server's certificate chain as sent
	ClientChain           []*CertInfo // the client's certificates, if it sent any in plaintext
	ClientSentCertificate bool        // the client sent a Certificate message (maybe empty)
	CertRequest           *tlsparse.CertificateRequest
	// SSLv2 is set when the server answered an SSL 2.0 CLIENT-HELLO with
	// an SSL 2.0 SERVER-HELLO (ServerHello stays nil): the version is SSL
	// 2.0 and the SERVER-HELLO's certificate is the Chain.
	SSLv2 *SSLv2
	// ChainHidden is set when the server's certificates were encrypted
	// (TLS 1.3) and not decrypted.
	ChainHidden bool
	// Upgrade names the plaintext protocol TLS started inside (or, with
	// UpgradeRefused, was asked for in), when it did not start with the
	// connection; UpgradeNone when it did.
	Upgrade Upgrade
	// UpgradeRefused is set when the client asked to start TLS in
	// plaintext (STARTTLS, STLS, AUTH TLS, SSLRequest) and no TLS record
	// followed.
	UpgradeRefused bool
	// Decryption says what a key log revealed (Options.Keys); nil when no
	// key log was given or no encrypted record was seen.
	Decryption *Decryption
	Anomalies  []Anomaly
	// Ended says why the connection was handed over.
	Ended EndReason
	// InputEnd is, for a connection handed over at the end of input, the
	// capture time the input reached.
	InputEnd time.Time
}

// Version is the negotiated version (tlsparse.VersionSSL20 after an SSL
// 2.0 SERVER-HELLO), or 0 when no ServerHello was seen.
func (c *Conn) Version() tlsparse.Version {
	if c.ServerHello == nil {
		if c.SSLv2 != nil {
			return tlsparse.VersionSSL20
		}
		return 0
	}
	return c.ServerHello.Version()
}

// Refused reports whether the server answered the client's SYN with a RST
// and nothing else: no connection was made (nothing listening on the port,
// or a firewall rejecting it).
func (c *Conn) Refused() bool {
	cl, sv := &c.Sides[Client], &c.Sides[Server]
	return cl.SYN && !sv.SYN && sv.RST != nil && c.ClientHello == nil && !c.TLS
}

// Resumed reports whether the server resumed a TLS 1.3 session with a
// pre-shared key (its ServerHello carries pre_shared_key): it sends no
// certificate then.
func (c *Conn) Resumed() bool {
	if c.ServerHello == nil || !c.ServerHello.Version().IsTLS13() {
		return false
	}
	return slices.Contains(c.ServerHello.ExtensionTypes, tlsparse.ExtPreSharedKey)
}

// SNI is the server name the client asked for ("" when none).
func (c *Conn) SNI() string {
	if c.ClientHello == nil {
		return ""
	}
	return c.ClientHello.ServerName
}

// Has reports whether an event of kind k from side s was recorded.
func (c *Conn) Has(s Side, k EventKind) bool {
	return c.First(s, k) != nil
}

// First is the first event of kind k from side s, or nil.
func (c *Conn) First(s Side, k EventKind) *Event {
	for i := range c.Events {
		if c.Events[i].Kind == k && c.Events[i].From == s {
			return &c.Events[i]
		}
	}
	return nil
}

// Midstream reports whether the capture missed the start of either stream.
func (c *Conn) Midstream() bool {
	return c.Sides[Client].Midstream || c.Sides[Server].Midstream
}

// Gaps reports whether bytes were missing from either stream.
func (c *Conn) Gaps() bool {
	return c.Sides[Client].Gaps > 0 || c.Sides[Server].Gaps > 0
}

// EndReason is why the Analyzer handed a connection over.
type EndReason string

// Why connections are handed over.
const (
	EndClosed     EndReason = "closed"       // both sides closed (FIN, RST)
	EndIdle       EndReason = "idle"         // nothing seen for the idle timeout
	EndEvicted    EndReason = "evicted"      // made room under a connection cap
	EndEndOfInput EndReason = "end of input" // the capture ended first
)

// Stats counts what the analysis read and what it skipped.
type Stats struct {
	Files         int
	Packets       int64
	Bytes         int64
	NotDecoded    map[string]int64 // by reason
	Truncated     int64            // frames cut by the snapshot length inside TCP payload
	TCPConns      int64
	TLSConns      int64
	Retransmits   int64
	Gaps          int64
	LimitsReached map[string]int64 // by limit name
	Evicted       int64            // connections evicted because the flow table was full
	LateSegments  int64            // segments of connections already reported
	Refused       int64            // connection attempts the server answered with a RST (nothing listening, or a firewall)
	LinkTypes     map[string]int64 // unsupported link types seen
}

func (s *Stats) notDecoded(reason SkipReason) {
	if s.NotDecoded == nil {
		s.NotDecoded = make(map[string]int64)
	}
	s.NotDecoded[string(reason)]++
}

func (s *Stats) limit(name string) {
	if s.LimitsReached == nil {
		s.LimitsReached = make(map[string]int64)
	}
	s.LimitsReached[name]++
}

// fileList names the files read as one capture, in order (a rotated
// capture: Analyzer.NextFile).
type fileList struct{ names []string }

// FileOf names the file of a frame of c that an event or a close carries
// (its FileNo).
func (c *Conn) FileOf(no uint8) string {
	if c.files == nil || int(no) >= len(c.files.names) {
		return c.File
	}
	return c.files.names[no]
}
