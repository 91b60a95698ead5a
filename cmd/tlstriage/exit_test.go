package main

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/truststore"
)

// checkOneError checks the error contract: stderr is exactly one line
// "tlstriage: error: ..." mentioning want, optionally followed by
// "tlstriage: hint: ..." lines, and nothing else.
func checkOneError(t *testing.T, r result, want string) {
	t.Helper()
	ls := lines(r.stderr)
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "tlstriage: error: ") {
		t.Fatalf("stderr does not start with a tlstriage: error: line:\n%s", r.stderr)
	}
	if !strings.Contains(ls[0], want) {
		t.Errorf("error %q does not mention %q", ls[0], want)
	}
	for _, l := range ls[1:] {
		if !strings.HasPrefix(l, "tlstriage: hint: ") {
			t.Errorf("stderr line after the error is not a hint: %q", l)
		}
	}
}

// rootCert returns the test PKI's root.
func rootCert(t *testing.T) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(readFile(t, pki("truststore-root.pem")))
	if b == nil {
		t.Fatal("truststore-root.pem: no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// jks writes a JKS truststore holding the test root, protected by password.
func jks(t *testing.T, password string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := truststore.WriteJKS(&b, []*x509.Certificate{rootCert(t)}, password); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExitStatusOK(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"every handshake completed", []string{"-r", pcap("tls12-ok.pcap")}, exitOK},
		// Captures of other times (laterCopy): read one after the other.
		{"two ok files", []string{"-r", pcap("tls12-ok.pcap"), "-r", laterCopy(t, pcap("tls13-ok.pcap"), time.Hour)}, exitOK},
		{"one failure", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap")}, exitFailed},
		{"one failure among ok", []string{"-r", pcap("tls12-ok.pcap"), "-r", laterCopy(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), time.Hour), "-r", laterCopy(t, pcap("tls13-ok.pcap"), 2*time.Hour)}, exitFailed},
		{"failure in json mode", []string{"-r", pcap("tls12-alert-unknown-ca.pcap"), "--json"}, exitFailed},
		{"nothing left after the filter", []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "port", "8443"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tlstriage(t, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if strings.Contains(r.stderr, "error") {
				t.Errorf("stderr has an error:\n%s", r.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		r := tlstriage(t, nil, arg)
		if r.code != exitOK {
			t.Errorf("%s: exit status %d, want 0", arg, r.code)
		}
		if !strings.HasPrefix(r.stdout, "Usage: tlstriage") || !strings.Contains(r.stdout, "--truststore") {
			t.Errorf("%s: stdout is not the usage:\n%s", arg, r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("%s: stderr %q, want empty", arg, r.stderr)
		}
	}
}

func TestExitStatusUsage(t *testing.T) {
	dir := t.TempDir()
	noCaptures := filepath.Join(dir, "notes")
	if err := os.Mkdir(noCaptures, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noCaptures, "README"), []byte("captures go here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := pcap("tls12-ok.pcap")
	garbage := write("garbage.pcap", []byte("this is not a capture\n"))
	empty := write("empty.pcap", nil)
	goodJKS := write("good.jks", jks(t, "s3cret"))
	full := jks(t, "s3cret")
	cutJKS := write("cut.jks", full[:len(full)/2])
	gzGarbage := write("garbage.pcap.gz", gzipBytes(t, []byte("still not a capture")))

	tests := []struct {
		name  string
		args  []string
		stdin []byte
		want  string // in the error line
		hint  string // in a hint line, if any
	}{
		{"no -r", nil, nil, "no capture", "-r FILE"},
		{"no -r, only a filter", []string{"port", "443"}, nil, "no capture", "-r FILE"},
		{"unknown flag", []string{"-r", ok, "--bogus"}, nil, "--bogus", "--help"},
		{"unknown shorthand", []string{"-x", "-r", ok}, nil, "-x", "--help"},
		{"-r without a file", []string{"-r"}, nil, "-r", ""},
		{"bad --color", []string{"-r", ok, "--color", "sometimes"}, nil, "sometimes", ""},
		{"bad filter", []string{"-r", ok, "tcp", "port"}, nil, "filter", ""},
		{"missing file", []string{"-r", filepath.Join(dir, "does-not-exist.pcap")}, nil, "does-not-exist.pcap", ""},
		{"garbage file", []string{"-r", garbage}, nil, "garbage.pcap", ""},
		{"empty file", []string{"-r", empty}, nil, "empty.pcap", ""},
		{"gzip of garbage", []string{"-r", gzGarbage}, nil, "garbage.pcap.gz", ""},
		{"directory without captures", []string{"-r", noCaptures}, nil, "no capture file", ""},
		{"garbage on stdin", []string{"-r", "-"}, []byte("GET / HTTP/1.1\r\n\r\n"), "", ""},
		{"missing file in json mode", []string{"-r", filepath.Join(dir, "nope.pcap"), "--json"}, nil, "nope.pcap", ""},
		{"missing truststore", []string{"-r", ok, "--truststore", filepath.Join(dir, "nope.pem")}, nil, "nope.pem", ""},
		{"truststore that is not one", []string{"-r", ok, "--truststore", garbage}, nil, "garbage.pcap", ""},
		{"corrupt truststore", []string{"-r", ok, "--truststore", cutJKS}, nil, "cut.jks", ""},
		{"wrong truststore password", []string{"-r", ok, "--truststore", goodJKS, "--truststore-password", "wrong"}, nil, "password", "--truststore-password"},
		{"default truststore password", []string{"-r", ok, "--truststore", goodJKS}, nil, "password", "--truststore-password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdin io.Reader
			if tc.stdin != nil {
				stdin = bytes.NewReader(tc.stdin)
			}
			r := tlstriage(t, stdin, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, exitUsage, r.stdout, r.stderr)
			}
			if slices.Contains(tc.args, "--json") {
				// --json adds a counters line on stderr; the error is still one line.
				var errs []string
				for _, l := range lines(r.stderr) {
					if strings.HasPrefix(l, "tlstriage: error: ") {
						errs = append(errs, l)
					}
				}
				if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
					t.Errorf("want one error line mentioning %q, got:\n%s", tc.want, r.stderr)
				}
				ndjson(t, r.stdout)
				return
			}
			checkOneError(t, r, tc.want)
			if tc.hint != "" && !strings.Contains(r.stderr, "tlstriage: hint: ") {
				t.Errorf("no hint line")
			} else if tc.hint != "" && !strings.Contains(r.stderr, tc.hint) {
				t.Errorf("hint does not mention %q:\n%s", tc.hint, r.stderr)
			}
		})
	}

	// The right password opens the same store: the failures above are about
	// the password, not the format.
	r := tlstriage(t, nil, "-r", ok, "--truststore", goodJKS, "--truststore-password", "s3cret", "--json")
	if r.code != exitOK {
		t.Fatalf("with the right password: exit status %d; stderr:\n%s", r.code, r.stderr)
	}
	recs := ndjson(t, r.stdout)
	if len(recs) != 1 || !strings.Contains(str(t, recs[0], "trust_store"), "good.jks") {
		t.Errorf("records %v: want one judged against good.jks", recs)
	}
	if chain := array(t, recs[0], "chain"); len(chain) != 2 {
		t.Errorf("chain %v", chain)
	}
}

// TestUnreadableAmongReadable: a missing file does not stop the others
// from being reported, and the exit status says input was unreadable.
func TestUnreadableAmongReadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	r := tlstriage(t, nil, "-r", missing, "-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--json")
	if r.code != exitUsage {
		t.Errorf("exit status %d, want %d", r.code, exitUsage)
	}
	recs := ndjson(t, r.stdout)
	if len(recs) != 1 || str(t, recs[0], "file") != pcap("tls12-playbook-fin-rst-after-cert.pcap") {
		t.Errorf("records %v: want the readable file's connection", recs)
	}
	if n := strings.Count(r.stderr, "tlstriage: error: "); n != 1 || !strings.Contains(r.stderr, "missing.pcap") {
		t.Errorf("want one error naming missing.pcap, got:\n%s", r.stderr)
	}
}

// pcapRecords returns the offset and length of every record of a classic
// little-endian pcap file.
func pcapRecords(t *testing.T, b []byte) (offs, lens []int) {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatal("not a little-endian microsecond pcap")
	}
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		offs, lens = append(offs, off), append(lens, 16+n)
		off += 16 + n
	}
	return offs, lens
}

var frameRE = regexp.MustCompile(`frame (\d+)`)

// checkDamageWarning checks that stderr has exactly one warning line,
// naming the file and the last good frame (or the damaged one).
func checkDamageWarning(t *testing.T, stderr, file string, lastGood int) {
	t.Helper()
	var warns []string
	for _, l := range lines(stderr) {
		switch {
		case strings.HasPrefix(l, "tlstriage: warning: "):
			warns = append(warns, l)
		case strings.HasPrefix(l, "tlstriage: error: "):
			t.Errorf("damaged input reported as an error: %q", l)
		}
	}
	if len(warns) != 1 {
		t.Fatalf("want one warning line, got:\n%s", stderr)
	}
	if !strings.Contains(warns[0], file) {
		t.Errorf("warning %q does not name %s", warns[0], file)
	}
	m := frameRE.FindStringSubmatch(warns[0])
	if m == nil {
		t.Fatalf("warning %q names no frame", warns[0])
	}
	if n, _ := strconv.Atoi(m[1]); n != lastGood && n != lastGood+1 {
		t.Errorf("warning names frame %d, want %d (last good) or %d (damaged)", n, lastGood, lastGood+1)
	}
}

// timelineEnd returns the last frame of a record's timeline.
func timelineEnd(t *testing.T, rec obj) int {
	t.Helper()
	tl := array(t, rec, "timeline")
	return num(t, tl[len(tl)-1], "frame")
}

func TestDamagedInput(t *testing.T) {
	full := readFile(t, pcap("many-connections.pcap"))
	offs, lens := pcapRecords(t, full)
	// Cut in the middle of a packet a little after the middle of the file.
	k := len(offs) * 3 / 5 // 0-based: frame k+1 is damaged
	cut := full[:offs[k]+lens[k]/2]
	dir := t.TempDir()
	damaged := filepath.Join(dir, "truncated.pcap")
	if err := os.WriteFile(damaged, cut, 0o644); err != nil {
		t.Fatal(err)
	}

	whole := runJSON(t, exitFailed, "-r", pcap("many-connections.pcap"))

	t.Run("json", func(t *testing.T) {
		r := tlstriage(t, nil, "-r", damaged, "--json")
		if r.code != exitDamaged {
			t.Fatalf("exit status %d, want %d; stderr:\n%s", r.code, exitDamaged, r.stderr)
		}
		checkDamageWarning(t, r.stderr, damaged, k)
		got := ndjson(t, r.stdout)
		// Every connection over before the damage is reported as in the
		// whole file.
		byClient := map[string]obj{}
		for _, rec := range got {
			byClient[str(t, rec, "client")] = rec
		}
		before := 0
		for _, w := range whole {
			if timelineEnd(t, w) > k {
				continue
			}
			before++
			g, ok := byClient[str(t, w, "client")]
			if !ok {
				t.Errorf("connection from %s (frames up to %d) missing from the damaged report", w["client"], timelineEnd(t, w))
				continue
			}
			if str(t, g, "verdict") != str(t, w, "verdict") || str(t, g, "cause") != str(t, w, "cause") {
				t.Errorf("connection from %s: %s/%s, whole file says %s/%s", w["client"], g["verdict"], g["cause"], w["verdict"], w["cause"])
			}
		}
		if before < 5 {
			t.Fatalf("only %d connections before the damage: cut later", before)
		}
	})

	t.Run("text", func(t *testing.T) {
		r := tlstriage(t, nil, "-r", damaged, "--color", "never", "--brief")
		if r.code != exitDamaged {
			t.Fatalf("exit status %d, want %d", r.code, exitDamaged)
		}
		checkDamageWarning(t, r.stderr, damaged, k)
		if len(lines(r.stderr)) != 1 {
			t.Errorf("stderr is not one line:\n%s", r.stderr)
		}
		checkGolden(t, "damaged.text", "-r $TMP/truncated.pcap --color never --brief", r, dir, "$TMP")
	})

	t.Run("then a good file", func(t *testing.T) {
		good := laterCopy(t, pcap("tls13-ok.pcap"), time.Hour)
		r := tlstriage(t, nil, "-r", damaged, "-r", good, "--json")
		if r.code != exitDamaged {
			t.Errorf("exit status %d, want %d", r.code, exitDamaged)
		}
		recs := ndjson(t, r.stdout)
		if len(recs) == 0 || str(t, recs[len(recs)-1], "file") != good {
			t.Errorf("the file after the damaged one is not reported")
		}
	})

	t.Run("gzip", func(t *testing.T) {
		gz := gzipBytes(t, full)
		p := filepath.Join(dir, "truncated.pcap.gz")
		if err := os.WriteFile(p, gz[:len(gz)*3/5], 0o644); err != nil {
			t.Fatal(err)
		}
		r := tlstriage(t, nil, "-r", p, "--json")
		if r.code != exitDamaged {
			t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitDamaged, r.stderr)
		}
		if len(ndjson(t, r.stdout)) == 0 {
			t.Errorf("no connection reported before the damage")
		}
		if n := strings.Count(r.stderr, "tlstriage: warning: "); n != 1 || !frameRE.MatchString(r.stderr) {
			t.Errorf("want one warning naming a frame:\n%s", r.stderr)
		}
	})

	t.Run("pcapng", func(t *testing.T) {
		ng := readFile(t, pcap("two-interfaces.pcapng"))
		p := filepath.Join(dir, "truncated.pcapng")
		if err := os.WriteFile(p, ng[:len(ng)*4/5], 0o644); err != nil {
			t.Fatal(err)
		}
		r := tlstriage(t, nil, "-r", p, "--json")
		if r.code != exitDamaged {
			t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitDamaged, r.stderr)
		}
		if n := strings.Count(r.stderr, "tlstriage: warning: "); n != 1 || !frameRE.MatchString(r.stderr) {
			t.Errorf("want one warning naming a frame:\n%s", r.stderr)
		}
	})
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
