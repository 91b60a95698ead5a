package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// relay accepts one connection on 127.0.0.1, connects it to target and
// records what each side wrote, in order: a capture without a capture tool.
type relay struct {
	addr string
	mu   sync.Mutex
	conv pcaptest.Conversation
	done chan struct{}
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer s.Close()
		var wg sync.WaitGroup
		pipe := func(dst, src net.Conn, d pcaptest.Dir) {
			defer wg.Done()
			buf := make([]byte, 1<<16)
			for {
				src.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := src.Read(buf)
				if n > 0 {
					r.mu.Lock()
					r.conv.Events = append(r.conv.Events, pcaptest.Event{Dir: d, Kind: pcaptest.Data, Data: bytes.Clone(buf[:n]), Delay: 300 * time.Microsecond})
					r.mu.Unlock()
					dst.Write(buf[:n])
				}
				if err != nil {
					if tc, ok := dst.(*net.TCPConn); ok {
						tc.CloseWrite()
					}
					return
				}
			}
		}
		wg.Add(2)
		go pipe(s, c, pcaptest.ClientToServer)
		go pipe(c, s, pcaptest.ServerToClient)
		wg.Wait()
	}()
	return r
}

func (r *relay) conversation(t *testing.T) *pcaptest.Conversation {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the relayed connection did not end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.conv
	c.Events = append(c.Events, pcaptest.Event{Dir: pcaptest.ClientToServer, Kind: pcaptest.FIN}, pcaptest.Event{Dir: pcaptest.ServerToClient, Kind: pcaptest.FIN})
	return &c
}

// TestKeyLogOpenSSL decrypts real OpenSSL handshakes (openssl s_client
// against openssl s_server, relayed on 127.0.0.1) with the key log
// s_client writes: the TLS 1.3 suites crypto/tls does not choose (AES-256-GCM,
// ChaCha20-Poly1305), OpenSSL's rejection, and TLS 1.2 AES-CBC-SHA384 with
// encrypt_then_mac. Skipped without an openssl binary.
func TestKeyLogOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl binary")
	}
	now := time.Now()
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pcaptest.NewOtherRoot(now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(pki.LeafKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := write("leaf.pem", pcaptest.PEM(pki.Leaf))
	chainPEM := write("chain.pem", pcaptest.PEM(pki.Intermediate))
	keyPEM := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	rootPEM := write("root.pem", pcaptest.PEM(pki.Root))
	otherPEM := write("other.pem", pcaptest.PEM(other))

	for _, tc := range []struct {
		name       string
		server     []string
		client     []string
		clientCA   string
		trust      string
		cipher     string
		verdict    string
		cause      string
		alert      string // the client's alert, "" for none
		decrypted  bool   // the client's alert was encrypted and decrypted
		minRecords int    // records decrypted at least
	}{
		{"TLS 1.3 AES-256-GCM, OpenSSL rejects the chain", []string{"-ciphersuites", "TLS_AES_256_GCM_SHA384"}, []string{"-tls1_3"}, otherPEM, otherPEM,
			"TLS_AES_256_GCM_SHA384", "client_rejected_certificate", "truststore_missing_root", "unknown_ca", false, 4},
		{"TLS 1.3 ChaCha20-Poly1305, OpenSSL rejects the chain", []string{"-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, []string{"-tls1_3"}, otherPEM, otherPEM,
			"TLS_CHACHA20_POLY1305_SHA256", "client_rejected_certificate", "truststore_missing_root", "unknown_ca", false, 4},
		{"TLS 1.3 ChaCha20-Poly1305, ok", []string{"-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, []string{"-tls1_3"}, rootPEM, rootPEM,
			"TLS_CHACHA20_POLY1305_SHA256", "ok", "", "close_notify", true, 5},
		{"TLS 1.2 AES-256-CBC-SHA384 with encrypt_then_mac", []string{"-cipher", "ECDHE-ECDSA-AES256-SHA384"}, []string{"-tls1_2"}, rootPEM, rootPEM,
			"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ok", "", "close_notify", true, 2},
		{"TLS 1.2 AES-128-CBC-SHA without encrypt_then_mac", []string{"-cipher", "ECDHE-ECDSA-AES128-SHA", "-no_etm"}, []string{"-tls1_2"}, rootPEM, rootPEM,
			"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ok", "", "close_notify", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			addr, srvOut, started := startSServer(t, ctx, openssl, append([]string{"-naccept", "1",
				"-cert", certPEM, "-cert_chain", chainPEM, "-key", keyPEM}, tc.server...)...)
			if !started {
				t.Fatalf("openssl s_server did not start:\n%s", srvOut)
			}
			rl := startRelay(t, addr)
			keylog := filepath.Join(t.TempDir(), "keys.txt")
			cli := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", rl.addr, "-servername", "backend.example.test",
				"-keylogfile", keylog, "-CAfile", tc.clientCA, "-verify_return_error"}, tc.client...)...)
			cli.Stdin = strings.NewReader("") // EOF: s_client sends close_notify and ends
			out, _ := cli.CombinedOutput()
			conv := rl.conversation(t)
			pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{Start: now})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
				t.Fatal(err)
			}
			capture := writeTemp(t, "openssl.pcap", buf.Bytes())
			code := 0
			if tc.verdict != "ok" {
				code = 1
			}
			o := runJSON(t, code, "-r", capture, "--keylog", keylog, "--truststore", tc.trust)[0]
			if str(t, o, "cipher") != tc.cipher || str(t, o, "verdict") != tc.verdict || str(t, o, "cause") != tc.cause {
				t.Errorf("cipher %q verdict %q cause %q, want %q %q %q\n  %s\n  %s\nopenssl s_client:\n%s\nopenssl s_server:\n%s",
					str(t, o, "cipher"), str(t, o, "verdict"), str(t, o, "cause"), tc.cipher, tc.verdict, tc.cause,
					str(t, o, "verdict_detail"), str(t, o, "cause_detail"), out, srvOut)
			}
			if len(array(t, o, "chain")) != 2 || boolean(t, o, "chain_hidden") {
				t.Errorf("%d certificates, hidden %v", len(array(t, o, "chain")), boolean(t, o, "chain_hidden"))
			}
			var records int
			for _, f := range array(t, o, "findings") {
				switch str(t, f, "code") {
				case "decrypted":
					fmt.Sscanf(str(t, f, "summary"), "decrypted with the key log: %d records", &records)
				case "keylog_mismatch", "decryption_failed":
					t.Errorf("finding %s: %s", str(t, f, "code"), str(t, f, "summary"))
				}
			}
			if records < tc.minRecords {
				t.Errorf("%d server records decrypted, want at least %d: %v", records, tc.minRecords, findingCodes(t, o))
			}
			if tc.alert != "" {
				a := clientAlert(t, o)
				if str(t, a, "description") != tc.alert || (a["decrypted"] == true) != tc.decrypted {
					t.Errorf("client alert %v, want %s (decrypted %v)", a, tc.alert, tc.decrypted)
				}
			}
		})
	}
}

