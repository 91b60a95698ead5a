package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// Options say whom to probe and how.
type Options struct {
	Target string // host:port
	SNI    string // "" sends none
	// Timeout bounds the connection and the handshake.
	Timeout time.Duration
	// TLS12 and TLS13 offer only that version.
	TLS12, TLS13 bool
	// Now is the clock: the probe's times (the library reads none itself).
	Now func() time.Time
}

// Result is what a probe saw, as a connection the report understands.
type Result struct {
	Conn *dissect.Conn
	At   time.Time // when the chain was fetched: judge it then
}

// Fetch connects, handshakes without verifying and returns the chain and
// the parameters the server chose. A server that requires a client
// certificate still gives its chain; its refusal is an event of the
// connection.
func Fetch(ctx context.Context, o Options) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := o.Now()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", o.Target)
	if err != nil {
		return nil, &Error{Stage: "connect", Err: err}
	}
	defer raw.Close()
	var peer []*x509.Certificate
	requested := false // the server asked for a client certificate
	tcfg := &tls.Config{
		ServerName:         o.SNI,
		InsecureSkipVerify: true, // the chain is judged below, as the client would
		MinVersion:         tls.VersionTLS10,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			// Called before the probe answers a CertificateRequest: the
			// chain is kept even when the server then refuses the probe.
			// (The probe keeps no sessions: every handshake is full.)
			peer = peer[:0]
			for _, b := range raw {
				if c, err := x509.ParseCertificate(b); err == nil {
					peer = append(peer, c)
				}
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			requested = true
			return &tls.Certificate{}, nil // none to offer
		},
	}
	switch {
	case o.TLS12:
		tcfg.MinVersion, tcfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case o.TLS13:
		tcfg.MinVersion, tcfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	rec := &recordingConn{Conn: raw}
	tc := tls.Client(rec, tcfg)
	refusal := tc.HandshakeContext(ctx)
	if refusal != nil && !(requested && len(peer) > 0) {
		return nil, &Error{Stage: "handshake", Err: refusal}
	}
	if refusal == nil && requested {
		// TLS 1.3: a server that requires a certificate says so after
		// the probe's Finished, with an alert on the first read.
		tc.SetReadDeadline(o.Now().Add(500 * time.Millisecond))
		var ne net.Error
		if _, err := tc.Read(make([]byte, 1)); err != nil && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, io.EOF) {
			refusal = err
		}
	}
	cs := tc.ConnectionState()
	end := o.Now()
	certs := dissect.NewCertCache(0)
	c := &dissect.Conn{ID: 1, File: "probe " + o.Target, TLS: true, FirstTime: start, LastTime: end}
	// The hellos as they went over the wire (fingerprints, the offer); what
	// crypto/tls reports when they cannot be parsed.
	c.ClientHello, _, _ = hellos(rec.out)
	_, c.HRR, c.ServerHello = hellos(rec.in)
	if c.ClientHello == nil {
		c.ClientHello = &tlsparse.ClientHello{ServerName: o.SNI}
	}
	if c.ServerHello == nil {
		c.ServerHello = &tlsparse.ServerHello{SupportedVersion: tlsparse.Version(cs.Version), LegacyVersion: tlsparse.Version(cs.Version),
			CipherSuite: tlsparse.CipherSuite(cs.CipherSuite), ALPN: cs.NegotiatedProtocol}
	}
	if ap, err := netip.ParseAddrPort(raw.LocalAddr().String()); err == nil {
		c.Client = ap
	}
	if ap, err := netip.ParseAddrPort(raw.RemoteAddr().String()); err == nil {
		c.Server = ap
	}
	c.Sides[dissect.Client].Addr, c.Sides[dissect.Server].Addr = c.Client, c.Server
	for _, cert := range peer {
		c.Chain = append(c.Chain, certs.Get(cert.Raw))
	}
	if requested {
		c.CertRequest = &tlsparse.CertificateRequest{}
		c.ClientSentCertificate = true // empty: the probe has none
	}
	if refusal != nil {
		// The server refused the probe for want of a client certificate.
		c.Events = append(c.Events, dissect.Event{Kind: dissect.EvEncryptedAlert, From: dissect.Server, PeerAck: -1, Detail: refusal.Error()}.At(end))
	}
	return &Result{Conn: c, At: end}, nil
}

// Error is why a probe got no chain, and at which stage.
type Error struct {
	Stage string // "connect" or "handshake"
	Err   error
}

func (e *Error) Error() string { return "probe: " + e.Stage + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// maxRecorded bounds the handshake bytes a probe keeps of each direction.
const maxRecorded = 64 << 10

// recordingConn keeps the first bytes written and read: the plaintext
// hellos.
type recordingConn struct {
	net.Conn
	in, out []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if k := min(n, maxRecorded-len(r.in)); k > 0 {
		r.in = append(r.in, p[:k]...)
	}
	return n, err
}

func (r *recordingConn) Write(p []byte) (int, error) {
	if k := min(len(p), maxRecorded-len(r.out)); k > 0 {
		r.out = append(r.out, p[:k]...)
	}
	return r.Conn.Write(p)
}

// hellos finds, in the bytes one side sent, its first ClientHello, its
// HelloRetryRequest and its (final) ServerHello, from the plaintext
// handshake records before anything encrypted.
func hellos(b []byte) (ch *tlsparse.ClientHello, hrr, sh *tlsparse.ServerHello) {
	hb := tlsparse.NewHandshakeBuffer(0)
	for len(b) >= tlsparse.RecordHeaderLen {
		h, err := tlsparse.ReadRecordHeader(b)
		if err != nil || len(b) < tlsparse.RecordHeaderLen+h.Length {
			return
		}
		body := b[tlsparse.RecordHeaderLen : tlsparse.RecordHeaderLen+h.Length]
		b = b[tlsparse.RecordHeaderLen+h.Length:]
		switch h.Type {
		case tlsparse.TypeChangeCipherSpec:
			continue
		case tlsparse.TypeHandshake:
		default:
			return // encrypted from here on
		}
		hb.Write(body)
		for {
			typ, msg, err := hb.Next()
			if err != nil || msg == nil {
				break
			}
			switch typ {
			case tlsparse.ClientHelloType:
				if ch == nil {
					ch, _ = tlsparse.ParseClientHello(msg)
				}
			case tlsparse.ServerHelloType:
				m, err := tlsparse.ParseServerHello(msg)
				switch {
				case err != nil:
				case m.HelloRetryRequest:
					hrr = m
				default:
					return ch, hrr, m // what follows may be encrypted
				}
			}
		}
	}
	return
}
