package clientstack

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// helloCatcher accepts one connection on 127.0.0.1, reads the client's
// first handshake message (the ClientHello, across records if need be)
// and closes without answering.
func helloCatcher(t *testing.T) (addr string, hello <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan []byte, 1)
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var msg []byte
		for len(msg) < 4 || len(msg) < 4+int(uint32(msg[1])<<16|uint32(msg[2])<<8|uint32(msg[3])) {
			var hdr [5]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 22 {
				return
			}
			rec := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
			if _, err := io.ReadFull(c, rec); err != nil {
				return
			}
			msg = append(msg, rec...)
		}
		ch <- msg[:4+int(uint32(msg[1])<<16|uint32(msg[2])<<8|uint32(msg[3]))]
	}()
	return ln.Addr().String(), ch
}

// TestIdentifyLive runs the clients installed on this machine against a
// loopback listener and checks that Identify names the stack (and the
// application, where it tells one) of the ClientHello each one sends: the
// committed samples, taken again from whatever versions are installed.
// A client that is not installed skips its subtest.
func TestIdentifyLive(t *testing.T) {
	javaSrc := filepath.Join(t.TempDir(), "Hello.java")
	if err := os.WriteFile(javaSrc, []byte(`public class Hello {
    public static void main(String[] a) throws Exception {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL(a[0]).openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        c.getInputStream();
    }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const nodeScript = `require('https').get({host: '127.0.0.1', port: +process.argv[1], servername: 'backend.example.test', timeout: 5000}, () => {}).on('error', () => {});`
	const pyScript = `import sys, urllib.request
try:
    urllib.request.urlopen("https://127.0.0.1:" + sys.argv[1] + "/", timeout=5)
except Exception:
    pass`

	for _, tc := range []struct {
		name  string
		bin   string
		args  func(addr, port string) []string
		stack Name
		app   App // "" not checked
	}{
		{"curl", "curl", func(addr, port string) []string {
			return []string{"-sS", "--max-time", "5", "--resolve", "backend.example.test:" + port + ":127.0.0.1", "https://backend.example.test:" + port + "/"}
		}, OpenSSL, AppCurl},
		{"openssl s_client", "openssl", func(addr, port string) []string {
			return []string{"s_client", "-connect", addr, "-servername", "backend.example.test"}
		}, OpenSSL, AppSClient},
		{"node https.get", "node", func(addr, port string) []string { return []string{"-e", nodeScript, port} }, OpenSSL, AppNode},
		{"python3 urllib", "python3", func(addr, port string) []string { return []string{"-c", pyScript, port} }, OpenSSL, ""},
		{"java HttpsURLConnection", "java", func(addr, port string) []string {
			return []string{javaSrc, "https://" + addr + "/"}
		}, Java, ""},
		{"gnutls-cli", "gnutls-cli", func(addr, port string) []string {
			return []string{"--insecure", "--port", port, "127.0.0.1"}
		}, GnuTLS, ""},
		{"Go crypto/tls", "", nil, Go, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, hello := helloCatcher(t)
			_, port, _ := net.SplitHostPort(addr)
			if tc.bin == "" {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "backend.example.test"})
				if err == nil {
					c.Close()
				}
			} else {
				bin, err := exec.LookPath(tc.bin)
				if err != nil {
					t.Skipf("no %s binary", tc.bin)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, tc.args(addr, port)...)
				out, _ := cmd.CombinedOutput()
				defer func() {
					if t.Failed() {
						t.Logf("%s output:\n%s", tc.bin, out)
					}
				}()
			}
			var msg []byte
			select {
			case msg = <-hello:
			case <-time.After(30 * time.Second):
			}
			if msg == nil {
				t.Fatal("no ClientHello received")
			}
			ch, err := tlsparse.ParseClientHello(msg)
			if err != nil {
				t.Fatal(err)
			}
			got := Identify(ch)
			if got.Name != tc.stack || (tc.app != "" && got.App != tc.app) {
				t.Errorf("Identify = %s, want %s (app %q)\nevidence: %s", got, tc.stack, tc.app, got.Evidence)
			}
			if got.Evidence == "" {
				t.Error("no evidence")
			}
			t.Logf("%s: %s", tc.name, got)
		})
	}
}
