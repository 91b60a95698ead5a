package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestWeakCertificateRealClients serves a leaf with an RSA-1024 key,
// issued by the test PKI's intermediate, from a Go server capped at TLS
// 1.2 (so the chain is in the clear) to real clients through a relay on
// loopback. Java 17 and Go accept a 1024-bit key: the connection is ok
// and weak_key only warns. curl (OpenSSL 3 at security level 2) rejects
// it with "EE certificate key too weak": the tool says the client
// rejected the certificate because it is weak, and weak_key is an error.
// Each client missing from the machine skips its subtest.
func TestWeakCertificateRealClients(t *testing.T) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: time.Now(), Leaf: pcaptest.LeafOptions{Key: pcaptest.RSA1024}})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := pki.Leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 1024 {
		t.Fatalf("leaf key %T, want RSA-1024", pki.Leaf.PublicKey)
	}
	if err := pki.Leaf.CheckSignatureFrom(pki.Intermediate); err != nil {
		t.Fatalf("the leaf is not issued by the intermediate: %v", err)
	}
	backend := goHTTPSServer(t, pki.TLSCertificate(pcaptest.ChainLeafIntermediate), tls.VersionTLS12)

	// weakKey checks the one weak_key finding the record has and its severity.
	weakKey := func(t *testing.T, o obj, severity string) {
		t.Helper()
		var n int
		for _, f := range array(t, o, "findings") {
			if str(t, f, "code") != "weak_key" {
				continue
			}
			n++
			if s := str(t, f, "severity"); s != severity {
				t.Errorf("weak_key has severity %q, want %s: %v", s, severity, f)
			}
		}
		if n != 1 {
			t.Errorf("%d weak_key findings, want 1: %v", n, findingCodes(t, o))
		}
	}

	t.Run("Java accepts it", func(t *testing.T) {
		d := newRCDir(t)
		rootPEM := d.write("root.pem", pcaptest.PEM(pki.Root))
		rec := startCloseRecorder(t, backend)
		_, port, _ := net.SplitHostPort(rec.addr)
		out, ok := runJava(t, d, "https://"+pcaptest.DefaultServerName+":"+port+"/", []*x509.Certificate{pki.Root},
			"127.0.0.1 "+pcaptest.DefaultServerName+"\n")
		if !ok {
			t.Fatalf("java failed:\n%s", out)
		}
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, rootPEM, rcWant{verdict: "ok", stack: "java"}, out)
		weakKey(t, o, "warning")
	})

	t.Run("curl rejects it", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("no curl binary")
		}
		d := newRCDir(t)
		rootPEM := d.write("root.pem", pcaptest.PEM(pki.Root))
		rec := startCloseRecorder(t, backend)
		_, port, _ := net.SplitHostPort(rec.addr)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		outb, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "10", "--cacert", rootPEM,
			"--resolve", pcaptest.DefaultServerName+":"+port+":127.0.0.1", "https://"+pcaptest.DefaultServerName+":"+port+"/").CombinedOutput()
		out := string(outb)
		if err == nil {
			t.Fatalf("curl accepted an RSA-1024 leaf:\n%s", out)
		}
		if !strings.Contains(out, "EE certificate key too weak") {
			t.Errorf("curl did not say the key is too weak:\n%s", out)
		}
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, rootPEM, rcWant{verdict: "client_rejected_certificate", cause: "weak_certificate", stack: "openssl", app: "curl"}, out)
		weakKey(t, o, "error")
		if a := str(t, clientAlert(t, o), "description"); a != "bad_certificate" {
			t.Errorf("client alert %q, want bad_certificate", a)
		}
	})

	t.Run("Go client accepts it", func(t *testing.T) {
		d := newRCDir(t)
		rootPEM := d.write("root.pem", pcaptest.PEM(pki.Root))
		rec := startCloseRecorder(t, backend)
		var dialer net.Dialer
		client := &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{ServerName: pcaptest.DefaultServerName, RootCAs: pki.RootPool()},
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return dialer.DialContext(ctx, "tcp", rec.addr)
				},
				DisableKeepAlives: true,
			},
		}
		resp, err := client.Get("https://" + pcaptest.DefaultServerName + "/")
		if err != nil {
			t.Fatalf("the Go client rejected an RSA-1024 leaf: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d body %q: %v", resp.StatusCode, body, err)
		}
		out := resp.Status + "\n" + string(body)
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, rootPEM, rcWant{verdict: "ok", stack: "go"}, out)
		weakKey(t, o, "warning")
	})
}
