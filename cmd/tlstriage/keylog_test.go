package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"sync"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// keyedPKI is the PKI of the key log tests, with a root no client trusts.
var keyedPKI = sync.OnceValues(func() (*pcaptest.PKI, error) { return pcaptest.NewPKI(pcaptest.PKIOptions{}) })

// keyedCapture records a real crypto/tls conversation with the client's
// key log (SSLKEYLOGFILE) and writes the pcap, the key log and the PEM
// truststores of the PKI (root.pem, other.pem) to a test directory.
type keyedCapture struct {
	pcap, keylog, root, other string
	conv                      *pcaptest.Conversation
	pkts                      []pcaptest.Packet
}

func newKeyedCapture(t *testing.T, o pcaptest.TLSOptions) *keyedCapture {
	t.Helper()
	pki, err := keyedPKI()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pcaptest.NewOtherRoot(pki.Now)
	if err != nil {
		t.Fatal(err)
	}
	o.PKI, o.KeyLog = pki, true
	if o.ClientRoots == nil {
		o.ClientRoots = pki.RootPool()
	}
	conv, err := pcaptest.Record(o)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	return &keyedCapture{
		pcap: writeTemp(t, "c.pcap", buf.Bytes()), keylog: writeTemp(t, "keys.txt", conv.KeyLog),
		root: writeTemp(t, "root.pem", pcaptest.PEM(pki.Root)), other: writeTemp(t, "other.pem", pcaptest.PEM(other)),
		conv: conv, pkts: pkts,
	}
}

// findingCodes lists the codes of a record's findings.
func findingCodes(t *testing.T, o obj) []string {
	var codes []string
	for _, f := range array(t, o, "findings") {
		codes = append(codes, str(t, f, "code"))
	}
	return codes
}

func hasFinding(t *testing.T, o obj, code, severity string) obj {
	t.Helper()
	for _, f := range array(t, o, "findings") {
		if str(t, f, "code") == code && (severity == "" || str(t, f, "severity") == severity) {
			return f
		}
	}
	t.Errorf("no %s finding %q in %v", severity, code, findingCodes(t, o))
	return nil
}

// clientAlert returns the one alert the client sent.
func clientAlert(t *testing.T, o obj) obj {
	t.Helper()
	var out obj
	for _, a := range array(t, o, "alerts") {
		if str(t, a, "from") == "client" {
			if out != nil {
				t.Fatalf("two client alerts: %v", array(t, o, "alerts"))
			}
			out = a
		}
	}
	if out == nil {
		t.Fatalf("no client alert in %v", array(t, o, "alerts"))
	}
	return out
}

