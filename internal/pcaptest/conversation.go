package pcaptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Dir is the direction of a segment.
type Dir int

// Directions.
const (
	ClientToServer Dir = iota
	ServerToClient
)

func (d Dir) String() string {
	if d == ServerToClient {
		return "server"
	}
	return "client"
}

func (d Dir) peer() Dir { return 1 - d }

// EventKind is what an endpoint does.
type EventKind int

// Event kinds.
const (
	Data EventKind = iota // the endpoint writes Data
	FIN                   // the endpoint closes its sending side
	RST                   // the endpoint aborts the connection
)

func (k EventKind) String() string {
	switch k {
	case FIN:
		return "FIN"
	case RST:
		return "RST"
	}
	return "data"
}

// Event is one thing an endpoint does on the connection, in the order it
// happens.
type Event struct {
	Dir  Dir
	Kind EventKind
	// Data is what the endpoint wrote (Kind Data).
	Data []byte
	// Delay is the time since the previous event (or since the TCP
	// handshake for the first event).
	Delay time.Duration
	// NoAck sends a RST without the ACK flag and with ack 0, as Linux does
	// when it answers a segment for a socket that is already gone.
	NoAck bool
	// Crossed sends a FIN or RST that crossed the peer's FIN on the wire:
	// it does not acknowledge that FIN (the sender closed on its own, not
	// in answer). A FIN's sender acknowledges the peer's FIN right after.
	Crossed bool
}

// Conversation is what both endpoints of one TCP connection wrote.
type Conversation struct {
	Events []Event
	// ClientErr and ServerErr are the handshake errors crypto/tls returned.
	ClientErr, ServerErr error
	// ClientAlert is the alert record crypto/tls's client wrote when it
	// rejected the handshake (before any RejectAction), nil otherwise.
	ClientAlert []byte
	// ServerAlert is the alert record the server wrote when it failed the
	// handshake, nil otherwise.
	ServerAlert []byte
	// Version is the negotiated version, 0 if the handshake failed before.
	Version uint16
	// KeyLog is what the client wrote to its tls.Config.KeyLogWriter (NSS
	// key log format), when TLSOptions.KeyLog was set.
	KeyLog []byte
}

// Bytes returns the concatenated data written in direction d: what a TCP
// reassembler must reproduce.
func (c *Conversation) Bytes(d Dir) []byte {
	var b []byte
	for _, e := range c.Events {
		if e.Dir == d && e.Kind == Data {
			b = append(b, e.Data...)
		}
	}
	return b
}

// Kind selects what kind of peer a Scenario talks to.
type Kind int

// Scenario kinds.
const (
	Handshake        Kind = iota // a real crypto/tls client and server
	NotTLS                       // the server answers the ClientHello in HTTP and closes
	NoServerResponse             // the server reads the ClientHello and never answers
)

// RejectAction says what the client does with the alert crypto/tls wrote when
// it rejected the server's certificate.
type RejectAction int

// Reject actions.
const (
	KeepAlert    RejectAction = iota // send crypto/tls's alert (bad_certificate for Go)
	DropAlert                        // send no alert, only the close events (the playbook)
	ReplaceAlert                     // send a plaintext TLS 1.2 fatal alert RejectAlert instead
)

// Alert descriptions (RFC 8446, Section 6) used by the scenarios.
const (
	AlertUnexpectedMessage   uint8 = 10
	AlertHandshakeFailure    uint8 = 40
	AlertBadCertificate      uint8 = 42
	AlertCertificateExpired  uint8 = 45
	AlertCertificateUnknown  uint8 = 46
	AlertUnknownCA           uint8 = 48
	AlertProtocolVersion     uint8 = 70
	AlertCertificateRequired uint8 = 116
)

// AlertRecord returns a plaintext TLS 1.2 fatal alert record: 15 03 03 00 02 02 desc.
func AlertRecord(desc uint8) []byte {
	return []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, desc}
}

// Timing gives the delays of a conversation. Zero fields take the defaults.
type Timing struct {
	// First is the delay between the TCP handshake and the ClientHello (default 1.2ms).
	First time.Duration
	// Gap separates two writes of the same endpoint (default 40µs).
	Gap time.Duration
	// ServerThink is the server's time to answer (default 450µs).
	ServerThink time.Duration
	// ClientThink is the client's time to answer (default 2.5ms).
	ClientThink time.Duration
	// ClientReject is the time the client takes to reject the server's
	// flight, i.e. between the Certificate and its alert or close (default 3.2ms).
	ClientReject time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.First, 1200*time.Microsecond)
	def(&t.Gap, 40*time.Microsecond)
	def(&t.ServerThink, 450*time.Microsecond)
	def(&t.ClientThink, 2500*time.Microsecond)
	def(&t.ClientReject, 3200*time.Microsecond)
	return t
}

