package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestKeyLogOpenSSLRenegotiation decrypts a real OpenSSL TLS 1.2 session
// that renegotiates (openssl s_client reads "R" and starts a new handshake
// under the first keys), then exchanges a line and closes with
// close_notify. The key log holds two CLIENT_RANDOM lines: decryption
// follows the renegotiated handshake to the second master secret, so the
// closing alerts are read and nothing is reported as failed.
func TestKeyLogOpenSSLRenegotiation(t *testing.T) {
	openssl, d, rootPEM, certArgs := opensslPKI(t, pcaptest.PKIOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name   string
		server []string
		cipher string
	}{
		{"AES-128-GCM", []string{"-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		{"AES-256-CBC-SHA384", []string{"-cipher", "ECDHE-ECDSA-AES256-SHA384"}, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"-naccept", "1"}, certArgs...), "-tls1_2", "-client_renegotiation")
			addr, srvOut, started := startSServer(t, ctx, openssl, append(args, tc.server...)...)
			if !started {
				t.Fatalf("openssl s_server did not start:\n%s", srvOut)
			}
			rec := startCloseRecorder(t, addr)
			keylog := d.write("keys.txt", nil)
			cli := exec.CommandContext(ctx, openssl, "s_client", "-connect", rec.addr, "-servername", pcaptest.DefaultServerName,
				"-keylogfile", keylog, "-CAfile", rootPEM, "-verify_return_error", "-tls1_2")
			stdin, err := cli.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out := &lockedOutput{accept: make(chan struct{})}
			cli.Stdout, cli.Stderr = out, out
			if err := cli.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor := func(s string) {
				t.Helper()
				for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
					if strings.Count(out.String(), s) > 0 {
						return
					}
				}
				t.Fatalf("openssl s_client did not print %q:\n%s\nopenssl s_server:\n%s", s, out, srvOut)
			}
			waitFor("Verify return code")
			time.Sleep(100 * time.Millisecond)
			stdin.Write([]byte("R\n"))
			waitFor("RENEGOTIATING")
			time.Sleep(300 * time.Millisecond)
			stdin.Write([]byte("hello\n"))
			time.Sleep(200 * time.Millisecond)
			stdin.Close() // EOF: s_client sends close_notify and ends
			cli.Wait()
			capture := rcCapture(t, rec.conversation(t), rec.addr)
			keys := string(readFile(t, keylog))
			if n := strings.Count(keys, "CLIENT_RANDOM "); n != 2 {
				t.Fatalf("%d CLIENT_RANDOM lines in the key log, want 2 (one per handshake):\n%s\nopenssl s_client:\n%s", n, keys, out)
			}
			o := runJSON(t, 0, "-r", capture, "--keylog", keylog, "--truststore", rootPEM)[0]
			if str(t, o, "cipher") != tc.cipher || str(t, o, "verdict") != "ok" {
				t.Errorf("cipher %q verdict %q, want %q ok\n%s", str(t, o, "cipher"), str(t, o, "verdict"), tc.cipher, out)
			}
			for _, f := range array(t, o, "findings") {
				switch str(t, f, "code") {
				case "keylog_mismatch", "decryption_failed", "keylog_unsupported", "keylog_incomplete":
					t.Errorf("finding %s: %s", str(t, f, "code"), str(t, f, "summary"))
				}
			}
			if f := hasFinding(t, o, "decrypted", "info"); f != nil && !strings.Contains(str(t, f, "summary"), "1 renegotiation") {
				t.Errorf("decrypted finding %q does not count the renegotiation", str(t, f, "summary"))
			}
			// Both closing alerts are read, under the renegotiated keys.
			alerts := array(t, o, "alerts")
			if len(alerts) != 2 {
				t.Fatalf("alerts %v, want the two close_notify", alerts)
			}
			for _, a := range alerts {
				if str(t, a, "description") != "close_notify" || str(t, a, "level") != "warning" || a["decrypted"] != true || boolean(t, a, "encrypted") {
					t.Errorf("alert %v, want a decrypted warning close_notify", a)
				}
			}
			// The renegotiation's ChangeCipherSpec, encrypted under the
			// first keys, is named; its hellos do not replace the first.
			var innerCCS, hellos []string
			for _, e := range array(t, o, "timeline") {
				switch ev := str(t, e, "event"); {
				case ev == "ChangeCipherSpec" && e["decrypted"] == true:
					innerCCS = append(innerCCS, str(t, e, "from"))
				case strings.Contains(ev, "(renegotiation)"):
					hellos = append(hellos, str(t, e, "from")+" "+ev)
				}
			}
			if strings.Join(innerCCS, " ") != "client server" {
				t.Errorf("decrypted ChangeCipherSpec events from %v, want client and server", innerCCS)
			}
			if strings.Join(hellos, ", ") != "client Handshake client_hello (renegotiation), server Handshake server_hello (renegotiation)" {
				t.Errorf("renegotiation hellos %v", hellos)
			}
			if cf := object(t, o, "frames"); fmt.Sprint(cf["client_hello"]) != "4" {
				t.Errorf("client_hello frame %v, want the first ClientHello's (4)", cf["client_hello"])
			}

			// With the first handshake's secrets only, decryption stops
			// at the renegotiation, and says why.
			var firstLine string
			for _, l := range strings.Split(keys, "\n") {
				if strings.HasPrefix(l, "CLIENT_RANDOM ") {
					firstLine = l + "\n"
					break
				}
			}
			first := d.write("first.txt", []byte(firstLine))
			o = runJSON(t, 0, "-r", capture, "--keylog", first, "--truststore", rootPEM)[0]
			if f := hasFinding(t, o, "decryption_failed", "warning"); f != nil && !strings.Contains(str(t, f, "summary"), "the session renegotiated and the new keys are unknown: the key log has no CLIENT_RANDOM line") {
				t.Errorf("decryption_failed %q", str(t, f, "summary"))
			}
			hasFinding(t, o, "keylog_incomplete", "")
			for _, a := range array(t, o, "alerts") {
				if a["decrypted"] == true || !boolean(t, a, "encrypted") {
					t.Errorf("alert %v read without its keys", a)
				}
			}
		})
	}
}