// startSServer runs openssl s_server on a free port of 127.0.0.1 with
// args after -accept, its input left open (s_server ends at the end of its
// input), and waits until it listens (it prints ACCEPT). It reports
// whether it started; the process ends with the test.
func startSServer(t *testing.T, ctx context.Context, openssl string, args ...string) (addr string, out *lockedOutput, started bool) {
	t.Helper()
	addr = "127.0.0.1:" + freePort(t)
	srv := exec.CommandContext(ctx, openssl, append([]string{"s_server", "-accept", addr}, args...)...)
	stdin, err := srv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out = &lockedOutput{accept: make(chan struct{})}
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); srv.Process.Kill(); srv.Wait() })
	select {
	case <-out.accept:
		return addr, out, true
	case <-time.After(10 * time.Second):
		return addr, out, false
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// lockedOutput collects a process's output and signals when it printed
// ACCEPT.
type lockedOutput struct {
	mu     sync.Mutex
	b      bytes.Buffer
	accept chan struct{}
	seen   bool
}

func (l *lockedOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if !l.seen && bytes.Contains(l.b.Bytes(), []byte("ACCEPT")) {
		l.seen = true
		close(l.accept)
	}
	return len(p), nil
}

func (l *lockedOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKeyLogOpenSSLDHEDSS decrypts a TLS 1.2 connection whose suite
// crypto/tls does not offer, DHE_DSS with AES-128-GCM (a DSA certificate
// made by openssl): the key log gives the master secret whatever the key
// exchange, so the key exchange does not decide what can be decrypted.
func TestKeyLogOpenSSLDHEDSS(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl binary")
	}
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"dsaparam", "-out", at("dsa.pem"), "2048"},
		{"req", "-x509", "-newkey", "dsa:" + at("dsa.pem"), "-nodes", "-keyout", at("key.pem"), "-out", at("cert.pem"),
			"-subj", "/CN=backend.example.test", "-addext", "subjectAltName=DNS:backend.example.test", "-days", "2"},
	} {
		if out, err := exec.CommandContext(ctx, openssl, args...).CombinedOutput(); err != nil {
			t.Skipf("openssl %s: %v\n%s", args[0], err, out)
		}
	}
	const suite = "DHE-DSS-AES128-GCM-SHA256:@SECLEVEL=0"
	addr, srvOut, started := startSServer(t, ctx, openssl, "-naccept", "1",
		"-cert", at("cert.pem"), "-key", at("key.pem"), "-tls1_2", "-cipher", suite)
	if !started {
		t.Skipf("openssl s_server with %s did not start:\n%s", suite, srvOut)
	}
	rl := startRelay(t, addr)
	keylog := at("keys.txt")
	cli := exec.CommandContext(ctx, openssl, "s_client", "-connect", rl.addr, "-servername", "backend.example.test",
		"-keylogfile", keylog, "-CAfile", at("cert.pem"), "-verify_return_error", "-tls1_2", "-cipher", suite)
	cli.Stdin = strings.NewReader("") // EOF: s_client sends close_notify and ends
	out, _ := cli.CombinedOutput()
	capture := rcCapture(t, rl.conversation(t), rl.addr)
	o := runJSON(t, 0, "-r", capture, "--keylog", keylog, "--truststore", at("cert.pem"))[0]
	if c := str(t, o, "cipher"); c != "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256" {
		t.Fatalf("cipher %q\nopenssl s_client:\n%s", c, out)
	}
	var records int
	for _, f := range array(t, o, "findings") {
		switch str(t, f, "code") {
		case "decrypted":
			fmt.Sscanf(str(t, f, "summary"), "decrypted with the key log: %d records", &records)
		case "keylog_mismatch", "decryption_failed", "keylog_unsupported":
			t.Errorf("finding %s: %s", str(t, f, "code"), str(t, f, "summary"))
		}
	}
	if records < 2 {
		t.Errorf("%d server records decrypted, want at least 2: %v", records, findingCodes(t, o))
	}
	if a := clientAlert(t, o); str(t, a, "description") != "close_notify" || a["decrypted"] != true {
		t.Errorf("client alert %v, want close_notify decrypted", a)
	}
}

