package clientstack

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// readHello reads a testdata/hello file: '# key: value' provenance lines,
// then the ClientHello handshake message in hex.
func readHello(t testing.TB, path string) (*tlsparse.ClientHello, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	var hx strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok && strings.HasPrefix(line, "#") {
			meta[k] = v
			continue
		}
		hx.WriteString(line)
	}
	raw, err := hex.DecodeString(hx.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ch, err := tlsparse.ParseClientHello(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ch, meta
}

// want is what Identify must say of each sample; the samples' provenance
// is in testdata/hello/README.md and in each file's header. Every file in
// testdata/hello must be listed.
var want = map[string]struct {
	name    Name
	version string
	app     App
}{
	"curl_7.88.1.hex":                         {OpenSSL, "3.0-3.4", AppCurl},
	"curl_7.88.1_http1.1.hex":                 {OpenSSL, "3.0-3.4", ""}, // ALPN http/1.1 only: urllib3 makes the same offer
	"curl_7.88.1_ip.hex":                      {OpenSSL, "3.0-3.4", AppCurl},
	"curl_7.88.1_sni.hex":                     {OpenSSL, "3.0-3.4", AppCurl},
	"curl_7.88.1_tls12.hex":                   {OpenSSL, "", AppCurl}, // TLS 1.2 only: no version evidence
	"git_https.hex":                           {GnuTLS, "3.6.5+", ""},
	"gnutls-cli.hex":                          {GnuTLS, "3.6.5+", ""},
	"gnutls-cli_ip.hex":                       {GnuTLS, "3.6.5+", ""},
	"gnutls-cli_sni.hex":                      {GnuTLS, "3.6.5+", ""},
	"go1.26_nethttp.hex":                      {Go, "1.26+", ""},
	"go1.26_nethttp_ip.hex":                   {Go, "1.26+", ""},
	"go1.26_tlsdial.hex":                      {Go, "1.26+", ""},
	"go1.26_tlsdial_sni.hex":                  {Go, "1.26+", ""},
	"java17_httpclient.hex":                   {Java, "13-23", ""},
	"java17_httpclient_ip.hex":                {Java, "13-23", ""},
	"java17_httpsurlconnection.hex":           {Java, "13-23", ""},
	"java17_httpsurlconnection_ip.hex":        {Java, "13-23", ""},
	"java17_httpsurlconnection_sni.hex":       {Java, "13-23", ""},
	"java17_httpsurlconnection_tls12.hex":     {Java, "13-23", ""},
	"java17_httpsurlconnection_tls12_sni.hex": {Java, "13-23", ""},
	"java17_sslengine.hex":                    {Java, "13-23", ""},
	"java17_sslengine_sni.hex":                {Java, "13-23", ""},
	"java25_httpsurlconnection.hex":           {Java, "24+", ""},
	"java25_httpsurlconnection_sni.hex":       {Java, "24+", ""},
	"node20_fetch.hex":                        {OpenSSL, "3.0-3.4", AppNode},
	"node20_https.hex":                        {OpenSSL, "3.0-3.4", AppNode},
	"node20_https_ip.hex":                     {OpenSSL, "3.0-3.4", AppNode},
	"node20_tls_connect.hex":                  {OpenSSL, "3.0-3.4", AppNode},
	"openssl_s_client.hex":                    {OpenSSL, "3.0-3.4", AppSClient},
	"openssl_s_client_ip.hex":                 {OpenSSL, "3.0-3.4", AppSClient},
	"openssl_s_client_noservername.hex":       {OpenSSL, "3.0-3.4", AppSClient},
	"openssl_s_client_servername.hex":         {OpenSSL, "3.0-3.4", AppSClient},
	"openssl_s_client_tls12.hex":              {OpenSSL, "", AppSClient},
	"openssl_s_client_tls13.hex":              {OpenSSL, "3.0-3.4", AppSClient},
	"python3.11_debian_urllib.hex":            {OpenSSL, "3.0-3.4", ""}, // Debian's CPython keeps libssl's cipher list
	"python3.11_debian_urllib_ip.hex":         {OpenSSL, "3.0-3.4", ""},
	"python3.11_requests.hex":                 {OpenSSL, "3.0-3.4", AppPython},
	"python3.11_urllib.hex":                   {OpenSSL, "3.0-3.4", AppPython},
	"python3.11_urllib_ip.hex":                {OpenSSL, "3.0-3.4", AppPython},
	"python3.11_urllib_noctx.hex":             {OpenSSL, "3.0-3.4", AppPython},
	"python3.13_urllib.hex":                   {OpenSSL, "3.0-3.4", AppPython},
	"python3.6_urllib.hex":                    {OpenSSL, "3.0-3.4", ""}, // CPython before 3.10 had another cipher string
	"wget.hex":                                {GnuTLS, "3.6.5+", ""},
	"chromium_156.hex":                        {BoringSSL, "", ""},
	"chromium_156_ip.hex":                     {BoringSSL, "", ""},
	"chromium_156_sni.hex":                    {BoringSSL, "", ""},
	"firefox-esr_153.hex":                     {NSS, "", ""},
	"firefox-esr_153_ip.hex":                  {NSS, "", ""},
	"firefox-esr_153_sni.hex":                 {NSS, "", ""},
	"ruby3.1_nethttp.hex":                     {OpenSSL, "3.0-3.4", ""}, // libssl's list with post_handshake_auth and no ALPN: neither curl nor s_client
	"php8.2_file_get_contents.hex":            {OpenSSL, "3.0-3.4", ""},
	"perl5.36_io_socket_ssl.hex":              {OpenSSL, "3.0-3.4", ""}, // libssl's defaults with SSL_OP_ALL (padding)
	"python3.11_debian_httpclient.hex":        {OpenSSL, "3.0-3.4", ""},
	"wget_ip.hex":                             {GnuTLS, "3.6.5+", ""},
}

// TestIdentifyRealClients names the stack of every captured ClientHello
// and checks that the stack agrees with the sample's provenance header.
func TestIdentifyRealClients(t *testing.T) {
	files, err := filepath.Glob("testdata/hello/*.hex")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		seen[base] = true
		t.Run(base, func(t *testing.T) {
			ch, meta := readHello(t, f)
			got := Identify(ch)
			w, ok := want[base]
			if !ok {
				t.Fatalf("sample %s (%s) is not in the want table: got %s (%s)", base, meta["stack"], got, got.Evidence)
			}
			if string(w.name) != meta["stack"] {
				t.Errorf("want table says %s, the sample's header says %s", w.name, meta["stack"])
			}
			if got.Name != w.name || got.Version != w.version || got.App != w.app {
				t.Errorf("Identify = %s (version %q, app %q), want %s (version %q, app %q)\nevidence: %s", got.Name, got.Version, got.App, w.name, w.version, w.app, got.Evidence)
			}
			if got.Evidence == "" {
				t.Error("no evidence")
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s is in the want table but not in testdata/hello", name)
		}
	}
}

// TestIdentifyUnknown: offers that no rule knows are Unknown, not a guess.
func TestIdentifyUnknown(t *testing.T) {
	ch, _ := readHello(t, "testdata/hello/openssl_s_client.hex")
	for _, tc := range []struct {
		name   string
		change func(ch *tlsparse.ClientHello)
	}{
		{"no extensions", func(ch *tlsparse.ClientHello) { ch.ExtensionTypes = nil }},
		{"a GREASEd OpenSSL offer", func(ch *tlsparse.ClientHello) {
			ch.CipherSuites = append([]uint16{0x2a2a}, ch.CipherSuites...)
		}},
		{"extensions reordered", func(ch *tlsparse.ClientHello) {
			e := ch.ExtensionTypes
			e[0], e[1] = e[1], e[0] // supported_groups before ec_point_formats
		}},
		{"without the SCSV", func(ch *tlsparse.ClientHello) { ch.CipherSuites = ch.CipherSuites[:len(ch.CipherSuites)-1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *ch
			c.ExtensionTypes = slices.Clone(ch.ExtensionTypes)
			c.CipherSuites = append([]uint16(nil), ch.CipherSuites...)
			tc.change(&c)
			if got := Identify(&c); got.Name != Unknown {
				t.Errorf("Identify = %s (%s), want unknown", got, got.Evidence)
			}
		})
	}
	// Apple's older stacks send renegotiation_info and SCT as Go does,
	// with NPN, which crypto/tls never sends.
	goHello, _ := readHello(t, "testdata/hello/go1.26_tlsdial.hex")
	c := *goHello
	c.ExtensionTypes = append(slices.Clone(goHello.ExtensionTypes), 13172)
	if got := Identify(&c); got.Name != Unknown {
		t.Errorf("Go's offer with NPN: Identify = %s, want unknown", got)
	}
	if got := Identify(nil); got.Name != Unknown {
		t.Errorf("Identify(nil) = %s", got)
	}
}
