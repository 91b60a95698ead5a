package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// rcDir is a temporary directory the real-client tests write their PKI
// files, programs and truststores to.
type rcDir struct {
	t   *testing.T
	dir string
}

func newRCDir(t *testing.T) rcDir { return rcDir{t, t.TempDir()} }

func (d rcDir) write(name string, b []byte) string {
	d.t.Helper()
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		d.t.Fatal(err)
	}
	return p
}

func (d rcDir) key(name string, k crypto.Signer) string {
	d.t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		d.t.Fatal(err)
	}
	return d.write(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// goHTTPSServer serves "ok" over TLS on 127.0.0.1 with cert; max, if not
// zero, is the highest version it accepts. It returns the address. The
// tests pass tls.VersionTLS12 where the tool must see the certificates:
// TLS 1.3 encrypts them and the tests give no key log.
func goHTTPSServer(t *testing.T, cert tls.Certificate, max uint16) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "ok\n")
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: max})
	go srv.Serve(tl)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// rcCapture frames a recorded conversation as seen between server (the
// address the client dialled, the relay's) and a loopback client, at the
// current time, and writes it to a pcap file.
func rcCapture(t *testing.T, conv *pcaptest.Conversation, server string) string {
	t.Helper()
	ap, err := netip.ParseAddrPort(server)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{Start: time.Now(), Server: ap, Client: netip.MustParseAddrPort("127.0.0.1:43210")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "realclient.pcap", buf.Bytes())
}

// rcWant is what the tool should say about a real client's connection.
type rcWant struct {
	verdict, cause string
	stack, app     string // client_stack name and app; "" not checked
	clientError    string // exact client_error; "" not checked
}

// rcCheck runs the command on capture with truststore and checks it says
// want; out is the client's output, shown on failure.
func rcCheck(t *testing.T, capture, truststore string, want rcWant, out string) obj {
	t.Helper()
	code := 1
	if want.verdict == "ok" {
		code = 0
	}
	r := tlstriage(t, nil, "-r", capture, "--truststore", truststore, "--json")
	if r.code != code {
		t.Fatalf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s\nclient:\n%s", r.code, code, r.stdout, r.stderr, out)
	}
	objs := ndjson(t, r.stdout)
	if len(objs) != 1 {
		t.Fatalf("%d connections, want 1:\n%s\nclient:\n%s", len(objs), r.stdout, out)
	}
	o := objs[0]
	cs, _ := o["client_stack"].(obj)
	ce, _ := o["client_error"].(string)
	bad := str(t, o, "verdict") != want.verdict || (want.verdict != "ok" && str(t, o, "cause") != want.cause) ||
		(want.stack != "" && cs["name"] != want.stack) || (want.app != "" && cs["app"] != want.app) ||
		(want.clientError != "" && ce != want.clientError)
	if bad {
		t.Errorf("verdict %q cause %v client_stack %v client_error %q\nwant %+v\n  %v\n  %v\nfindings %v\nclient:\n%s",
			str(t, o, "verdict"), o["cause"], cs, ce, want, o["verdict_detail"], o["cause_detail"], findingCodes(t, o), out)
	}
	return o
}

// javaGet is a single-file Java program that GETs its argument.
const javaGet = `import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;

public class Get {
    public static void main(String[] args) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        try (InputStream in = c.getInputStream()) {
            in.readAllBytes();
        }
        System.out.println("status " + c.getResponseCode());
    }
}
`

// java runs Get.java against url with the certificates in trust as its
// truststore (a JKS made by keytool) and hosts as its hosts file ("" for
// the system resolver). It returns the combined output and whether Java
// exited successfully.
func runJava(t *testing.T, d rcDir, url string, trust []*x509.Certificate, hosts string) (string, bool) {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("no java binary")
	}
	keytool, err := exec.LookPath("keytool")
	if err != nil {
		t.Skip("no keytool binary")
	}
	jks := filepath.Join(d.dir, "trust.jks")
	for i, c := range trust {
		pemFile := d.write(fmt.Sprintf("jks-%d.pem", i), pcaptest.PEM(c))
		out, err := exec.CommandContext(t.Context(), keytool, "-importcert", "-noprompt", "-storepass", "changeit", "-storetype", "JKS",
			"-keystore", jks, "-alias", fmt.Sprintf("ca%d", i), "-file", pemFile).CombinedOutput()
		if err != nil {
			t.Fatalf("keytool: %v\n%s", err, out)
		}
	}
	src := d.write("Get.java", []byte(javaGet))
	args := []string{"-Djavax.net.ssl.trustStore=" + jks, "-Djavax.net.ssl.trustStorePassword=changeit", "-Djavax.net.ssl.trustStoreType=JKS"}
	if hosts != "" {
		args = append(args, "-Djdk.net.hosts.file="+d.write("hosts", []byte(hosts)))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, append(args, src, url)...).CombinedOutput()
	return string(out), err == nil
}