// TLSOptions describes the handshake of a Scenario.
type TLSOptions struct {
	Kind Kind
	// MinVersion and MaxVersion bound both sides (default TLS 1.2 to 1.3).
	MinVersion, MaxVersion uint16
	// ServerMinVersion and ServerMaxVersion, if set, override the server's
	// bounds.
	ServerMinVersion, ServerMaxVersion uint16
	// ServerName is the SNI and the name the client verifies (default DefaultServerName).
	ServerName string
	// NoSNI leaves server_name out of the ClientHello (the client still verifies ServerName).
	NoSNI bool
	ALPN  []string
	// PKI supplies the server certificate; nil builds a default one.
	PKI   *PKI
	Chain ChainKind
	// ClientRoots is the client's truststore (default PKI.RootPool()).
	ClientRoots *x509.CertPool
	// ClientCheck, if set, runs after the standard verification succeeded and
	// can make the client reject (for example a weak key policy).
	ClientCheck func(chains [][]*x509.Certificate) error
	// ClientCipherSuites and ServerCipherSuites restrict TLS 1.2 suites.
	ClientCipherSuites, ServerCipherSuites []uint16
	// NoServerName makes the server hold no certificate for any name: it
	// answers the ClientHello with unrecognized_name, as a server with
	// name-based virtual hosts and no default does.
	NoServerName bool
	// ClientAuth is the server's client certificate policy; ClientCAs the
	// CAs it accepts client certificates from (default PKI.RootPool()).
	ClientAuth tls.ClientAuthType
	ClientCAs  *x509.CertPool
	// ClientCert is the certificate the client presents, if any.
	ClientCert *tls.Certificate
	// OnReject and RejectAlert transform the client's rejection.
	OnReject    RejectAction
	RejectAlert uint8
	// AppData exchanges a small HTTP request and response after a successful
	// handshake, then both sides send close_notify.
	AppData bool
	// CloseNotify, without AppData, makes the client send close_notify
	// right after a successful handshake and the server answer with its
	// own: a client that gives up once the handshake is done (curl on a
	// name mismatch).
	CloseNotify bool
	// NoSessionTickets stops the server from sending TLS 1.3
	// NewSessionTicket messages after the handshake.
	NoSessionTickets bool
	// SessionCache and TicketKey let a second conversation resume the
	// session of a first: the client's cache and the server's ticket key,
	// shared between the two.
	SessionCache tls.ClientSessionCache
	TicketKey    *[32]byte
	// ClientCurves and ServerCurves set the key exchange groups of each
	// side; a server that accepts none of the client's key shares answers
	// TLS 1.3 with a HelloRetryRequest.
	ClientCurves, ServerCurves []tls.CurveID
	// KeyLog makes the client write its secrets, as SSLKEYLOGFILE does,
	// to Conversation.KeyLog.
	KeyLog bool
	// Close is appended after what crypto/tls wrote: the close sequence.
	// Events with a zero Delay get a small default one.
	Close  []Event
	Timing Timing
}

