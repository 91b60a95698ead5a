package main

import (
	"context"
	"crypto/tls"
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
	"github.com/tlstriage/tlstriage/probe"
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
	p, err := probe.Fetch(ctx, probe.Options{Target: cfg.target, SNI: cfg.sni, Timeout: cfg.timeout, TLS12: cfg.tls12, TLS13: cfg.tls13, Now: time.Now})
	if err != nil {
		errorf(stderr, "probe %s: %s", cfg.target, describeProbeError(err, &cfg))
		if h := probeHint(err, &cfg); h != "" {
			hint(stderr, h)
		}
		return exitUsage
	}
	// The probed connection goes to the report as a captured one does:
	// the same session, without a summary.
	scfg := &config{json: cfg.json, color: cfg.color, verbose: true, host: cfg.host, client: cfg.client,
		exportDir: cfg.exportDir, force: cfg.force, truststores: cfg.truststores, password: cfg.password}
	sess, err := newSession(scfg, trust, stdout, stdout)
	if err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	sess.opts.ProbeCommand = nil // this is the probe
	r := diagnose.Probe(p.Conn, sess.opts, p.At)
	sess.deliver(p.Conn, sess.judged(p.Conn, r, nil))
	sess.exportNotes(stderr)
	return sess.exit(stderr, false, false)
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

// describeProbeError says in one line why a probe got no chain.
func describeProbeError(err error, cfg *probeConfig) string {
	var pe *probe.Error
	if !errors.As(err, &pe) {
		return err.Error()
	}
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		if pe.Stage == "connect" {
			return fmt.Sprintf("no TCP connection within %v", cfg.timeout)
		}
		return fmt.Sprintf("connected, but no TLS handshake within %v", cfg.timeout)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve %s: %v", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return pe.Stage + ": connection reset by the server"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection during the TLS handshake"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return pe.Stage + ": " + oe.Err.Error()
	}
	return pe.Stage + ": " + strings.TrimPrefix(pe.Err.Error(), "tls: ")
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