// TestKeyLogTLS13 runs the command on real TLS 1.3 handshakes with the
// client's key log: the chain, the client's alert and the diagnosis come
// out as for TLS 1.2, where the same capture without the key log can only
// say the client aborted.
func TestKeyLogTLS13(t *testing.T) {
	none := x509.NewCertPool()
	for _, tc := range []struct {
		name          string
		o             pcaptest.TLSOptions
		trust         string // "root" or "other"
		code          int
		verdict       string
		cause         string
		alertFrom     string // "client" or "server": the decrypted alert that ended it
		alert         string
		withoutKeyLog string // the verdict without the key log
	}{
		{name: "ok", o: pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, AppData: true, Close: pcaptest.CloseClientFirst},
			trust: "root", verdict: "ok", withoutKeyLog: "ok"},
		{name: "client rejects the chain", o: pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: none, Close: pcaptest.CloseClientFirst},
			trust: "other", code: 1, verdict: "client_rejected_certificate", cause: "truststore_missing_root", alertFrom: "client", alert: "bad_certificate",
			withoutKeyLog: "client_aborted_after_server_flight"},
		{name: "hostname mismatch", o: pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ServerName: "api.example.test", Close: pcaptest.CloseClientFirst},
			trust: "root", code: 1, verdict: "client_rejected_certificate", cause: "hostname_mismatch", alertFrom: "client", alert: "bad_certificate",
			withoutKeyLog: "client_aborted_after_server_flight"},
		{name: "client certificate required", o: pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientAuth: tls.RequireAnyClientCert, Close: pcaptest.CloseServerFirst},
			trust: "root", code: 1, verdict: "client_cert_rejected", cause: "client_cert_required", alertFrom: "server", alert: "certificate_required",
			withoutKeyLog: "client_cert_rejected"},
		{name: "HelloRetryRequest, client rejects the chain", o: pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: none,
			ServerCurves: []tls.CurveID{tls.CurveP256}, Close: pcaptest.CloseClientFirst},
			trust: "other", code: 1, verdict: "client_rejected_certificate", cause: "truststore_missing_root", alertFrom: "client", alert: "bad_certificate",
			withoutKeyLog: "client_aborted_after_server_flight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := newKeyedCapture(t, tc.o)
			trust := kc.root
			if tc.trust == "other" {
				trust = kc.other
			}
			// Without the key log: the chain is hidden.
			o := runJSON(t, tc.code, "-r", kc.pcap, "--truststore", trust)[0]
			if got := str(t, o, "verdict"); got != tc.withoutKeyLog {
				t.Errorf("without the key log: verdict %q, want %q", got, tc.withoutKeyLog)
			}
			if !boolean(t, o, "chain_hidden") || len(array(t, o, "chain")) != 0 {
				t.Errorf("without the key log the chain is shown")
			}
			if tc.code != 0 && tc.alertFrom == "client" {
				fix := str(t, o, "fix")
				if str(t, o, "cause") != "unknown" || !strings.Contains(fix, "--keylog") || !strings.Contains(fix, "tlstriage probe 10.0.0.2:443 --sni ") {
					t.Errorf("without the key log: cause %q, fix %q: want unknown, and --keylog and tlstriage probe", str(t, o, "cause"), fix)
				}
			}

			o = runJSON(t, tc.code, "-r", kc.pcap, "--truststore", trust, "--keylog", kc.keylog)[0]
			if str(t, o, "verdict") != tc.verdict || str(t, o, "cause") != tc.cause {
				t.Errorf("verdict %q cause %q, want %q %q\n  %s\n  %s", str(t, o, "verdict"), str(t, o, "cause"), tc.verdict, tc.cause,
					str(t, o, "verdict_detail"), str(t, o, "cause_detail"))
			}
			if boolean(t, o, "chain_hidden") || len(array(t, o, "chain")) != 2 || str(t, array(t, o, "chain")[0], "sha256") == "" {
				t.Errorf("chain hidden %v, %d certificates: want the 2 the server sent", boolean(t, o, "chain_hidden"), len(array(t, o, "chain")))
			}
			if _, ok := object(t, o, "frames")["certificate"]; !ok {
				t.Errorf("no certificate frame: %v", object(t, o, "frames"))
			}
			hasFinding(t, o, "decrypted", "info")
			if tc.alert != "" {
				var a obj
				if tc.alertFrom == "client" {
					a = clientAlert(t, o)
				} else {
					for _, x := range array(t, o, "alerts") {
						if str(t, x, "from") == "server" && str(t, x, "level") == "fatal" {
							a = x
						}
					}
				}
				if a == nil || str(t, a, "description") != tc.alert || boolean(t, a, "encrypted") || a["decrypted"] != true {
					t.Errorf("alert %v, want a decrypted %s from the %s", a, tc.alert, tc.alertFrom)
				}
			}
			if tc.verdict == "client_rejected_certificate" && !strings.Contains(str(t, o, "verdict_detail"), "decrypted with the key log") {
				t.Errorf("verdict detail %q does not say the evidence was decrypted", str(t, o, "verdict_detail"))
			}
			if tc.o.ServerCurves != nil && !boolean(t, o, "hello_retry_request") {
				t.Error("no HelloRetryRequest")
			}
			// The text report shows the decrypted chain and marks what was decrypted.
			r := tlstriage(t, nil, "-r", kc.pcap, "--truststore", trust, "--keylog", kc.keylog, "-v")
			if !strings.Contains(r.stdout, "Certificate  2 certificates  (decrypted)") || strings.Contains(r.stdout, "Chain: encrypted") {
				t.Errorf("text report:\n%s", r.stdout)
			}
		})
	}
}

// TestKeyLogPcapngSecrets: the key log inside a pcapng's Decryption Secrets
// Block is used without --keylog.
func TestKeyLogPcapngSecrets(t *testing.T) {
	kc := newKeyedCapture(t, pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), Close: pcaptest.CloseClientFirst})
	var buf bytes.Buffer
	if err := pcaptest.WritePcapngSecrets(&buf, []pcaptest.Interface{{Name: "eth0", LinkType: layers.LinkTypeEthernet, Packets: kc.pkts}}, kc.conv.KeyLog); err != nil {
		t.Fatal(err)
	}
	file := writeTemp(t, "dsb.pcapng", buf.Bytes())
	r := tlstriage(t, nil, "-r", file, "--truststore", kc.other, "--json")
	objs := ndjson(t, r.stdout)
	if r.code != 1 || len(objs) != 1 {
		t.Fatalf("exit %d, %d records; stderr %s", r.code, len(objs), r.stderr)
	}
	o := objs[0]
	if str(t, o, "verdict") != "client_rejected_certificate" || str(t, o, "cause") != "truststore_missing_root" || str(t, clientAlert(t, o), "description") != "bad_certificate" {
		t.Errorf("verdict %q cause %q alerts %v", str(t, o, "verdict"), str(t, o, "cause"), array(t, o, "alerts"))
	}
	if !strings.Contains(r.stderr, "dsb.pcapng: 2 TLS secrets read from the capture's decryption secrets blocks") {
		t.Errorf("stderr does not say the secrets were read:\n%s", r.stderr)
	}
}