// Record runs the conversation described by o with real crypto/tls endpoints
// over in-memory pipes and returns what each side wrote.
func Record(o TLSOptions) (*Conversation, error) {
	if o.ServerName == "" {
		o.ServerName = DefaultServerName
	}
	if o.MinVersion == 0 {
		o.MinVersion = tls.VersionTLS12
	}
	if o.MaxVersion == 0 {
		o.MaxVersion = tls.VersionTLS13
	}
	if o.PKI == nil {
		p, err := NewPKI(PKIOptions{})
		if err != nil {
			return nil, err
		}
		o.PKI = p
	}
	tm := o.Timing.withDefaults()
	rec := &recorder{}
	cconn, sconn := rec.pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		<-ctx.Done()
		cconn.Close()
		sconn.Close()
	}()
	now := func() time.Time { return o.PKI.Now }

	roots := o.ClientRoots
	if roots == nil {
		roots = o.PKI.RootPool()
	}
	ccfg := &tls.Config{
		Time:               now,
		MinVersion:         o.MinVersion,
		MaxVersion:         o.MaxVersion,
		NextProtos:         o.ALPN,
		CipherSuites:       o.ClientCipherSuites,
		CurvePreferences:   o.ClientCurves,
		InsecureSkipVerify: true, // verified below, with the SNI-independent name
		VerifyConnection: func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{Roots: roots, CurrentTime: o.PKI.Now, DNSName: o.ServerName, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			chains, err := cs.PeerCertificates[0].Verify(opts)
			if err != nil {
				return err
			}
			if o.ClientCheck != nil {
				return o.ClientCheck(chains)
			}
			return nil
		},
	}
	if !o.NoSNI {
		ccfg.ServerName = o.ServerName
	}
	var keyLog lockedBuffer
	if o.KeyLog {
		ccfg.KeyLogWriter = &keyLog
	}
	if o.ClientCert != nil {
		ccfg.Certificates = []tls.Certificate{*o.ClientCert}
	}
	ccfg.ClientSessionCache = o.SessionCache
	smin := o.MinVersion
	if o.ServerMinVersion != 0 {
		smin = o.ServerMinVersion
	}
	smax := o.MaxVersion
	if o.ServerMaxVersion != 0 {
		smax = o.ServerMaxVersion
	}
	scfg := &tls.Config{
		Time:             now,
		MinVersion:       smin,
		MaxVersion:       smax,
		NextProtos:       o.ALPN,
		CipherSuites:     o.ServerCipherSuites,
		CurvePreferences: o.ServerCurves,
		Certificates:     []tls.Certificate{o.PKI.TLSCertificate(o.Chain)},
		ClientAuth:       o.ClientAuth,
		ClientCAs:        o.PKI.RootPool(),

		SessionTicketsDisabled: o.NoSessionTickets,
	}
	if o.ClientCAs != nil {
		scfg.ClientCAs = o.ClientCAs
	}
	if o.TicketKey != nil {
		scfg.SetSessionTicketKeys([][32]byte{*o.TicketKey})
	}
	if o.NoServerName {
		scfg.Certificates = nil
		scfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	}
	conv := &Conversation{}
	client := tls.Client(cconn, ccfg)
	var wg sync.WaitGroup
	switch o.Kind {
	case NotTLS, NoServerResponse:
		wg.Go(func() {
			buf := make([]byte, 1<<14)
			sconn.Read(buf)
			if o.Kind == NotTLS {
				sconn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 43\r\n\r\nThis is an HTTP server, not a TLS endpoint\n"))
			}
			sconn.Close()
		})
		conv.ClientErr = client.HandshakeContext(ctx)
		wg.Wait()
	default:
		server := tls.Server(sconn, scfg)
		wg.Go(func() {
			conv.ServerErr = server.HandshakeContext(ctx)
			if conv.ServerErr != nil {
				sconn.Close()
			}
		})
		conv.ClientErr = client.HandshakeContext(ctx)
		if conv.ClientErr != nil {
			cconn.Close()
		}
		wg.Wait()
		if conv.ClientErr == nil && conv.ServerErr == nil {
			conv.Version = client.ConnectionState().Version
			switch {
			case o.AppData:
				if err := exchange(client, server, o.ServerName); err != nil {
					return nil, err
				}
			case o.CloseNotify:
				if err := closeNotify(client, server); err != nil {
					return nil, err
				}
			}
		}
	}
	cconn.Close()
	sconn.Close()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("pcaptest: conversation timed out")
	}
	conv.KeyLog = keyLog.bytes()

	// Turn the write log into timed events.
	var prev *Event
	for i, w := range rec.log {
		e := Event{Dir: w.dir, Kind: Data, Data: w.data}
		switch {
		case i == 0:
			e.Delay = tm.First
		case prev.Dir == e.Dir:
			e.Delay = tm.Gap
		case e.Dir == ServerToClient:
			e.Delay = tm.ServerThink
		default:
			e.Delay = tm.ClientThink
		}
		conv.Events = append(conv.Events, e)
		prev = &conv.Events[len(conv.Events)-1]
	}

	// Find the rejecting side's alert: the last write of the side whose own
	// handshake failed first.
	if conv.ClientErr != nil && !isRemote(conv.ClientErr) && o.Kind == Handshake {
		if i := lastWrite(conv.Events, ClientToServer); i >= 0 && isAlertWrite(conv.Events[i].Data) {
			e := &conv.Events[i]
			conv.ClientAlert = lastRecord(e.Data)
			e.Delay = tm.ClientReject
			rest := e.Data[:len(e.Data)-len(conv.ClientAlert)]
			switch o.OnReject {
			case DropAlert:
				e.Data = rest
			case ReplaceAlert:
				e.Data = append(append([]byte(nil), rest...), AlertRecord(o.RejectAlert)...)
			}
			if len(e.Data) == 0 {
				conv.Events = append(conv.Events[:i], conv.Events[i+1:]...)
			}
		}
	}
	if conv.ServerErr != nil && !isRemote(conv.ServerErr) {
		if i := lastWrite(conv.Events, ServerToClient); i >= 0 && isAlertWrite(conv.Events[i].Data) {
			conv.ServerAlert = lastRecord(conv.Events[i].Data)
		}
	}
	closeDelay := tm.Gap
	if len(conv.Events) > 0 && conv.ClientAlert != nil && o.OnReject == DropAlert {
		// The client closed instead of alerting: it still took the time to decide.
		closeDelay = tm.ClientReject
	}
	for i, e := range o.Close {
		if e.Delay == 0 {
			e.Delay = tm.Gap
			if i == 0 {
				e.Delay = closeDelay
			}
		}
		conv.Events = append(conv.Events, e)
	}
	return conv, nil
}

