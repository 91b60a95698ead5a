package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// The JSON output is a contract with scripts. These tests state it
// explicitly, independently of the golden files.

// requiredFields are the keys every connection record has (issues #2 and #3).
var requiredFields = []string{
	"file", "client", "server", "sni", "version", "cipher", "alpn", "frames", "chain", "alerts",
	"verdict", "verdict_detail", "cause", "cause_detail", "findings", "trust_store",
}

// requiredChainFields are the keys of every entry of "chain".
var requiredChainFields = []string{
	"subject", "issuer", "serial", "sha256", "not_before", "not_after", "dns_names", "is_ca", "self_signed",
	"in_truststore", "valid_at_capture",
}

// requiredAlertFields are the keys of every entry of "alerts".
var requiredAlertFields = []string{"from", "level", "description", "encrypted", "frame"}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	lowerHex  = regexp.MustCompile(`^[0-9a-f]+$`)
	ipv4Port  = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$`)
	ipv6Port  = regexp.MustCompile(`^\[[0-9a-f:]+\]:\d{1,5}$`)
)

// obj is one decoded JSON object; numbers stay json.Number.
type obj = map[string]any

// ndjson checks that out is NDJSON and nothing else: every line is one JSON
// object with a "type", there are no blank lines, the output ends with a
// newline. It returns the objects.
func ndjson(t *testing.T, out string) []obj {
	t.Helper()
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Errorf("NDJSON output does not end with a newline")
	}
	var objs []obj
	for i, l := range lines(out) {
		if !json.Valid([]byte(l)) {
			t.Fatalf("stdout line %d is not JSON: %q", i+1, l)
		}
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		var o obj
		if err := d.Decode(&o); err != nil {
			t.Fatalf("stdout line %d is not a JSON object: %v: %q", i+1, err, l)
		}
		if d.More() {
			t.Fatalf("stdout line %d holds more than one JSON value: %q", i+1, l)
		}
		switch o["type"] {
		case "connection", "summary":
		default:
			t.Errorf("stdout line %d: type %v, want connection or summary", i+1, o["type"])
		}
		objs = append(objs, o)
	}
	return objs
}

// runJSON runs the command with --json and returns the connection records,
// checking that no summary object is written without --summary.
func runJSON(t *testing.T, wantCode int, args ...string) []obj {
	t.Helper()
	r := tlstriage(t, nil, append(args, "--json")...)
	if r.code != wantCode {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", r.code, wantCode, r.stderr)
	}
	objs := ndjson(t, r.stdout)
	for _, o := range objs {
		if o["type"] != "connection" {
			t.Fatalf("object of type %v without --summary", o["type"])
		}
	}
	return objs
}

func str(t *testing.T, o obj, key string) string {
	t.Helper()
	v, ok := o[key]
	if !ok {
		t.Fatalf("missing key %q in %v", key, keys(o))
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%q is %T (%v), want a string", key, v, v)
	}
	return s
}

func num(t *testing.T, o obj, key string) int {
	t.Helper()
	v, ok := o[key]
	if !ok {
		t.Fatalf("missing key %q in %v", key, keys(o))
	}
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%q is %T (%v), want a number", key, v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%q = %v: %v", key, n, err)
	}
	return int(i)
}

func boolean(t *testing.T, o obj, key string) bool {
	t.Helper()
	v, ok := o[key]
	if !ok {
		t.Fatalf("missing key %q in %v", key, keys(o))
	}
	b, ok := v.(bool)
	if !ok {
		t.Fatalf("%q is %T (%v), want a boolean", key, v, v)
	}
	return b
}

func object(t *testing.T, o obj, key string) obj {
	t.Helper()
	v, ok := o[key].(obj)
	if !ok {
		t.Fatalf("%q is %T (%v), want an object", key, o[key], o[key])
	}
	return v
}

// array returns o[key] as a list of objects; it must be an array, never null.
func array(t *testing.T, o obj, key string) []obj {
	t.Helper()
	v, ok := o[key].([]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want an array", key, o[key], o[key])
	}
	out := make([]obj, len(v))
	for i, e := range v {
		if out[i], ok = e.(obj); !ok {
			t.Fatalf("%q[%d] is %T, want an object", key, i, e)
		}
	}
	return out
}

func keys(o obj) []string {
	var ks []string
	for k := range o {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func hasKeys(t *testing.T, what string, o obj, want []string) {
	t.Helper()
	for _, k := range want {
		if _, ok := o[k]; !ok {
			t.Errorf("%s: missing key %q (has %v)", what, k, keys(o))
		}
	}
}

// certFile parses the single certificate of a committed PEM file.
func certFile(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(readFile(t, pki(name)))
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkCert compares a chain entry with the certificate it should describe.
func checkCert(t *testing.T, what string, got obj, want *x509.Certificate) {
	t.Helper()
	hasKeys(t, what, got, requiredChainFields)
	sum := sha256.Sum256(want.Raw)
	if s := str(t, got, "sha256"); !sha256Hex.MatchString(s) || s != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: sha256 %q, want 64 lower-case hex digits %x", what, s, sum)
	}
	if s := str(t, got, "serial"); !lowerHex.MatchString(s) || s != want.SerialNumber.Text(16) {
		t.Errorf("%s: serial %q, want lower-case hex %s", what, s, want.SerialNumber.Text(16))
	}
	if s := str(t, got, "subject"); s != want.Subject.String() {
		t.Errorf("%s: subject %q, want %q", what, s, want.Subject.String())
	}
	if s := str(t, got, "issuer"); s != want.Issuer.String() {
		t.Errorf("%s: issuer %q, want %q", what, s, want.Issuer.String())
	}
	for _, k := range []struct {
		key  string
		want time.Time
	}{{"not_before", want.NotBefore}, {"not_after", want.NotAfter}} {
		s := str(t, got, k.key)
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil || !strings.HasSuffix(s, "Z") || !tm.Equal(k.want) {
			t.Errorf("%s: %s %q, want RFC 3339 UTC %s (err %v)", what, k.key, s, k.want.UTC().Format(time.RFC3339), err)
		}
	}
	names, ok := got["dns_names"].([]any)
	if !ok {
		t.Fatalf("%s: dns_names is %T, want an array", what, got["dns_names"])
	}
	var gotNames []string
	for _, n := range names {
		gotNames = append(gotNames, n.(string))
	}
	if !slices.Equal(gotNames, want.DNSNames) {
		t.Errorf("%s: dns_names %q, want %q", what, gotNames, want.DNSNames)
	}
	if b := boolean(t, got, "is_ca"); b != want.IsCA {
		t.Errorf("%s: is_ca %v, want %v", what, b, want.IsCA)
	}
	selfSigned := bytes.Equal(want.RawSubject, want.RawIssuer) && want.CheckSignatureFrom(want) == nil
	if b := boolean(t, got, "self_signed"); b != selfSigned {
		t.Errorf("%s: self_signed %v, want %v", what, b, selfSigned)
	}
	boolean(t, got, "in_truststore")
	boolean(t, got, "valid_at_capture")
}

// cipherFromJA3S returns the cipher suite id the ServerHello carried, read
// from the JA3S string ("version,cipher,extensions").
func cipherFromJA3S(t *testing.T, rec obj) uint16 {
	t.Helper()
	f := strings.Split(str(t, rec, "ja3s_string"), ",")
	if len(f) < 2 {
		t.Fatalf("ja3s_string %q", rec["ja3s_string"])
	}
	n, err := strconv.ParseUint(f[1], 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(n)
}

func TestJSONPlaybook(t *testing.T) {
	for _, file := range []string{"tls12-playbook-fin-rst-after-cert.pcap", "tls12-playbook-fin-rst-after-cert.pcap.gz"} {
		t.Run(file, func(t *testing.T) {
			recs := runJSON(t, exitFailed, "-r", pcap(file), "--truststore", pki("truststore-other.pem"))
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			rec := recs[0]
			hasKeys(t, "record", rec, requiredFields)
			if got := str(t, rec, "file"); got != pcap(file) {
				t.Errorf("file %q, want %q", got, pcap(file))
			}
			if got := str(t, rec, "verdict"); got != "client_rejected_certificate" {
				t.Errorf("verdict %q, want client_rejected_certificate", got)
			}
			if got := str(t, rec, "cause"); got != "truststore_missing_root" {
				t.Errorf("cause %q, want truststore_missing_root", got)
			}
			if str(t, rec, "verdict_detail") == "" || str(t, rec, "cause_detail") == "" {
				t.Errorf("empty verdict_detail or cause_detail")
			}
			if !boolean(t, rec, "failed") {
				t.Errorf("failed is false")
			}
			if got := str(t, rec, "client"); got != "10.0.0.1:43210" || !ipv4Port.MatchString(got) {
				t.Errorf("client %q, want 10.0.0.1:43210", got)
			}
			if got := str(t, rec, "server"); got != "10.0.0.2:443" || !ipv4Port.MatchString(got) {
				t.Errorf("server %q, want 10.0.0.2:443", got)
			}
			if got := str(t, rec, "sni"); got != "backend.example.test" {
				t.Errorf("sni %q", got)
			}
			if got := str(t, rec, "version"); got != "TLS 1.2" {
				t.Errorf("version %q, want TLS 1.2", got)
			}
			id := cipherFromJA3S(t, rec)
			if got, want := str(t, rec, "cipher"), tls.CipherSuiteName(id); got != want || strings.HasPrefix(want, "0x") {
				t.Errorf("cipher %q, want %q (tls.CipherSuiteName(%#04x))", got, want, id)
			}
			if got := str(t, rec, "alpn"); got != "" {
				t.Errorf("alpn %q, want empty (none negotiated)", got)
			}
			if got := str(t, rec, "trust_store"); !strings.Contains(got, "truststore-other.pem") {
				t.Errorf("trust_store %q does not name the truststore given", got)
			}

			fr := object(t, rec, "frames")
			ch, sh, cert, fin, rst := num(t, fr, "client_hello"), num(t, fr, "server_hello"), num(t, fr, "certificate"), num(t, fr, "client_fin"), num(t, fr, "client_rst")
			if !(0 < ch && ch < sh && sh <= cert && cert < fin && fin <= rst) {
				t.Errorf("frames client_hello %d, server_hello %d, certificate %d, client_fin %d, client_rst %d: want client_hello < server_hello <= certificate < client_fin <= client_rst", ch, sh, cert, fin, rst)
			}
			if _, ok := fr["client_key_exchange"]; ok {
				t.Errorf("frames has a client_key_exchange: the playbook client never sends one")
			}

			// The server sends leaf and intermediate, not the root (README).
			chain := array(t, rec, "chain")
			want := []*x509.Certificate{certFile(t, "leaf.pem"), certFile(t, "intermediate.pem")}
			if len(chain) != len(want) {
				t.Fatalf("chain has %d certificates, want %d (leaf, intermediate)", len(chain), len(want))
			}
			for i, c := range chain {
				checkCert(t, fmt.Sprintf("chain[%d]", i), c, want[i])
				if boolean(t, c, "in_truststore") {
					t.Errorf("chain[%d] in_truststore with truststore-other.pem", i)
				}
				if !boolean(t, c, "valid_at_capture") {
					t.Errorf("chain[%d] not valid_at_capture", i)
				}
			}

			if alerts := array(t, rec, "alerts"); len(alerts) != 0 {
				t.Errorf("alerts %v, want none: the playbook client closes without an alert", alerts)
			}
			for i, f := range array(t, rec, "findings") {
				hasKeys(t, fmt.Sprintf("findings[%d]", i), f, []string{"code", "severity", "summary"})
			}
		})
	}
}

func TestJSONFullChain(t *testing.T) {
	// cause-missing-root.pcap: the server sends leaf, intermediate and root.
	recs := runJSON(t, exitFailed, "-r", pcap("cause-missing-root.pcap"), "--truststore", pki("truststore-other.pem"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	chain := array(t, recs[0], "chain")
	want := []*x509.Certificate{certFile(t, "leaf.pem"), certFile(t, "intermediate.pem"), certFile(t, "root.pem")}
	if len(chain) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(chain))
	}
	for i, c := range chain {
		checkCert(t, fmt.Sprintf("chain[%d]", i), c, want[i])
		if i+1 < len(chain) && str(t, c, "issuer") != str(t, chain[i+1], "subject") {
			t.Errorf("chain[%d] issuer %q is not chain[%d] subject %q", i, c["issuer"], i+1, chain[i+1]["subject"])
		}
	}
	if !boolean(t, chain[2], "self_signed") || !boolean(t, chain[2], "is_ca") {
		t.Errorf("root: self_signed %v, is_ca %v, want both", chain[2]["self_signed"], chain[2]["is_ca"])
	}
	if boolean(t, chain[0], "is_ca") {
		t.Errorf("leaf is_ca")
	}
	if got := str(t, recs[0], "cause"); got != "truststore_missing_root" && got != "untrusted_root" {
		t.Errorf("cause %q, want truststore_missing_root (or untrusted_root)", got)
	}

	// With the right root the same chain is in the truststore.
	recs = runJSON(t, exitFailed, "-r", pcap("cause-missing-root.pcap"), "--truststore", pki("truststore-root.pem"))
	chain = array(t, recs[0], "chain")
	if len(chain) != 3 || !boolean(t, chain[2], "in_truststore") || boolean(t, chain[0], "in_truststore") {
		t.Errorf("with truststore-root.pem: want only the root in_truststore, got %v", chain)
	}
}

func TestJSONAlerts(t *testing.T) {
	tests := []struct {
		file      string
		encrypted bool
		level     string
		desc      string
		frame     int
	}{
		{"tls12-alert-unknown-ca.pcap", false, "fatal", "unknown_ca", 10},
		{"tls12-alert-bad-certificate.pcap", false, "fatal", "bad_certificate", 0},
		{"tls12-alert-certificate-unknown.pcap", false, "fatal", "certificate_unknown", 0},
		// TLS 1.3: the alert is encrypted, so its level and code are unknown.
		{"tls13-client-abort.pcap", true, "", "", 14},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			recs := runJSON(t, exitFailed, "-r", pcap(tc.file), "--truststore", pki("truststore-other.pem"))
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			alerts := array(t, recs[0], "alerts")
			if len(alerts) != 1 {
				t.Fatalf("alerts %v, want one", alerts)
			}
			a := alerts[0]
			hasKeys(t, "alert", a, requiredAlertFields)
			if got := str(t, a, "from"); got != "client" {
				t.Errorf("from %q, want client", got)
			}
			if got := boolean(t, a, "encrypted"); got != tc.encrypted {
				t.Errorf("encrypted %v, want %v", got, tc.encrypted)
			}
			if got := str(t, a, "level"); got != tc.level {
				t.Errorf("level %q, want %q", got, tc.level)
			}
			if got := str(t, a, "description"); got != tc.desc {
				t.Errorf("description %q, want %q", got, tc.desc)
			}
			frame := num(t, a, "frame")
			if tc.frame != 0 && frame != tc.frame {
				t.Errorf("frame %d, want %d", frame, tc.frame)
			}
			if sh := num(t, object(t, recs[0], "frames"), "server_hello"); frame <= sh {
				t.Errorf("alert frame %d not after the ServerHello (frame %d)", frame, sh)
			}
		})
	}
}

func TestJSONTLS13(t *testing.T) {
	recs := runJSON(t, exitOK, "-r", pcap("tls13-ok.pcap"), "--truststore", pki("truststore-root.pem"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	hasKeys(t, "record", rec, requiredFields)
	if got := str(t, rec, "version"); got != "TLS 1.3" {
		t.Errorf("version %q, want TLS 1.3", got)
	}
	if got, want := str(t, rec, "cipher"), tls.CipherSuiteName(cipherFromJA3S(t, rec)); got != want {
		t.Errorf("cipher %q, want %q", got, want)
	}
	if got := str(t, rec, "verdict"); got != "ok" {
		t.Errorf("verdict %q, want ok", got)
	}
	if got := str(t, rec, "cause"); got != "" {
		t.Errorf("cause %q, want empty for a successful handshake", got)
	}
	// The Certificate is encrypted in TLS 1.3: the chain is empty, not null.
	if chain := array(t, rec, "chain"); len(chain) != 0 {
		t.Errorf("chain %v, want empty", chain)
	}
	if !boolean(t, rec, "chain_hidden") {
		t.Errorf("chain_hidden false for TLS 1.3")
	}
}

func TestJSONIPv6(t *testing.T) {
	recs := runJSON(t, exitFailed, "-r", pcap("ipv6.pcap"), "--truststore", pki("truststore-other.pem"))
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	for key, want := range map[string]string{"client": "[2001:db8::1]:43210", "server": "[2001:db8::2]:443"} {
		got := str(t, recs[0], key)
		if got != want || !ipv6Port.MatchString(got) {
			t.Errorf("%s %q, want %q", key, got, want)
		}
		if ap, err := netip.ParseAddrPort(got); err != nil || ap.String() != got {
			t.Errorf("%s %q does not round-trip through netip.ParseAddrPort: %v", key, got, err)
		}
	}
	if got := str(t, recs[0], "verdict"); got != "client_rejected_certificate" {
		t.Errorf("verdict %q, want client_rejected_certificate (the playbook over IPv6)", got)
	}
}

// TestNDJSONOnly runs every --json command line of the golden table and
// checks that stdout is NDJSON only, with a summary object exactly when
// --summary is given, and always last.
func TestNDJSONOnly(t *testing.T) {
	for _, tc := range goldenCases {
		if !slices.Contains(tc.args, "--json") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var r result
			if tc.stdin != "" {
				f, err := os.Open(pcap(tc.stdin))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				r = tlstriage(t, f, tc.args...)
			} else {
				r = tlstriage(t, nil, tc.args...)
			}
			objs := ndjson(t, r.stdout)
			wantSummary := slices.Contains(tc.args, "--summary")
			var nsum int
			for i, o := range objs {
				switch o["type"] {
				case "summary":
					nsum++
					if i != len(objs)-1 {
						t.Errorf("summary object at line %d of %d, want last", i+1, len(objs))
					}
				case "connection":
					hasKeys(t, fmt.Sprintf("record %d", i+1), o, requiredFields)
					for j, c := range array(t, o, "chain") {
						hasKeys(t, fmt.Sprintf("record %d chain[%d]", i+1, j), c, requiredChainFields)
					}
					for j, a := range array(t, o, "alerts") {
						hasKeys(t, fmt.Sprintf("record %d alerts[%d]", i+1, j), a, requiredAlertFields)
					}
					array(t, o, "findings")
				}
			}
			if wantSummary && nsum != 1 || !wantSummary && nsum != 0 {
				t.Errorf("%d summary objects with --summary %v", nsum, wantSummary)
			}
		})
	}
}

func TestJSONSummary(t *testing.T) {
	r := tlstriage(t, nil, "-r", pcap("many-connections.pcap"), "--json", "--summary")
	if r.code != exitFailed {
		t.Fatalf("exit status %d, want %d", r.code, exitFailed)
	}
	objs := ndjson(t, r.stdout)
	if len(objs) != 21 {
		t.Fatalf("%d objects, want 20 connections and a summary", len(objs))
	}
	sum := objs[len(objs)-1]
	if sum["type"] != "summary" {
		t.Fatalf("last object type %v, want summary", sum["type"])
	}
	verdicts := map[string]int{}
	failed := 0
	for _, o := range objs[:20] {
		verdicts[str(t, o, "verdict")]++
		if boolean(t, o, "failed") {
			failed++
		}
	}
	if got := num(t, sum, "connections"); got != 20 {
		t.Errorf("summary connections %d, want 20", got)
	}
	if got := num(t, sum, "failed"); got != failed || failed == 0 {
		t.Errorf("summary failed %d, records say %d", got, failed)
	}
	sv := object(t, sum, "verdicts")
	if len(sv) != len(verdicts) {
		t.Errorf("summary verdicts %v, records say %v", sv, verdicts)
	}
	for v, n := range verdicts {
		if got := num(t, sv, v); got != n {
			t.Errorf("summary verdicts[%s] %d, records say %d", v, got, n)
		}
	}
	if verdicts["ok"] != 11 {
		t.Errorf("%d ok connections, want 11 (README)", verdicts["ok"])
	}
	for _, k := range []string{"causes", "servers", "client_fingerprints", "counters", "trust_store", "warnings"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	if got := num(t, object(t, sum, "counters"), "packets"); got == 0 {
		t.Errorf("summary counters.packets 0")
	}
}

// TestSeveralFiles: -r is repeatable, files are read in order, frame
// numbers restart at 1 in each file, each record names its own file, and
// "-" is standard input (compressed or not).
func TestSeveralFiles(t *testing.T) {
	// Captures of other times (laterCopy): read one after the other.
	a, b := pcap("tls12-ok.pcap"), laterCopy(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), time.Hour)
	recs := runJSON(t, exitFailed, "-r", a, "-r", b, "--truststore", pki("truststore-other.pem"))
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for i, want := range []string{a, b} {
		if got := str(t, recs[i], "file"); got != want {
			t.Errorf("record %d: file %q, want %q", i+1, got, want)
		}
		if got := num(t, object(t, recs[i], "frames"), "syn"); got != 1 {
			t.Errorf("record %d: SYN at frame %d, want 1 (frames restart in each file)", i+1, got)
		}
		if got := num(t, array(t, recs[i], "timeline")[0], "frame"); got != 1 {
			t.Errorf("record %d: timeline starts at frame %d, want 1", i+1, got)
		}
	}
	if v0, v1 := str(t, recs[0], "verdict"), str(t, recs[1], "verdict"); v0 != "ok" || v1 != "client_rejected_certificate" {
		t.Errorf("verdicts %q, %q: files not read in order", v0, v1)
	}

	for _, name := range []string{"tls12-playbook-fin-rst-after-cert.pcap", "tls12-playbook-fin-rst-after-cert.pcap.gz", "two-interfaces.pcapng"} {
		t.Run("stdin/"+name, func(t *testing.T) {
			fromFile := tlstriage(t, nil, "-r", pcap(name), "--json", "--truststore", pki("truststore-other.pem"))
			f, err := os.Open(pcap(name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fromStdin := tlstriage(t, f, "-r", "-", "--json", "--truststore", pki("truststore-other.pem"))
			if fromStdin.code != fromFile.code {
				t.Errorf("exit status %d from stdin, %d from the file", fromStdin.code, fromFile.code)
			}
			want := strings.ReplaceAll(fromFile.stdout, `"file":"`+pcap(name)+`"`, `"file":"-"`)
			if fromStdin.stdout != want {
				t.Errorf("-r - differs from -r %s:\n%s", name, firstDiff(want, fromStdin.stdout))
			}
			if len(ndjson(t, fromStdin.stdout)) == 0 {
				t.Errorf("no record from stdin")
			}
		})
	}
}

// TestCipherNames: the "cipher" field is the IANA name exactly as
// crypto/tls's CipherSuiteName prints it, for every suite crypto/tls knows.
func TestCipherNames(t *testing.T) {
	suites := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	for _, s := range suites {
		if got := tlsparse.CipherSuite(s.ID).String(); got != tls.CipherSuiteName(s.ID) {
			t.Errorf("cipher %#04x: %q, crypto/tls says %q", s.ID, got, tls.CipherSuiteName(s.ID))
		}
	}
}