// TestKeyLogOpenSSLTLS10 runs openssl s_client against s_server over
// TLS 1.0 with a key log: decryption does not cover TLS 1.0, and the
// report says so (keylog_unsupported) rather than nothing.
func TestKeyLogOpenSSLTLS10(t *testing.T) {
	openssl, d, rootPEM, certArgs := opensslPKI(t, pcaptest.PKIOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const suite = "ALL:@SECLEVEL=0"
	addr, srvOut, started := startSServer(t, ctx, openssl, append(append([]string{"-naccept", "1"}, certArgs...), "-tls1", "-cipher", suite)...)
	if !started {
		t.Skipf("openssl s_server -tls1 did not start:\n%s", srvOut)
	}
	rl := startRelay(t, addr)
	keylog := d.write("keys.txt", nil)
	cli := exec.CommandContext(ctx, openssl, "s_client", "-connect", rl.addr, "-servername", pcaptest.DefaultServerName,
		"-keylogfile", keylog, "-CAfile", rootPEM, "-verify_return_error", "-tls1", "-cipher", suite)
	cli.Stdin = strings.NewReader("")
	out, _ := cli.CombinedOutput()
	if !strings.Contains(string(out), "TLSv1.0") {
		t.Skipf("openssl did not connect over TLS 1.0:\n%s", out)
	}
	capture := rcCapture(t, rl.conversation(t), rl.addr)
	o := runJSON(t, 0, "-r", capture, "--keylog", keylog, "--truststore", rootPEM)[0]
	if v := str(t, o, "version"); v != "TLS 1.0" {
		t.Fatalf("version %q\n%s", v, out)
	}
	var summary string
	for _, f := range array(t, o, "findings") {
		if str(t, f, "code") == "keylog_unsupported" {
			summary = str(t, f, "summary")
		}
	}
	if !strings.Contains(summary, "TLS 1.0") {
		t.Errorf("no keylog_unsupported finding naming TLS 1.0: %v", findingCodes(t, o))
	}
}

// opensslPKI starts the tests that run openssl s_server: the binary (the
// test is skipped without it), a directory for the files, a PKI made with
// o (at the time of the test unless o.Now is set): its root as a PEM file
// and s_server's -cert, -cert_chain and -key arguments for its leaf.
func opensslPKI(t *testing.T, o pcaptest.PKIOptions) (openssl string, d rcDir, rootPEM string, certArgs []string) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl binary")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	d = newRCDir(t)
	pki, err := pcaptest.NewPKI(o)
	if err != nil {
		t.Fatal(err)
	}
	rootPEM = d.write("root.pem", pcaptest.PEM(pki.Root))
	certArgs = []string{"-cert", d.write("leaf.pem", pcaptest.PEM(pki.Leaf)), "-cert_chain", d.write("chain.pem", pcaptest.PEM(pki.Intermediate)),
		"-key", d.key("key.pem", pki.LeafKey)}
	return openssl, d, rootPEM, certArgs
}
