package truststore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadDirectory reads a CA directory as openssl rehash leaves it, with
// the files people keep beside the certificates.
func TestLoadDirectory(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	crl := []byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n")
	writeFile(t, dir, "a.pem", pemOf(t, p.root))
	writeFile(t, dir, "b.der", p.other.Raw)
	writeFile(t, dir, "c.pem", pemOf(t, p.root)) // the same certificate in another file
	writeFile(t, dir, "README", []byte("Certificates of our CAs. Run openssl rehash after adding one.\n"))
	writeFile(t, dir, "ca.srl", []byte("1000\n")) // openssl x509 -CAserial
	writeFile(t, dir, "ca.key", []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	writeFile(t, dir, "empty.pem", nil)
	writeFile(t, dir, "crl.pem", crl)
	writeFile(t, dir, "store.jks", jksOf(t, "changeit", p.inter))
	writeFile(t, dir, "bad.pem", append(pemOf(t, p.inter), "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"...))
	writeFile(t, mkdir(t, filepath.Join(dir, "java")), "x.pem", pemOf(t, p.leaf)) // not read
	mkdir(t, filepath.Join(dir, "x.pem"))                                         // a directory, not read
	// openssl rehash links: to a certificate, to a CRL, and to a file
	// outside the directory (as /etc/ssl/certs links into
	// /usr/share/ca-certificates).
	symlink(t, "a.pem", filepath.Join(dir, "5ed36f99.0"))
	symlink(t, "crl.pem", filepath.Join(dir, "0a1b2c3d.r0"))
	elsewhere := writeFile(t, t.TempDir(), "leaf.crt", pemOf(t, p.leaf))
	symlink(t, elsewhere, filepath.Join(dir, "f00dcafe.0"))

	s, err := Load([]string{dir}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	sameCerts(t, s, p.root, p.other, p.inter, p.leaf)
	if m, _ := s.Contains(p.root); m.File != filepath.Join(dir, "a.pem") || m.Alias != "a.pem#0" {
		t.Errorf("root read from %q as %q, want a.pem#0: a hash link is read after the file it points to", m.File, m.Alias)
	}
	if m, _ := s.Contains(p.leaf); m.File != filepath.Join(dir, "f00dcafe.0") {
		t.Errorf("leaf read from %q, want the hash link", m.File)
	}
	want := []Skipped{
		{dir, filepath.Join(dir, "README"), "", "not PEM or DER"},
		{dir, filepath.Join(dir, "bad.pem"), "bad.pem#1", "does not parse: x509: malformed tbs certificate"},
		{dir, filepath.Join(dir, "ca.key"), "", "a private key, no certificate"},
		{dir, filepath.Join(dir, "ca.srl"), "", "not PEM or DER"},
		{dir, filepath.Join(dir, "crl.pem"), "", "a CRL, no certificate"},
		{dir, filepath.Join(dir, "empty.pem"), "", "empty file"},
		{dir, filepath.Join(dir, "store.jks"), "", "a Java key store; give it by name"},
	}
	if !reflect.DeepEqual(s.Skipped, want) {
		t.Errorf("Skipped =\n%q\nwant\n%q", s.Skipped, want)
	}
	wantName := dir + " (4 certificates; 6 files skipped: README, ca.key, ca.srl and 3 more; 1 certificate skipped: bad.pem#1)"
	if s.Name != wantName {
		t.Errorf("Name = %q\nwant   %q", s.Name, wantName)
	}
	wantWarn := []string{"truststore " + dir + ": skipped 6 files that hold no PEM or DER certificate: " +
		"README (not PEM or DER), ca.key (a private key, no certificate), ca.srl (not PEM or DER), " +
		"crl.pem (a CRL, no certificate), empty.pem (empty file), store.jks (a Java key store; give it by name); " +
		"skipped 1 certificate: bad.pem#1 (does not parse: x509: malformed tbs certificate)"}
	if got := s.Warnings(); !reflect.DeepEqual(got, wantWarn) {
		t.Errorf("Warnings() =\n%q\nwant\n%q", got, wantWarn)
	}
}

// TestSkippedReasons names what a file of a directory holds when it holds
// no certificate.
func TestSkippedReasons(t *testing.T) {
	p := newPKI(t)
	block := func(typ string) string { return "-----BEGIN " + typ + "-----\nAAAA\n-----END " + typ + "-----\n" }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"text", []byte("hello\n"), "not PEM or DER"},
		{"binary", []byte{0xff, 0x00, 0x13}, "not PEM or DER"},
		{"empty", nil, "empty file"},
		{"key", []byte(block("PRIVATE KEY")), "a private key, no certificate"},
		{"rsa key", []byte(block("RSA PRIVATE KEY")), "a private key, no certificate"},
		{"csr", []byte(block("CERTIFICATE REQUEST")), "a certificate request, no certificate"},
		{"key and csr", []byte(block("ENCRYPTED PRIVATE KEY") + block("NEW CERTIFICATE REQUEST")), "a private key and a certificate request, no certificate"},
		{"public key", []byte(block("PUBLIC KEY")), "a public key, no certificate"},
		{"dh params", []byte(block("DH PARAMETERS")), "a PEM DH PARAMETERS block, no certificate"},
		{"broken pem", []byte("-----BEGIN CERTIFICATE-----\n!!!\n"), "no PEM block decodes"},
		{"der of another kind", []byte{0x30, 0x03, 0x02, 0x01, 0x05}, "DER that does not parse as a certificate: x509: malformed tbs certificate"},
		{"der crl", derCRL(t), "a CRL, no certificate"},
		{"pkcs12", p12Of(t, "changeit", p.root), "a PKCS#12 file; give it by name"},
		{"pkcs7", []byte(block("PKCS7")), "a PKCS#7 bundle; convert it with openssl pkcs7 -print_certs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "root.pem", pemOf(t, p.root))
			path := writeFile(t, dir, "x", tt.data)
			s, err := Load([]string{dir}, "changeit")
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Skipped) != 1 || s.Skipped[0].Path != path || s.Skipped[0].Reason != tt.want {
				t.Errorf("Skipped = %q, want x: %q", s.Skipped, tt.want)
			}
		})
	}
}

// derCRL returns an empty CRL, DER-encoded, signed by a new CA.
func derCRL(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CRL CA"},
		NotBefore: testTime, NotAfter: testTime.Add(time.Hour),
		KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: []byte{1, 2, 3},
	}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: testTime, NextUpdate: testTime.Add(time.Hour)}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestWarningsCap: a warning names at most 8 files, a Name 3.
func TestWarningsCap(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	writeFile(t, dir, "root.pem", pemOf(t, p.root))
	for i := range 10 {
		writeFile(t, dir, fmt.Sprintf("note%d.txt", i), []byte("x"))
	}
	other := writeFile(t, t.TempDir(), "other.pem", pemOf(t, p.other))
	s, err := Load([]string{dir, other}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + " (1 certificate; 10 files skipped: note0.txt, note1.txt, note2.txt and 7 more), " + other + " (1 certificate)"; s.Name != want {
		t.Errorf("Name = %q\nwant   %q", s.Name, want)
	}
	w := s.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "truststore "+dir+": skipped 10 files that hold no PEM or DER certificate: note0.txt (not PEM or DER), ") ||
		!strings.HasSuffix(w[0], ", note7.txt (not PEM or DER) and 2 more") {
		t.Errorf("Warnings() = %q", w)
	}
	if w := (&Store{}).Warnings(); w != nil {
		t.Errorf("Warnings() of a store with nothing skipped = %q", w)
	}
}