func exchange(client, server *tls.Conn, host string) error {
	req := "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: tlstriage-test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := client.Write([]byte(req)); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	if _, err := server.Read(buf); err != nil {
		return fmt.Errorf("pcaptest: server read: %w", err)
	}
	body := "ok\n"
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if _, err := server.Write([]byte(resp)); err != nil {
		return err
	}
	server.Close() // close_notify
	if _, err := io.ReadAll(client); err != nil {
		return fmt.Errorf("pcaptest: client read: %w", err)
	}
	return client.Close()
}

// closeNotify closes client (close_notify), lets server read it and close
// in turn.
func closeNotify(client, server *tls.Conn) error {
	if err := client.Close(); err != nil {
		return fmt.Errorf("pcaptest: client close: %w", err)
	}
	if _, err := io.ReadAll(server); err != nil {
		return fmt.Errorf("pcaptest: server read: %w", err)
	}
	return server.Close()
}

func isRemote(err error) bool {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || bytes.Contains([]byte(err.Error()), []byte("remote error"))
}

func lastWrite(ev []Event, d Dir) int {
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Dir == d && ev[i].Kind == Data {
			return i
		}
	}
	return -1
}

// records splits b into TLS records; a truncated tail is returned as the last element.
func records(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 5 {
		n := 5 + (int(b[3])<<8 | int(b[4]))
		if n > len(b) {
			break
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}

func lastRecord(b []byte) []byte {
	r := records(b)
	if len(r) == 0 {
		return nil
	}
	return r[len(r)-1]
}

// isAlertWrite reports whether the last record of b is a plaintext alert or
// an encrypted record the size of an encrypted TLS 1.3 alert.
func isAlertWrite(b []byte) bool {
	r := lastRecord(b)
	switch {
	case len(r) == 7 && r[0] == 0x15:
		return true
	case len(r) == 5+2+1+16 && r[0] == 0x17:
		return true
	}
	return false
}

// recorder logs every write on both ends of an in-memory, unbounded pipe.
type recorder struct {
	mu  sync.Mutex
	log []write
}

type write struct {
	dir  Dir
	data []byte
}

func (r *recorder) pipe() (client, server *end) {
	c2s, s2c := newBuf(), newBuf()
	client = &end{rec: r, dir: ClientToServer, in: s2c, out: c2s}
	server = &end{rec: r, dir: ServerToClient, in: c2s, out: s2c}
	return client, server
}

type buf struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	closed bool
}

func newBuf() *buf {
	b := &buf{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// end is one endpoint of the pipe. Close closes only its sending side so that
// the peer can still read what was written; it writes no FIN (the scenario's
// close events do).
type end struct {
	rec     *recorder
	dir     Dir
	in, out *buf
}

func (e *end) Read(p []byte) (int, error) {
	e.in.mu.Lock()
	defer e.in.mu.Unlock()
	for len(e.in.data) == 0 && !e.in.closed {
		e.in.cond.Wait()
	}
	if len(e.in.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.in.data)
	e.in.data = e.in.data[n:]
	return n, nil
}

func (e *end) Write(p []byte) (int, error) {
	e.out.mu.Lock()
	defer e.out.mu.Unlock()
	if e.out.closed {
		return 0, net.ErrClosed
	}
	e.rec.mu.Lock()
	e.rec.log = append(e.rec.log, write{dir: e.dir, data: append([]byte(nil), p...)})
	e.rec.mu.Unlock()
	e.out.data = append(e.out.data, p...)
	e.out.cond.Broadcast()
	return len(p), nil
}

func (e *end) Close() error {
	e.out.mu.Lock()
	e.out.closed = true
	e.out.cond.Broadcast()
	e.out.mu.Unlock()
	return nil
}

func (e *end) LocalAddr() net.Addr                { return pipeAddr{} }
func (e *end) RemoteAddr() net.Addr               { return pipeAddr{} }
func (e *end) SetDeadline(t time.Time) error      { return nil }
func (e *end) SetReadDeadline(t time.Time) error  { return nil }
func (e *end) SetWriteDeadline(t time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// lockedBuffer is a KeyLogWriter: crypto/tls may write from the goroutine
// of either handshake step.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b...)
}
