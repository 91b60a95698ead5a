package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruststoreDirectorySkipped: the files of a truststore directory that
// hold no certificate are named in one warning line and in the trust line,
// and the report is written as usual.
func TestTruststoreDirectorySkipped(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", readFile(t, pki("truststore-root.pem")))
	write("README", []byte("our CA certificates\n"))
	write("key.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	if err := os.Symlink("root.pem", filepath.Join(dir, "5ed36f99.0")); err != nil { // openssl rehash
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "java"), 0o755); err != nil {
		t.Fatal(err)
	}
	warning := "tlstriage: warning: truststore " + dir + ": skipped 2 files that hold no PEM or DER certificate: " +
		"README (not PEM or DER), key.pem (a private key, no certificate)"
	name := dir + " (1 certificate; 2 files skipped: README, key.pem)"

	r := tlstriage(t, nil, "-r", pcap("tls12-ok.pcap"), "--truststore", dir)
	if r.code != exitOK {
		t.Fatalf("exit status %d; stderr:\n%s", r.code, r.stderr)
	}
	if ls := lines(r.stderr); len(ls) != 1 || ls[0] != warning {
		t.Errorf("stderr:\n%s\nwant the one line\n%s", r.stderr, warning)
	}
	if want := "  trust judged against: " + name + "\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}

	recs := runJSON(t, exitOK, "-r", pcap("tls12-ok.pcap"), "--truststore", dir)
	if len(recs) != 1 || str(t, recs[0], "trust_store") != name {
		t.Errorf("trust_store = %v, want %q", recs, name)
	}
}

// TestTruststoreUnreadable: a truststore that cannot be used stops the
// command with one error line naming the file, and the password hint only
// when the password may be wrong.
func TestTruststoreUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), readFile(t, pki("truststore-root.pem")), 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "5ed36f99.0")
	if err := os.Symlink("gone.pem", dangling); err != nil {
		t.Fatal(err)
	}
	good := jks(t, "changeit")
	der := rootCert(t).Raw
	corrupted := writeTemp(t, "corrupted.jks", flipByte(good, bytes.Index(good, der)+len(der)-1))
	goodJKS := writeTemp(t, "good.jks", good)

	tests := []struct {
		name  string
		args  []string
		error string
		hint  string
	}{
		{"dangling symlink in a directory", []string{"--truststore", dir},
			"truststore: " + dangling + ": no such file (symbolic link to gone.pem, which does not exist)", ""},
		{"corrupted JKS", []string{"--truststore", corrupted},
			"truststore: " + corrupted + `: corrupted JKS keystore (integrity check failed): entry "tlstriage test root ca" (CN=tlstriage Test Root CA): the certificate's signature does not match its content`, ""},
		{"wrong password", []string{"--truststore", goodJKS, "--truststore-password", "nope"},
			"truststore: " + goodJKS + ": wrong password (keystore integrity check failed; the entries look intact)",
			"give the truststore's password with --truststore-password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tlstriage(t, nil, append([]string{"-r", pcap("tls12-ok.pcap")}, tc.args...)...)
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d", r.code, exitUsage)
			}
			want := []string{"tlstriage: error: " + tc.error}
			if tc.hint != "" {
				want = append(want, "tlstriage: hint: "+tc.hint)
			}
			if got := lines(r.stderr); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, strings.Join(want, "\n"))
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
}

func flipByte(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}
