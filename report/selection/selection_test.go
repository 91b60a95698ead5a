package selection

import (
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/report"
)

// failedJava is a TLS 1.2 connection a Java client refused: its chain
// lacks the root and the leaf's key is weak.
func failedJava() *report.Record {
	return &report.Record{
		Type: "connection", File: "backend.pcapng", ID: 3,
		Client: "10.0.0.5:51234", Server: "10.0.0.7:8443", SNI: "backend.example.test",
		Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ALPN: "h2",
		DurationMS: 12.5, Verdict: "client_rejected_certificate", Failed: true, Cause: "truststore_missing_root",
		Host: "backend.example.test", JA3: "8a1ba1f1c5bd8a8bb7d9ab1a0e1bc1f5", JA4: "t12d1312h2_8b80da21ef18_b00751acaffa",
		Findings: []diagnose.Finding{
			{Code: diagnose.FindingWeakKey, Severity: diagnose.SevWarning},
			{Code: diagnose.FindingChainOrder, Severity: diagnose.SevWarning},
		},
		ClientStack: &report.ClientStack{Name: "java", Version: "11-17", App: "", Profile: "java"},
	}
}

// okCurl is a TLS 1.3 connection from curl over IPv6 that succeeded.
func okCurl() *report.Record {
	return &report.Record{
		Type: "connection", File: "frontend.pcap", ID: 1,
		Client: "[2001:db8::5]:40000", Server: "[2001:db8::7]:443", SNI: "www.example.test",
		Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", DurationMS: 3,
		Verdict: "ok", Findings: []diagnose.Finding{},
		ClientStack: &report.ClientStack{Name: "openssl", App: "curl"},
	}
}

// bare has no ClientHello: no client stack, no version, no findings.
func bare() *report.Record {
	return &report.Record{Type: "connection", ID: 9, Client: "192.0.2.1:1", Server: "192.0.2.2:443", Verdict: "not_tls"}
}

func TestMatch(t *testing.T) {
	records := map[string]*report.Record{"failedJava": failedJava(), "okCurl": okCurl(), "bare": bare()}
	for _, c := range []struct {
		src  string
		want []string // the records selected, in the order failedJava, okCurl, bare
	}{
		{`failed && sni == "backend.example.test"`, []string{"failedJava"}},
		{`failed and sni == "www.example.test"`, nil},
		{`cause == "truststore_missing_root"`, []string{"failedJava"}},
		{`cause == ""`, []string{"okCurl", "bare"}},
		{`"weak_key" in findings`, []string{"failedJava"}},
		{`"weak_key" not in findings`, []string{"okCurl", "bare"}},
		{`len(findings) == 2`, []string{"failedJava"}},
		{`any(findings, # startsWith "chain_")`, []string{"failedJava"}},
		{`stack == "java"`, []string{"failedJava"}},
		{`stack == ""`, []string{"bare"}},
		{`app == "curl"`, []string{"okCurl"}},
		{`server_port == 8443`, []string{"failedJava"}},
		{`server_port == 443`, []string{"okCurl", "bare"}},
		{`server_ip == "10.0.0.7"`, []string{"failedJava"}},
		{`server_ip == "2001:db8::7"`, []string{"okCurl"}},
		{`client_ip == "10.0.0.5" && client_port == 51234`, []string{"failedJava"}},
		{`server == "10.0.0.7:8443"`, []string{"failedJava"}},
		{`client startsWith "[2001:db8::"`, []string{"okCurl"}},
		{`version == "TLS 1.2"`, []string{"failedJava"}},
		{`version in ["TLS 1.2", "TLS 1.3"]`, []string{"failedJava", "okCurl"}},
		{`verdict != "ok"`, []string{"failedJava", "bare"}},
		{`!failed`, []string{"okCurl", "bare"}},
		{`not failed && version != ""`, []string{"okCurl"}},
		{`sni endsWith ".example.test"`, []string{"failedJava", "okCurl"}},
		{`sni contains "backend"`, []string{"failedJava"}},
		{`ja4 matches "^t1[23]d"`, []string{"failedJava"}},
		{`cipher contains "CHACHA"`, nil},
		{`alpn == "h2"`, []string{"failedJava"}},
		{`host == sni && host != ""`, []string{"failedJava"}},
		{`file == "frontend.pcap"`, []string{"okCurl"}},
		{`ja3 == "8a1ba1f1c5bd8a8bb7d9ab1a0e1bc1f5"`, []string{"failedJava"}},
		{`id == 9`, []string{"bare"}},
		{`duration_ms > 10`, []string{"failedJava"}},
		{`duration_ms >= 3 && duration_ms < 4`, []string{"okCurl"}},
		{`lower(sni) == "www.example.test"`, []string{"okCurl"}},
		// Run-time errors select nothing.
		{`server_port % (id - 9) >= 0`, []string{"failedJava", "okCurl"}}, // bare: modulo by zero
		{`sni matches file`, []string{"bare"}},                            // "" matches ""; "backend.pcapng" does not match
		{`sni matches (file + "(")`, nil},                                 // invalid regular expression at run time
		{`findings[5] == "x"`, nil},                                       // index out of range
	} {
		s, err := Compile(c.src)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.src, err)
			continue
		}
		var got []string
		for _, name := range []string{"failedJava", "okCurl", "bare"} {
			if s.Match(records[name]) {
				got = append(got, name)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: selected %q, want %q", c.src, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		want []string // substrings of the error
	}{
		{`snii == "a"`, []string{"selection: ", "unknown name snii", "(1:1)", "^"}},
		{`failed && colour == "red"`, []string{"unknown name colour", "(1:11)"}},
		{`sni == backend`, []string{"unknown name backend"}},
		{`sni`, []string{"selection: ", "expected bool", "string"}},
		{`server_port + 1`, []string{"expected bool", "int"}},
		{`server_port == "8443"`, []string{"mismatched types int and string"}},
		{`failed &&`, []string{"selection: ", "unexpected token"}},
		{`now() > now()`, []string{"now"}},
		{``, []string{"selection: empty expression"}},
		{"  \t\n", []string{"selection: empty expression"}},
		{`client_stack.name == "java"`, []string{"unknown name client_stack"}},
		{`Verdict == "ok"`, []string{"unknown name Verdict"}},
	} {
		s, err := Compile(c.src)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want an error", c.src, s)
			continue
		}
		if !strings.HasPrefix(err.Error(), "selection: ") {
			t.Errorf("Compile(%q): %q lacks the selection: prefix", c.src, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Compile(%q): %q, want it to contain %q", c.src, err, w)
			}
		}
	}
}

