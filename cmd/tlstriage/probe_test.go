package main

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// probeServer is a TLS server on 127.0.0.1 for the probe tests; it records
// the server names clients asked for.
type probeServer struct {
	addr string
	mu   sync.Mutex
	snis []string
}

func (s *probeServer) lastSNI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.snis) == 0 {
		return "(none)"
	}
	return s.snis[len(s.snis)-1]
}

// startProbeServer serves cfg's certificate on 127.0.0.1 until the test ends.
func startProbeServer(t *testing.T, cfg *tls.Config) *probeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &probeServer{addr: ln.Addr().String()}
	cfg = cfg.Clone()
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.snis = append(s.snis, hi.ServerName)
		s.mu.Unlock()
		return nil, nil
	}
	pcaptest.Serve(t, ln, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() == nil {
			tc.Read(make([]byte, 1)) // until the probe hangs up
		}
	})
	return s
}

// startRawServer accepts connections on 127.0.0.1 and hands them to serve.
func startRawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pcaptest.Serve(t, ln, serve)
	return ln.Addr().String()
}

// TestProbe fetches chains from servers started on 127.0.0.1 and judges
// them as a client with the given truststore would, in the shapes of a
// capture's report.
func TestProbe(t *testing.T) {
	pki, err := keyedPKI()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pcaptest.NewOtherRoot(pki.Now)
	if err != nil {
		t.Fatal(err)
	}
	root := writeTemp(t, "root.pem", pcaptest.PEM(pki.Root))
	otherPEM := writeTemp(t, "other.pem", pcaptest.PEM(other))
	// The PKI's certificates are valid around pki.Now, a fixed date; the
	// probe judges them at the time of the probe.
	fresh, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	freshRoot := writeTemp(t, "fresh-root.pem", pcaptest.PEM(fresh.Root))
	srv := startProbeServer(t, &tls.Config{Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	leafOnly := startProbeServer(t, &tls.Config{Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafOnly)}})
	tls12only := startProbeServer(t, &tls.Config{MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	oldCert := startProbeServer(t, &tls.Config{Certificates: []tls.Certificate{pki.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	mtls := startProbeServer(t, &tls.Config{ClientAuth: tls.RequireAnyClientCert, Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	mtls12 := startProbeServer(t, &tls.Config{ClientAuth: tls.RequireAnyClientCert, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	optional := startProbeServer(t, &tls.Config{ClientAuth: tls.RequestClientCert, Certificates: []tls.Certificate{fresh.TLSCertificate(pcaptest.ChainLeafIntermediate)}})
	_ = root

	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		verdict, cause string
		version        string
		sni            string // what the server saw
		srv            *probeServer
	}{
		{"trusted", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 0, "ok", "", "TLS 1.3", "backend.example.test", srv},
		{"missing root", []string{"--sni", "backend.example.test", "--truststore", otherPEM}, 1, "client_rejected_certificate", "truststore_missing_root", "TLS 1.3", "backend.example.test", srv},
		{"built-in roots", []string{"--sni", "backend.example.test"}, 1, "client_rejected_certificate", "truststore_missing_root", "TLS 1.3", "backend.example.test", srv},
		{"name mismatch", []string{"--sni", "api.example.test", "--truststore", freshRoot}, 1, "client_rejected_certificate", "hostname_mismatch", "TLS 1.3", "api.example.test", srv},
		{"--host over the SNI", []string{"--sni", "backend.example.test", "--host", "api.example.test", "--truststore", freshRoot}, 1, "client_rejected_certificate", "hostname_mismatch", "TLS 1.3", "backend.example.test", srv},
		{"TLS 1.2", []string{"--sni", "backend.example.test", "--truststore", freshRoot, "--tls1.2"}, 0, "ok", "", "TLS 1.2", "backend.example.test", srv},
		{"server of TLS 1.2", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 0, "ok", "", "TLS 1.2", "backend.example.test", tls12only},
		{"leaf only", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 1, "client_rejected_certificate", "incomplete_chain", "TLS 1.3", "backend.example.test", leafOnly},
		// A server that requires a client certificate refuses the probe
		// (after its Finished in TLS 1.3, before in TLS 1.2): the chain
		// it sent is judged, and the refusal said.
		{"client certificate required", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 1, "client_cert_rejected", "client_cert_required", "TLS 1.3", "backend.example.test", mtls},
		{"client certificate required, TLS 1.2", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 1, "client_cert_rejected", "client_cert_required", "TLS 1.2", "backend.example.test", mtls12},
		{"client certificate asked for, not required", []string{"--sni", "backend.example.test", "--truststore", freshRoot}, 0, "ok", "", "TLS 1.3", "backend.example.test", optional},
		{"expired now", []string{"--sni", "backend.example.test", "--truststore", root}, 1, "client_rejected_certificate", "expired", "TLS 1.3", "backend.example.test", oldCert},
		{"no SNI for an address", []string{"--truststore", freshRoot}, 0, "ok", "", "TLS 1.3", "", srv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"probe", tc.srv.addr, "--json"}, tc.args...)
			if tc.name == "no SNI for an address" {
				args = append(args, "--host", "backend.example.test")
			}
			objs := runJSON(t, tc.code, args...)
			if len(objs) != 1 {
				t.Fatalf("%d records", len(objs))
			}
			o := objs[0]
			if str(t, o, "verdict") != tc.verdict || str(t, o, "cause") != tc.cause || str(t, o, "version") != tc.version {
				t.Errorf("verdict %q cause %q version %q, want %q %q %q\n  %s\n  %s", str(t, o, "verdict"), str(t, o, "cause"), str(t, o, "version"),
					tc.verdict, tc.cause, tc.version, str(t, o, "verdict_detail"), str(t, o, "cause_detail"))
			}
			if got := tc.srv.lastSNI(); got != tc.sni {
				t.Errorf("the server saw SNI %q, want %q", got, tc.sni)
			}
			if str(t, o, "server") != tc.srv.addr || len(array(t, o, "chain")) == 0 || str(t, o, "cipher") == "" || str(t, o, "ja4") == "" {
				t.Errorf("server %q, %d certificates, cipher %q, ja4 %q", str(t, o, "server"), len(array(t, o, "chain")), str(t, o, "cipher"), str(t, o, "ja4"))
			}
		})
	}

	// Text: the chain table and the verdict, no timeline or frames.
	r := tlstriage(t, nil, "probe", srv.addr, "--sni", "backend.example.test", "--truststore", otherPEM)
	if r.code != 1 || !strings.Contains(r.stdout, "Chain sent by the server") || !strings.Contains(r.stdout, "Cause:   truststore_missing_root") ||
		strings.Contains(r.stdout, "Timeline") || strings.Contains(r.stdout, "frames 0") {
		t.Errorf("text report (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}
	// --export-certs: the chain written, as for a capture.
	certs := filepath.Join(t.TempDir(), "certs")
	if r := tlstriage(t, nil, "probe", srv.addr, "--sni", "backend.example.test", "--truststore", otherPEM, "--export-certs", certs); r.code != exitFailed || !strings.Contains(r.stderr, "wrote 2 certificate files into "+certs) {
		t.Errorf("--export-certs: exit %d, %s", r.code, r.stderr)
	}
	// The target endpoint as the proxy holds it: a URL.
	if objs := runJSON(t, 0, "probe", "https://"+srv.addr+"/v1/orders?id=1", "--json", "--sni", "backend.example.test", "--truststore", freshRoot); len(objs) != 1 || str(t, objs[0], "server") != srv.addr {
		t.Errorf("URL: %v", objs)
	}
	if r := tlstriage(t, nil, "probe", "http://"+srv.addr+"/"); r.code != exitUsage || !strings.Contains(r.stderr, "https://") {
		t.Errorf("http URL: exit %d, %s", r.code, r.stderr)
	}
	// An address and no name: ok, but the name was not checked, and said.
	if objs := runJSON(t, 0, "probe", srv.addr, "--json", "--truststore", freshRoot); len(objs) != 1 || !strings.Contains(str(t, objs[0], "verdict_detail"), "no name was checked") {
		t.Errorf("no name: %v", objs[0]["verdict_detail"])
	}
	if r := tlstriage(t, nil, "probe", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Usage: tlstriage probe") {
		t.Errorf("probe --help: exit %d\n%s", r.code, r.stdout)
	}
}

// TestProbeErrors: what keeps a probe from a chain is one clear line (and
// a hint), exit status 2.
func TestProbeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	silent := startRawServer(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 1<<16))
		time.Sleep(time.Second)
	})
	httpSrv := startRawServer(t, func(c net.Conn) {
		c.Read(make([]byte, 1<<16))
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	})
	smtpSrv := startRawServer(t, func(c net.Conn) {
		c.Write([]byte("220 mail.example.test ESMTP\r\n"))
		c.Read(make([]byte, 1<<16))
	})
	pki, err := keyedPKI()
	if err != nil {
		t.Fatal(err)
	}
	only13 := startProbeServer(t, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pki.TLSCertificate(pcaptest.ChainLeafIntermediate)}})

	for _, tc := range []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"refused", []string{closed}, []string{"tlstriage: error: probe " + closed + ": ", "connection refused", "tlstriage: hint: is the server running"}},
		{"timeout", []string{silent, "--timeout", "300ms"}, []string{"tlstriage: error: probe " + silent + ": ", "connected, but no TLS handshake within 300ms", "tlstriage: hint: "}},
		{"not TLS", []string{httpSrv}, []string{"tlstriage: error: probe " + httpSrv + ": ", "tlstriage: hint: the server does not speak TLS", "plaintext HTTP"}},
		{"SMTP port", []string{smtpSrv}, []string{"tlstriage: error: probe " + smtpSrv + ": ", "tlstriage: hint: the server does not speak TLS", "openssl s_client -starttls smtp (or ftp) -connect " + smtpSrv}},
		{"version refused", []string{only13.addr, "--tls1.2"}, []string{"tlstriage: error: probe " + only13.addr + ": ", "tlstriage: hint: the server refused the handshake: try without --tls1.2"}},
		{"no target", nil, []string{"tlstriage: error: probe: no server given", "tlstriage: hint: tlstriage probe HOST:PORT"}},
		{"two targets", []string{"127.0.0.1:1", "127.0.0.1:2"}, []string{"one server at a time"}},
		{"both versions", []string{"127.0.0.1:1", "--tls1.2", "--tls1.3"}, []string{"--tls1.2 and --tls1.3 exclude each other"}},
		{"bad port", []string{"127.0.0.1:99999"}, []string{`port "99999" is not 1-65535`}},
		{"bad flag", []string{"127.0.0.1:1", "--nope"}, []string{"tlstriage: error: probe: unknown flag: --nope"}},
		{"bad truststore", []string{"127.0.0.1:1", "--truststore", "/nonexistent/ts.pem"}, []string{"tlstriage: error: ", "/nonexistent/ts.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := tlstriage(t, nil, append([]string{"probe"}, tc.args...)...)
			if r.code != 2 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q: want 2 and nothing", r.code, r.stdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q does not contain %q", r.stderr, want)
				}
			}
			if n := len(lines(r.stderr)); n > 2 {
				t.Errorf("%d lines on stderr, want a one-liner and a hint:\n%s", n, r.stderr)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}
