package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/report"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

type probeConfig struct {
	client      string // --client
	exportDir   string // --export-certs
	force       bool   // --force
	target      string
	sni         string
	sniSet      bool
	truststores []string
	password    string
	host        string
	tls12       bool
	tls13       bool
	json        bool
	timeout     time.Duration
	color       string
}

func probeUsage(fs *pflag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `Usage: tlstriage probe HOST[:PORT] [--sni NAME] [--truststore PATH]... [--tls1.2|--tls1.3] [--json]

probe connects to a TLS server the way "openssl s_client -connect HOST:PORT
-showcerts" does, takes the certificate chain the server sends without
trusting it, and judges it as a client with the given truststore would:
the same chain, trust, name and validity checks, report and JSON as for a
capture. PORT defaults to 443; the SNI defaults to HOST unless it is an
address.

Exit status: 0 a client would accept the chain, 1 it would reject it, 2 bad
usage or no TLS handshake (connection refused, timeout, not TLS...).

Options:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// runProbe is "tlstriage probe".
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg probeConfig
	fs := pflag.NewFlagSet("tlstriage probe", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.sni, "sni", "", "server `NAME` to send (default: HOST when it is a name)")
	fs.StringArrayVar(&cfg.truststores, "truststore", nil, "the client's truststore: PEM bundle, directory, JKS or PKCS#12 `PATH`; repeatable (default: built-in Mozilla roots)")
	fs.StringVar(&cfg.password, "truststore-password", "changeit", "password of JKS/PKCS#12 truststores")
	fs.StringVar(&cfg.host, "host", "", "the host `NAME` the client means to reach (default: the SNI)")
	fs.StringVar(&cfg.exportDir, "export-certs", "", "write the chain the server sends as PEM files into `DIR`, with the line that imports a missing root")
	fs.BoolVar(&cfg.force, "force", false, "let --export-certs overwrite existing files")
	fs.StringVar(&cfg.client, "client", "", "judge the chain with the rules of this client `STACK`: "+strings.Join(diagnose.ClientNames, ", ")+" (default: tlstriage's own rules)")
	fs.BoolVar(&cfg.tls12, "tls1.2", false, "offer TLS 1.2 only")
	fs.BoolVar(&cfg.tls13, "tls1.3", false, "offer TLS 1.3 only")
	fs.BoolVar(&cfg.json, "json", false, "write the result as one JSON object, as for a capture")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "give up connecting and handshaking after `DURATION`")
	fs.StringVar(&cfg.color, "color", "auto", "colour the text report: auto, always, never (NO_COLOR disables auto)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		errorf(stderr, "probe: %v", err)
		hint(stderr, "see tlstriage probe --help")
		return exitUsage
	}
	if !clientFlag(cfg.client, stderr) {
		return exitUsage
	}
	if *help {
		probeUsage(fs, stdout)
		return exitOK
	}
	cfg.sniSet = fs.Changed("sni")
	switch {
	case fs.NArg() == 0:
		errorf(stderr, "probe: no server given")
		hint(stderr, "tlstriage probe HOST:PORT, e.g. tlstriage probe backend.example.com:443")
		return exitUsage
	case fs.NArg() > 1:
		errorf(stderr, "probe: one server at a time, not %q", strings.Join(fs.Args(), " "))
		return exitUsage
	case cfg.tls12 && cfg.tls13:
		errorf(stderr, "probe: --tls1.2 and --tls1.3 exclude each other")
		hint(stderr, "give neither to let the server choose")
		return exitUsage
	case cfg.timeout <= 0:
		errorf(stderr, "probe: --timeout must be positive, not %v", cfg.timeout)
		return exitUsage
	}
	switch cfg.color {
	case "auto", "always", "never":
	default:
		errorf(stderr, "probe: --color takes auto, always or never, not %q", cfg.color)
		return exitUsage
	}
	host, port, err := splitTarget(fs.Arg(0))
	if err != nil {
		errorf(stderr, "probe: %v", err)
		return exitUsage
	}
	cfg.target = net.JoinHostPort(host, port)
	if !cfg.sniSet {
		if _, err := netip.ParseAddr(host); err != nil {
			cfg.sni = host
		}
	}
	trust := truststore.Mozilla()
	if len(cfg.truststores) > 0 {
		trust, err = truststore.Load(cfg.truststores, cfg.password)
		if err != nil {
			errorf(stderr, "%v", err)
			if errors.Is(err, truststore.ErrWrongPassword) {
				hint(stderr, "give the truststore's password with --truststore-password")
			}
			return exitUsage
		}
		for _, w := range trust.Warnings() {
			warnf(stderr, "%s", w)
		}
	}
	p, err := probe(ctx, &cfg)
	if err != nil {
		errorf(stderr, "probe %s: %s", cfg.target, describeProbeError(err, &cfg))
		if h := probeHint(err, &cfg); h != "" {
			hint(stderr, h)
		}
		return exitUsage
	}
	o := diagnose.Options{Trust: trust, Host: cfg.host, Flags: adviceFlags}
	o.Client, _ = diagnose.ParseClient(cfg.client)
	r := diagnose.Probe(p.conn, o, p.at)
	if cfg.exportDir != "" {
		exp, err := report.NewExporter(cfg.exportDir, cfg.force, cfg.truststores, cfg.password)
		if err == nil {
			err = exp.Add(p.conn, r)
		}
		if err != nil {
			errorf(stderr, "%v", err)
			return exitUsage
		}
		for _, line := range exp.Done() {
			fmt.Fprintf(stderr, "tlstriage: %s\n", line)
		}
	}
	var w report.Writer
	if cfg.json {
		w = report.NewJSON(stdout, false)
	} else {
		w = report.NewText(stdout, report.TextOptions{Color: useColor(cfg.color, stdout), Verbose: true})
	}
	if err := w.Conn(p.conn, r); err != nil {
		errorf(stderr, "writing the report: %v", err)
		return exitUsage
	}
	if r.Failed {
		return exitFailed
	}
	return exitOK
}

// splitTarget splits HOST[:PORT] (IPv6 in brackets), the port defaulting
// to 443.
func splitTarget(s string) (host, port string, err error) {
	if strings.Contains(s, "://") {
		// A URL, as the proxy's target endpoint holds it:
		// https://host:port/path.
		u, uerr := url.Parse(s)
		if uerr != nil || u.Host == "" {
			return "", "", fmt.Errorf("bad server %q: not a URL with a host", s)
		}
		if u.Scheme != "https" && u.Scheme != "tls" {
			return "", "", fmt.Errorf("bad server %q: probe speaks TLS from the first byte (https://), not %s://", s, u.Scheme)
		}
		host, port = u.Hostname(), u.Port()
		if port == "" {
			port = "443"
		}
		s = net.JoinHostPort(host, port)
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		// No port: HOST, or a bare IPv6 address.
		if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			if _, perr := netip.ParseAddr(s); perr == nil {
				return s, "443", nil
			}
		}
		if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
			return "", "", fmt.Errorf("bad server %q: want HOST:PORT", s)
		}
		host, port = strings.Trim(s, "[]"), "443"
	}
	if host == "" {
		return "", "", fmt.Errorf("bad server %q: no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("bad server %q: port %q is not 1-65535", s, port)
	}
	return host, port, nil
}

// probed is what a probe saw, as a connection the report understands.
type probed struct {
	conn *dissect.Conn
	at   time.Time
}

// probe connects, handshakes without verifying and returns the chain and
// the parameters the server chose.
func probe(ctx context.Context, cfg *probeConfig) (*probed, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	start := time.Now()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", cfg.target)
	if err != nil {
		return nil, &probeError{stage: "connect", err: err}
	}
	defer raw.Close()
	var peer []*x509.Certificate
	requested := false // the server asked for a client certificate
	tcfg := &tls.Config{
		ServerName:         cfg.sni,
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
	case cfg.tls12:
		tcfg.MinVersion, tcfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case cfg.tls13:
		tcfg.MinVersion, tcfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	rec := &recordingConn{Conn: raw}
	tc := tls.Client(rec, tcfg)
	refusal := tc.HandshakeContext(ctx)
	if refusal != nil && !(requested && len(peer) > 0) {
		return nil, &probeError{stage: "handshake", err: refusal}
	}
	if refusal == nil && requested {
		// TLS 1.3: a server that requires a certificate says so after
		// the probe's Finished, with an alert on the first read.
		tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		var ne net.Error
		if _, err := tc.Read(make([]byte, 1)); err != nil && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, io.EOF) {
			refusal = err
		}
	}
	cs := tc.ConnectionState()
	end := time.Now()
	certs := dissect.NewCertCache(0)
	c := &dissect.Conn{ID: 1, File: "probe " + cfg.target, TLS: true, FirstTime: start, LastTime: end}
	// The hellos as they went over the wire (fingerprints, the offer); what
	// crypto/tls reports when they cannot be parsed.
	c.ClientHello, _, _ = hellos(rec.out)
	_, c.HRR, c.ServerHello = hellos(rec.in)
	if c.ClientHello == nil {
		c.ClientHello = &tlsparse.ClientHello{ServerName: cfg.sni}
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
		c.Events = append(c.Events, dissect.Event{Kind: dissect.EvEncryptedAlert, From: dissect.Server, Time: end, PeerAck: -1, Detail: refusal.Error()})
	}
	return &probed{conn: c, at: end}, nil
}

// probeError is why a probe got no chain, and at which stage.
type probeError struct {
	stage string // "connect" or "handshake"
	err   error
}

func (e *probeError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

// describeProbeError says in one line why a probe got no chain.
func describeProbeError(err error, cfg *probeConfig) string {
	var pe *probeError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		if pe.stage == "connect" {
			return fmt.Sprintf("no TCP connection within %v", cfg.timeout)
		}
		return fmt.Sprintf("connected, but no TLS handshake within %v", cfg.timeout)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %s: %v", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return pe.stage + ": connection reset by the server"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection during the TLS handshake"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return pe.stage + ": " + oe.Err.Error()
	}
	return pe.stage + ": " + strings.TrimPrefix(pe.err.Error(), "tls: ")
}

// probeHint suggests what to try after a failed probe.
func probeHint(err error, cfg *probeConfig) string {
	var ae tls.AlertError
	var re tls.RecordHeaderError
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "does something between drop the traffic, or does the server wait for the client to speak first in another protocol? --timeout waits longer"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "is the server running, and listening on this port?"
	case errors.As(err, &dnsErr):
		return "check the host name, or give the address"
	case errors.As(err, &re):
		// The server's first bytes say what it speaks.
		head := string(re.RecordHeader[:])
		switch {
		case strings.HasPrefix(head, "HTTP/"):
			return "the server does not speak TLS on that port: it answers in plaintext HTTP (use http://, or the port where it serves TLS)"
		case strings.HasPrefix(head, "220"):
			return fmt.Sprintf("the server does not speak TLS on that port: it greets in plaintext (SMTP or FTP), and starts TLS only after STARTTLS or AUTH TLS: openssl s_client -starttls smtp (or ftp) -connect %s -showcerts fetches the chain", cfg.target)
		case strings.HasPrefix(head, "* OK"), strings.HasPrefix(head, "+OK"):
			return fmt.Sprintf("the server does not speak TLS on that port: it greets in plaintext (IMAP or POP3), and starts TLS only after STARTTLS or STLS: openssl s_client -starttls imap (or pop3) -connect %s -showcerts fetches the chain", cfg.target)
		case strings.HasPrefix(head, "SSH-"):
			return "the server does not speak TLS on that port: it is an SSH server"
		}
		return "the server does not speak TLS on that port"
	case errors.As(err, &ae) || strings.Contains(err.Error(), "remote error"):
		switch {
		case cfg.tls12 || cfg.tls13:
			return "the server refused the handshake: try without --tls1.2/--tls1.3"
		case cfg.sni == "":
			return "the server refused the handshake: it may need a server name (--sni NAME)"
		}
		return "the server refused the handshake: compare its TLS versions and cipher suites with the client's"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer within %v", cfg.timeout)
	}
	return ""
}

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