func TestSplitAddrPort(t *testing.T) {
	for _, c := range []struct {
		in   string
		ip   string
		port int
	}{
		{"10.0.0.7:8443", "10.0.0.7", 8443},
		{"[2001:db8::7]:443", "2001:db8::7", 443},
		{"[fe80::1%eth0]:443", "fe80::1%eth0", 443},
		{"2001:db8::7", "2001:db8::7", 0},
		{"10.0.0.7", "10.0.0.7", 0},
		{"10.0.0.7:x", "10.0.0.7:x", 0},
		{"", "", 0},
	} {
		ip, port := splitAddrPort(c.in)
		if ip != c.ip || port != c.port {
			t.Errorf("splitAddrPort(%q) = %q, %d, want %q, %d", c.in, ip, port, c.ip, c.port)
		}
	}
}

// TestMatchReuse checks that a pooled environment carries nothing from one
// record to the next.
func TestMatchReuse(t *testing.T) {
	s, err := Compile(`"weak_key" in findings || stack != "" || server_port != 443`)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if !s.Match(failedJava()) {
			t.Error("failedJava not selected")
		}
		if b := bare(); s.Match(b) {
			t.Error("bare selected after failedJava")
		}
	}
}

func TestString(t *testing.T) {
	const src = `failed && sni == "a"`
	s, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != src {
		t.Errorf("String() = %q, want %q", s, src)
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, src := range []string{
		`failed && sni == "backend.example.test"`,
		`cause == "truststore_missing_root"`,
		`"weak_key" in findings`,
		`stack == "java" && server_port == 8443`,
	} {
		b.Run(src, func(b *testing.B) {
			s, err := Compile(src)
			if err != nil {
				b.Fatal(err)
			}
			rec := failedJava()
			b.ReportAllocs()
			for b.Loop() {
				if !s.Match(rec) {
					b.Fatal("not selected")
				}
			}
		})
	}
}

func FuzzCompile(f *testing.F) {
	for _, src := range []string{
		`failed && sni == "backend.example.test"`,
		`cause == "truststore_missing_root"`,
		`"weak_key" in findings`,
		`server_port == 8443 || server_ip == "10.0.0.7"`,
		`any(findings, # startsWith "anchor_")`,
		`sni matches "^a.*"`,
		`duration_ms / id > 1`,
		`snii == "a"`,
		``,
	} {
		f.Add(src)
	}
	records := []*report.Record{failedJava(), okCurl(), bare(), {}}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Compile(src)
		if err != nil {
			if s != nil {
				t.Errorf("Compile(%q) returned a selection and the error %v", src, err)
			}
			if !strings.HasPrefix(err.Error(), "selection: ") {
				t.Errorf("Compile(%q): %q lacks the selection: prefix", src, err)
			}
			return
		}
		for _, rec := range records {
			s.Match(rec)
		}
	})
}