// expiredRootChain returns a root that expired yesterday, a valid
// intermediate it issued and a valid leaf for backend.example.test.
func expiredRootChain(t *testing.T, now time.Time) (root, inter, leaf *x509.Certificate, leafKey crypto.Signer) {
	t.Helper()
	mk := func(tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if parent == nil {
			parent, parentKey = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	ca := func(serial int64, name string, nb, na time.Time, pathLen int) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name, Organization: []string{"tlstriage test"}},
			NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true, IsCA: true, MaxPathLen: pathLen, MaxPathLenZero: pathLen == 0}
	}
	root, rootKey := mk(ca(0x7e01, "tlstriage Expired Root CA", now.AddDate(-10, 0, 0), now.AddDate(0, 0, -1), 1), nil, nil)
	inter, interKey := mk(ca(0x7e02, pcaptest.DefaultIntermediateName, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0), 0), root, rootKey)
	leaf, leafKey = mk(&x509.Certificate{SerialNumber: big.NewInt(0x7e03), Subject: pkix.Name{CommonName: pcaptest.DefaultServerName},
		DNSNames: []string{pcaptest.DefaultServerName}, NotBefore: now.AddDate(0, 0, -7), NotAfter: now.AddDate(0, 3, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, inter, interKey)
	return root, inter, leaf, leafKey
}

// TestRealClients runs real TLS clients (Java, openssl s_client, curl,
// Node, Go) on 127.0.0.1 through a relay that records the bytes and the
// closes, frames what it recorded as a capture and checks the verdict,
// the cause, the client stack and the line the client logs. Each client
// missing from the machine skips its subtest.
func TestRealClients(t *testing.T) {
	now := time.Now()

	t.Run("Java, IP-literal URL, DNS SAN only", func(t *testing.T) {
		d := newRCDir(t)
		pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		rec := startCloseRecorder(t, goHTTPSServer(t, pki.TLSCertificate(pcaptest.ChainLeafIntermediate), tls.VersionTLS12))
		out, ok := runJava(t, d, "https://"+rec.addr+"/", []*x509.Certificate{pki.Root}, "")
		if ok {
			t.Fatalf("java connected:\n%s", out)
		}
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, d.write("root.pem", pcaptest.PEM(pki.Root)), rcWant{
			verdict: "client_rejected_certificate", cause: "hostname_mismatch", stack: "java",
			clientError: "java.security.cert.CertificateException: No subject alternative names matching IP address 127.0.0.1 found",
		}, out)
		// Java prints it as the cause: "Caused by: java.security.cert.CertificateException: ...".
		if ce, _ := o["client_error"].(string); ce == "" || !strings.Contains(out, ce) {
			t.Errorf("client_error %q is not what Java printed:\n%s", ce, out)
		}
	})

	t.Run("openssl s_client and curl, truststore holds only the intermediate", func(t *testing.T) {
		d := newRCDir(t)
		pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		interPEM := d.write("intermediate.pem", pcaptest.PEM(pki.Intermediate))
		backend := goHTTPSServer(t, pki.TLSCertificate(pcaptest.ChainLeafIntermediate), tls.VersionTLS12)

		t.Run("s_client", func(t *testing.T) {
			openssl, err := exec.LookPath("openssl")
			if err != nil {
				t.Skip("no openssl binary")
			}
			rec := startCloseRecorder(t, backend)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			cli := exec.CommandContext(ctx, openssl, "s_client", "-connect", rec.addr, "-servername", pcaptest.DefaultServerName,
				"-verify_return_error", "-CAfile", interPEM)
			cli.Stdin = strings.NewReader("")
			outb, err := cli.CombinedOutput()
			out := string(outb)
			if err == nil {
				t.Fatalf("s_client succeeded:\n%s", out)
			}
			capture := rcCapture(t, rec.conversation(t), rec.addr)
			o := rcCheck(t, capture, interPEM, rcWant{
				verdict: "client_rejected_certificate", cause: "truststore_missing_root", stack: "openssl", app: "s_client",
				clientError: "verify error:num=2:unable to get issuer certificate",
			}, out)
			if ce, _ := o["client_error"].(string); ce == "" || !strings.Contains(out, ce) {
				t.Errorf("client_error %q is not what s_client printed:\n%s", ce, out)
			}
		})

		t.Run("curl, partial chain", func(t *testing.T) {
			curl, err := exec.LookPath("curl")
			if err != nil {
				t.Skip("no curl binary")
			}
			rec := startCloseRecorder(t, backend)
			_, port, _ := net.SplitHostPort(rec.addr)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			outb, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "10", "--cacert", interPEM,
				"--resolve", pcaptest.DefaultServerName+":"+port+":127.0.0.1", "https://"+pcaptest.DefaultServerName+":"+port+"/").CombinedOutput()
			out := string(outb)
			if err != nil {
				t.Fatalf("curl failed: %v\n%s", err, out)
			}
			capture := rcCapture(t, rec.conversation(t), rec.addr)
			rcCheck(t, capture, interPEM, rcWant{verdict: "ok", stack: "openssl", app: "curl"}, out)
		})
	})

	t.Run("curl against a TLS 1.1 openssl s_server", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("no curl binary")
		}
		openssl, _, rootPEM, certArgs := opensslPKI(t, pcaptest.PKIOptions{Now: now})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		addr, srvOut, started := startSServer(t, ctx, openssl, append(append([]string{"-naccept", "1", "-www"}, certArgs...), "-tls1_1", "-cipher", "ALL:@SECLEVEL=0")...)
		if !started {
			t.Skipf("openssl s_server -tls1_1 did not start:\n%s", srvOut)
		}
		rec := startCloseRecorder(t, addr)
		_, rport, _ := net.SplitHostPort(rec.addr)
		outb, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "10", "--cacert", rootPEM,
			"--resolve", pcaptest.DefaultServerName+":"+rport+":127.0.0.1", "https://"+pcaptest.DefaultServerName+":"+rport+"/").CombinedOutput()
		out := string(outb) + "\ns_server:\n" + srvOut.String()
		if err == nil {
			t.Fatalf("curl connected over TLS 1.1:\n%s", out)
		}
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, rootPEM, rcWant{verdict: "client_rejected_certificate", cause: "protocol_mismatch", stack: "openssl", app: "curl"}, out)
		if v := str(t, o, "version"); v != "TLS 1.1" {
			t.Errorf("version %q, want TLS 1.1", v)
		}
		// curl names OpenSSL's full version (OpenSSL/3.0.19); the
		// ClientHello tells only the series, so the tool says OpenSSL/3.0.
		openSSLVersion := regexp.MustCompile(`OpenSSL/[0-9.]+`)
		if ce, _ := o["client_error"].(string); ce == "" || !strings.Contains(openSSLVersion.ReplaceAllString(out, "OpenSSL/x"), openSSLVersion.ReplaceAllString(ce, "OpenSSL/x")) {
			t.Errorf("client_error %q is not what curl printed:\n%s", ce, out)
		}
	})

	t.Run("Node, TLS 1.2, truststore without the root", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("no node binary")
		}
		d := newRCDir(t)
		pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := pcaptest.NewOtherRoot(now)
		if err != nil {
			t.Fatal(err)
		}
		otherPEM := d.write("other.pem", pcaptest.PEM(other))
		rec := startCloseRecorder(t, goHTTPSServer(t, pki.TLSCertificate(pcaptest.ChainLeafIntermediate), tls.VersionTLS12))
		_, port, _ := net.SplitHostPort(rec.addr)
		const script = `const https = require('https'), fs = require('fs');
const req = https.get({host: '127.0.0.1', port: +process.env.PORT, servername: process.env.SNI, path: '/', ca: fs.readFileSync(process.env.CA)}, res => {
  console.log('status ' + res.statusCode); res.resume();
});
req.on('error', e => { console.error('code=' + e.code + ' message=' + e.message); process.exit(1); });
req.setTimeout(10000, () => req.destroy(new Error('timeout')));`
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "-e", script)
		cmd.Env = append(os.Environ(), "PORT="+port, "SNI="+pcaptest.DefaultServerName, "CA="+otherPEM)
		outb, err := cmd.CombinedOutput()
		out := string(outb)
		if err == nil {
			t.Fatalf("node connected:\n%s", out)
		}
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		o := rcCheck(t, capture, otherPEM, rcWant{
			verdict: "client_rejected_certificate", cause: "truststore_missing_root", stack: "openssl", app: "node",
			clientError: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY: unable to get local issuer certificate",
		}, out)
		ce, _ := o["client_error"].(string)
		code, msg, _ := strings.Cut(ce, ": ")
		if ce == "" || !strings.Contains(out, "code="+code+" message="+msg) {
			t.Errorf("client_error %q is not node's err.code and message:\n%s", ce, out)
		}
	})

	t.Run("Go client, CN-only leaf", func(t *testing.T) {
		d := newRCDir(t)
		pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: now, Leaf: pcaptest.LeafOptions{CNOnly: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(pki.Leaf.DNSNames) != 0 || pki.Leaf.Subject.CommonName != pcaptest.DefaultServerName {
			t.Fatalf("leaf names %v CN %q", pki.Leaf.DNSNames, pki.Leaf.Subject.CommonName)
		}
		rec := startCloseRecorder(t, goHTTPSServer(t, pki.TLSCertificate(pcaptest.ChainLeafIntermediate), tls.VersionTLS12))
		c, err := tls.Dial("tcp", rec.addr, &tls.Config{ServerName: pcaptest.DefaultServerName, RootCAs: pki.RootPool()})
		if err == nil {
			c.Close()
			t.Fatal("the Go client accepted a CN-only leaf")
		}
		out := err.Error()
		capture := rcCapture(t, rec.conversation(t), rec.addr)
		rootPEM := d.write("root.pem", pcaptest.PEM(pki.Root))
		o := rcCheck(t, capture, rootPEM, rcWant{verdict: "client_rejected_certificate", cause: "hostname_mismatch", stack: "go",
			clientError: "tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead"}, out)
		if ce, _ := o["client_error"].(string); ce != out {
			t.Errorf("client_error %q, the Go client said %q", ce, out)
		}
		r := tlstriage(t, nil, "-r", capture, "--truststore", rootPEM)
		if m := regexp.MustCompile(`(?m)^.*Name:.*\bok\b.*$`).FindString(r.stdout); m != "" {
			t.Errorf("the text report says the name is ok: %q\n%s", m, r.stdout)
		}
		if !regexp.MustCompile(`(?m)^\s*Name: .*mismatch`).MatchString(r.stdout) {
			t.Errorf("the text report has no Name line saying mismatch:\n%s", r.stdout)
		}
	})

	t.Run("expired root in the truststore", func(t *testing.T) {
		d := newRCDir(t)
		root, inter, leaf, leafKey := expiredRootChain(t, now)
		rootPEM := d.write("root.pem", pcaptest.PEM(root))
		cert := tls.Certificate{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey, Leaf: leaf}
		backend := goHTTPSServer(t, cert, tls.VersionTLS12)

		t.Run("curl rejects it", func(t *testing.T) {
			curl, err := exec.LookPath("curl")
			if err != nil {
				t.Skip("no curl binary")
			}
			rec := startCloseRecorder(t, backend)
			_, port, _ := net.SplitHostPort(rec.addr)
			outb, err := exec.CommandContext(t.Context(), curl, "-sS", "--max-time", "10", "--cacert", rootPEM,
				"--resolve", pcaptest.DefaultServerName+":"+port+":127.0.0.1", "https://"+pcaptest.DefaultServerName+":"+port+"/").CombinedOutput()
			out := string(outb)
			if err == nil {
				t.Fatalf("curl accepted an expired root:\n%s", out)
			}
			capture := rcCapture(t, rec.conversation(t), rec.addr)
			o := rcCheck(t, capture, rootPEM, rcWant{verdict: "client_rejected_certificate", cause: "expired", stack: "openssl", app: "curl"}, out)
			detail := fmt.Sprint(o["cause_detail"], " ", o["verdict_detail"])
			if !strings.Contains(detail, root.Subject.CommonName) {
				t.Errorf("the cause does not name the expired anchor %q: %s", root.Subject.CommonName, detail)
			}
			if ce, _ := o["client_error"].(string); ce == "" || !strings.Contains(out, ce) {
				t.Errorf("client_error %q is not what curl printed:\n%s", ce, out)
			}
		})

		t.Run("Java accepts it", func(t *testing.T) {
			rec := startCloseRecorder(t, backend)
			_, port, _ := net.SplitHostPort(rec.addr)
			out, ok := runJava(t, d, "https://"+pcaptest.DefaultServerName+":"+port+"/", []*x509.Certificate{root},
				"127.0.0.1 "+pcaptest.DefaultServerName+"\n")
			if !ok {
				t.Fatalf("java failed:\n%s", out)
			}
			capture := rcCapture(t, rec.conversation(t), rec.addr)
			o := rcCheck(t, capture, rootPEM, rcWant{verdict: "ok", stack: "java"}, out)
			var found bool
			for _, f := range array(t, o, "findings") {
				if str(t, f, "code") == "anchor_expired" {
					found = true
					if s := str(t, f, "severity"); s != "warning" {
						t.Errorf("anchor_expired has severity %q, want warning", s)
					}
				}
			}
			if !found {
				t.Errorf("no anchor_expired finding: %v", findingCodes(t, o))
			}
		})
	})
}