// TestKeyLogMismatch: a key log for another session, and secrets changed
// so that the AEAD tag check fails, are reported per connection; the
// verdict stays what the capture alone shows.
func TestKeyLogMismatch(t *testing.T) {
	o := pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), Close: pcaptest.CloseClientFirst}
	kc := newKeyedCapture(t, o)
	another := newKeyedCapture(t, o) // the same scenario again: other randoms, other secrets

	rec := runJSON(t, 1, "-r", kc.pcap, "--truststore", kc.other, "--keylog", another.keylog)[0]
	if str(t, rec, "verdict") != "client_aborted_after_server_flight" || !boolean(t, rec, "chain_hidden") {
		t.Errorf("with another session's key log: verdict %q", str(t, rec, "verdict"))
	}
	hasFinding(t, rec, "keylog_no_secrets", "warning")
	if fix := str(t, rec, "fix"); !strings.Contains(fix, "has no secrets for this connection") {
		t.Errorf("fix %q", fix)
	}

	// The right client randoms with the other session's secrets.
	var mixed []string
	mine := strings.Fields(string(kc.conv.KeyLog))
	theirs := strings.Fields(string(another.conv.KeyLog))
	for i := 0; i+2 < len(mine); i += 3 {
		mixed = append(mixed, mine[i]+" "+mine[i+1]+" "+theirs[i+2])
	}
	wrong := writeTemp(t, "wrong.txt", []byte(strings.Join(mixed, "\n")+"\n"))
	rec = runJSON(t, 1, "-r", kc.pcap, "--truststore", kc.other, "--keylog", wrong)[0]
	if str(t, rec, "verdict") != "client_aborted_after_server_flight" || !boolean(t, rec, "chain_hidden") || len(array(t, rec, "chain")) != 0 {
		t.Errorf("with mismatching secrets: verdict %q, chain hidden %v", str(t, rec, "verdict"), boolean(t, rec, "chain_hidden"))
	}
	if f := hasFinding(t, rec, "keylog_mismatch", "error"); f != nil && !strings.Contains(str(t, f, "summary"), "do not decrypt the server's records") {
		t.Errorf("mismatch finding %q", str(t, f, "summary"))
	}
	for _, a := range array(t, rec, "alerts") {
		if a["decrypted"] == true {
			t.Errorf("an alert decrypted with the wrong keys: %v", a)
		}
	}
	if fix := str(t, rec, "fix"); !strings.Contains(fix, "does not match this connection") {
		t.Errorf("fix %q", fix)
	}
}

// TestKeyLogTLS12 decrypts TLS 1.2 alerts sent after ChangeCipherSpec:
// the client gives up right after the handshake with close_notify, the
// server answers; both are named.
func TestKeyLogTLS12(t *testing.T) {
	kc := newKeyedCapture(t, pcaptest.TLSOptions{MaxVersion: tls.VersionTLS12, CloseNotify: true, Close: pcaptest.CloseClientFirst})
	if !bytes.HasPrefix(kc.conv.KeyLog, []byte("CLIENT_RANDOM ")) {
		t.Fatalf("key log %q", kc.conv.KeyLog)
	}
	for _, withKeys := range []bool{false, true} {
		args := []string{"-r", kc.pcap, "--truststore", kc.root}
		if withKeys {
			args = append(args, "--keylog", kc.keylog)
		}
		o := runJSON(t, 0, args...)[0]
		alerts := array(t, o, "alerts")
		if len(alerts) != 2 {
			t.Fatalf("alerts %v", alerts)
		}
		for _, a := range alerts {
			if withKeys != (a["decrypted"] == true) || withKeys == boolean(t, a, "encrypted") {
				t.Errorf("key log %v: alert %v", withKeys, a)
			}
			if withKeys && (str(t, a, "description") != "close_notify" || str(t, a, "level") != "warning") {
				t.Errorf("alert %v, want warning close_notify", a)
			}
		}
		f := hasFinding(t, o, "closed_after_handshake", "")
		if withKeys && f != nil && !strings.Contains(str(t, f, "summary"), "close_notify") {
			t.Errorf("finding %q does not name the decrypted alert", str(t, f, "summary"))
		}
	}
}

// TestKeyLogErrors: an unreadable or foreign --keylog file is a usage
// error naming the file; stray lines are warned about; live capture does
// not take a key log.
func TestKeyLogErrors(t *testing.T) {
	if r := tlstriage(t, nil, "-i", "lo", "--keylog", "keys.txt"); r.code != 2 || !strings.Contains(r.stderr, "--keylog works on capture files only") {
		t.Errorf("live with --keylog: exit %d, stderr %q", r.code, r.stderr)
	}
	good := "CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 48) + "\n"
	for _, tc := range []struct {
		name, content string
		code          int
		stderr        string
	}{
		{"missing", "", 2, "tlstriage: error: --keylog open "},
		{"not a key log", "GET / HTTP/1.1\r\nHost: x\r\n", 2, "not an NSS key log"},
		{"stray lines", good + "garbage line\n", 0, "tlstriage: warning: --keylog "},
		{"empty", "\n", 0, "no secrets in the key log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/nope.txt"
			if tc.name != "missing" {
				path = writeTemp(t, "keys.txt", []byte(tc.content))
			}
			r := tlstriage(t, nil, "-r", pcap("tls12-ok.pcap"), "--keylog", path)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stderr, path) && tc.code == 2 {
				t.Errorf("exit %d, stderr %q: want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
}
