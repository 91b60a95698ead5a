package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestNullCipherAlerts runs openssl s_client against openssl s_server
// with TLS_RSA_WITH_NULL_SHA: after the ChangeCipherSpec the records are
// plaintext and a 20-byte MAC, so the closing close_notify alerts are read
// in the clear, as Wireshark reads them, not reported as encrypted.
func TestNullCipherAlerts(t *testing.T) {
	openssl, _, rootPEM, certArgs := opensslPKI(t, pcaptest.PKIOptions{Leaf: pcaptest.LeafOptions{Key: pcaptest.RSA2048}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const suite = "NULL-SHA:@SECLEVEL=0"
	addr, srvOut, started := startSServer(t, ctx, openssl, append(append([]string{"-naccept", "1"}, certArgs...), "-tls1_2", "-cipher", suite)...)
	if !started {
		t.Skipf("openssl s_server with %s did not start:\n%s", suite, srvOut)
	}
	rec := startCloseRecorder(t, addr)
	cli := exec.CommandContext(ctx, openssl, "s_client", "-connect", rec.addr, "-servername", pcaptest.DefaultServerName,
		"-CAfile", rootPEM, "-verify_return_error", "-tls1_2", "-cipher", suite)
	cli.Stdin = strings.NewReader("") // at once: close_notify
	outb, err := cli.CombinedOutput()
	out := string(outb) + "\ns_server:\n" + srvOut.String()
	if err != nil || !strings.Contains(out, "NULL-SHA") {
		t.Fatalf("s_client did not connect with NULL-SHA (%v):\n%s", err, out)
	}
	capture := rcCapture(t, rec.conversation(t), rec.addr)
	o := rcCheck(t, capture, rootPEM, rcWant{verdict: "ok"}, out)
	if c := str(t, o, "cipher"); c != "TLS_RSA_WITH_NULL_SHA" {
		t.Fatalf("cipher suite %q", c)
	}
	alerts, _ := o["alerts"].([]any)
	var clientClose bool
	for _, a := range alerts {
		a := a.(obj)
		if a["encrypted"] == true {
			t.Errorf("alert %v reported encrypted on a NULL cipher", a)
		}
		if a["from"] == "client" && a["level"] == "warning" && a["description"] == "close_notify" {
			clientClose = true
		}
	}
	if !clientClose {
		t.Errorf("no close_notify from the client in the clear: alerts %v\n%s", alerts, out)
	}
}
