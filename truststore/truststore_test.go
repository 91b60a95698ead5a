package truststore

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t testing.TB, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pemOf(t testing.TB, certs ...*x509.Certificate) []byte {
	return encode(t, func(b *bytes.Buffer) error { return WritePEM(b, certs) })
}

func jksOf(t testing.TB, pw string, certs ...*x509.Certificate) []byte {
	return encode(t, func(b *bytes.Buffer) error { return WriteJKS(b, certs, pw) })
}

func p12Of(t testing.TB, pw string, certs ...*x509.Certificate) []byte {
	return encode(t, func(b *bytes.Buffer) error { return WritePKCS12(b, certs, pw) })
}

// sameCerts checks that s holds exactly want, in any order.
func sameCerts(t *testing.T, s *Store, want ...*x509.Certificate) {
	t.Helper()
	if s.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", s.Len(), len(want))
	}
	for _, w := range want {
		if m, how := s.Contains(w); how != "sha256" || !m.Cert.Equal(w) {
			t.Errorf("Contains(%s) = %v, %q; want sha256 match", w.Subject, m, how)
		}
	}
}

func TestLoadFormats(t *testing.T) {
	p := newPKI(t)
	withKey := append(pemOf(t, p.root), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")...)
	tests := []struct {
		name, file, password string
		data                 []byte
		want                 []*x509.Certificate
		alias                string // alias of the first certificate
	}{
		{"pem bundle", "bundle.pem", "", pemOf(t, p.root, p.other), []*x509.Certificate{p.root, p.other}, "bundle.pem#0"},
		{"pem with key and text", "mixed.crt", "", append([]byte("Subject: whatever\n"), withKey...), []*x509.Certificate{p.root}, "mixed.crt#0"},
		{"pem duplicates", "dup.pem", "", pemOf(t, p.root, p.root), []*x509.Certificate{p.root}, "dup.pem#0"},
		{"der", "root.cer", "", p.root.Raw, []*x509.Certificate{p.root}, "root.cer#0"},
		{"der concatenated", "two.der", "", append(append([]byte{}, p.root.Raw...), p.other.Raw...), []*x509.Certificate{p.root, p.other}, "two.der#0"},
		{"jks", "ts.jks", "changeit", jksOf(t, "changeit", p.root, p.other), []*x509.Certificate{p.root, p.other}, "other root ca"},
		{"jks no password", "ts.jks", "", jksOf(t, "changeit", p.root), []*x509.Certificate{p.root}, "test root ca"},
		{"pkcs12", "ts.p12", "changeit", p12Of(t, "changeit", p.root, p.other), []*x509.Certificate{p.root, p.other}, "ts.p12#0"},
		{"pkcs12 passwordless, empty password", "np.p12", "", p12Of(t, "", p.root), []*x509.Certificate{p.root}, "np.p12#0"},
		{"pkcs12 passwordless, default password", "np.p12", "changeit", p12Of(t, "", p.root), []*x509.Certificate{p.root}, "np.p12#0"},
		{"pkcs12 empty password", "ep.p12", "", encode(t, func(b *bytes.Buffer) error {
			data, err := pkcs12Modern().EncodeTrustStore([]*x509.Certificate{p.root}, "")
			b.Write(data)
			return err
		}), []*x509.Certificate{p.root}, "ep.p12#0"},
		// The name says PEM, the content is JKS: content wins.
		{"misnamed", "jks.pem", "changeit", jksOf(t, "changeit", p.root), []*x509.Certificate{p.root}, "test root ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tt.file, tt.data)
			s, err := Load([]string{path}, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			sameCerts(t, s, tt.want...)
			if got := s.Certs[0].Alias; got != tt.alias {
				t.Errorf("alias = %q, want %q", got, tt.alias)
			}
			if s.Certs[0].File != path {
				t.Errorf("File = %q, want %q", s.Certs[0].File, path)
			}
			if s.BuiltIn || len(s.Files) != 1 || s.Files[0] != path {
				t.Errorf("BuiltIn = %v, Files = %q", s.BuiltIn, s.Files)
			}
			if want := path + " (" + countCerts(len(tt.want)) + ")"; s.Name != want {
				t.Errorf("Name = %q, want %q", s.Name, want)
			}
		})
	}
}

func TestLoadMerge(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jks", jksOf(t, "pw1234", p.root, p.other))
	b := writeFile(t, dir, "b.pem", pemOf(t, p.root, p.inter))
	s, err := Load([]string{a, b}, "pw1234")
	if err != nil {
		t.Fatal(err)
	}
	sameCerts(t, s, p.root, p.other, p.inter)
	want := a + " (2 certificates), " + b + " (2 certificates)"
	if s.Name != want {
		t.Errorf("Name = %q, want %q", s.Name, want)
	}
	if m, _ := s.Contains(p.root); m.File != a {
		t.Errorf("duplicate kept from %q, want the first file %q", m.File, a)
	}
}

func TestLookups(t *testing.T) {
	p := newPKI(t)
	s := New("test", []*x509.Certificate{p.root, p.inter, p.root})
	if s.Len() != 2 {
		t.Fatalf("Len() = %d, want 2 (duplicates dropped)", s.Len())
	}
	if m, how := s.Contains(p.root); how != "sha256" || m.Cert != p.root {
		t.Errorf("Contains(root) = %v, %q", m, how)
	}
	if m, how := s.Contains(p.reissued); how != "subject+key" || m.Cert != p.root {
		t.Errorf("Contains(reissued) = %v, %q; want root, subject+key", m, how)
	}
	if m, how := s.Contains(p.other); m != nil || how != "" {
		t.Errorf("Contains(other) = %v, %q; want no match", m, how)
	}
	if m, how := s.Contains(nil); m != nil || how != "" {
		t.Errorf("Contains(nil) = %v, %q", m, how)
	}
	if got := s.BySubject(p.inter.RawIssuer); len(got) != 1 || got[0].Cert != p.root {
		t.Errorf("BySubject(inter issuer) = %v", got)
	}
	if got := s.BySubject(p.other.RawSubject); got != nil {
		t.Errorf("BySubject(other) = %v, want none", got)
	}
	if got := s.BySubjectKeyID(p.leaf.AuthorityKeyId); len(got) != 1 || got[0].Cert != p.inter {
		t.Errorf("BySubjectKeyID(leaf AKID) = %v, want inter", got)
	}
	if got := s.BySubjectKeyID(nil); got != nil {
		t.Errorf("BySubjectKeyID(nil) = %v", got)
	}

	// Pool: the leaf verifies against a store with the root, not without.
	inters := x509.NewCertPool()
	inters.AddCert(p.inter)
	opts := x509.VerifyOptions{Roots: New("root", []*x509.Certificate{p.root}).Pool(), Intermediates: inters, CurrentTime: testTime}
	if _, err := p.leaf.Verify(opts); err != nil {
		t.Errorf("Verify with root store: %v", err)
	}
	opts.Roots = New("other", []*x509.Certificate{p.other}).Pool()
	if _, err := p.leaf.Verify(opts); err == nil {
		t.Error("Verify with other store succeeded")
	}
	var nilStore *Store
	if nilStore.Len() != 0 || nilStore.BySubject(nil) != nil || nilStore.Pool() == nil {
		t.Error("nil store misbehaves")
	}
}

func TestMozilla(t *testing.T) {
	m := Mozilla()
	if m != Mozilla() {
		t.Error("Mozilla() returned a new store")
	}
	if !m.BuiltIn || m.Len() < 100 {
		t.Fatalf("BuiltIn = %v, Len = %d", m.BuiltIn, m.Len())
	}
	if want := "built-in Mozilla roots (" + countCerts(m.Len()) + ")"; m.Name != want {
		t.Errorf("Name = %q, want %q", m.Name, want)
	}
	var isrg *Cert
	for _, c := range m.Certs {
		if c.Cert.Subject.CommonName == "ISRG Root X1" {
			isrg = c
		}
	}
	if isrg == nil {
		t.Fatal("ISRG Root X1 missing")
	}
	if got := SHA256Hex(isrg.Cert.Raw); got != "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6" {
		t.Errorf("SHA256Hex(ISRG Root X1) = %s", got)
	}
	if _, how := m.Contains(isrg.Cert); how != "sha256" {
		t.Errorf("Contains(ISRG Root X1) = %q", how)
	}
	if got := m.BySubject(isrg.Cert.RawSubject); len(got) != 1 {
		t.Errorf("BySubject(ISRG Root X1) = %d certs", len(got))
	}
	if got := m.BySubjectKeyID(isrg.Cert.SubjectKeyId); len(got) != 1 {
		t.Errorf("BySubjectKeyID(ISRG Root X1) = %d certs", len(got))
	}
	p := newPKI(t)
	if _, how := m.Contains(p.root); how != "" {
		t.Errorf("test root found in Mozilla store: %q", how)
	}
}

func TestWritePEM(t *testing.T) {
	p := newPKI(t)
	data := pemOf(t, p.root, p.other)
	var got []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || b.Type != "CERTIFICATE" {
			t.Fatalf("block %q: %v", b.Type, err)
		}
		got = append(got, c)
	}
	if len(got) != 2 || !got[0].Equal(p.root) || !got[1].Equal(p.other) {
		t.Errorf("round trip gave %d certificates", len(got))
	}
	if err := WritePEM(&bytes.Buffer{}, []*x509.Certificate{nil}); err == nil || !strings.HasPrefix(err.Error(), "truststore: ") {
		t.Errorf("WritePEM(nil cert) = %v", err)
	}
}

func TestWriteJKSDeterministic(t *testing.T) {
	p := newPKI(t)
	a := jksOf(t, "changeit", p.root, p.other, p.reissued)
	b := jksOf(t, "changeit", p.root, p.other, p.reissued)
	if !bytes.Equal(a, b) {
		t.Error("WriteJKS output differs between runs")
	}
	f, err := walkJKS(a)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range f.trustEntries().anchors {
		got = append(got, e.alias)
	}
	if want := "other root ca,test root ca,test root ca (2)"; strings.Join(got, ",") != want {
		t.Errorf("aliases = %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	jks := jksOf(t, "changeit", p.root, p.other)
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	junkDir := filepath.Join(dir, "junk")
	if err := os.Mkdir(junkDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, junkDir, "notes.txt", []byte("hello"))
	keyOnly := []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	jceks := append([]byte{0xce, 0xce, 0xce, 0xce}, jks[4:]...)
	emptyJKS := jksOf(t, "changeit")
	pkcs7 := []byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x00}

	tests := []struct {
		name     string
		path     string // used as is when data is nil
		data     []byte
		password string
		is       error
		msg      string // the error message after "truststore: <path>: "
	}{
		{"wrong password jks", "ts.jks", jks, "wrong", ErrWrongPassword, "wrong password (keystore integrity check failed; the entries look intact)"},
		{"wrong password p12", "x.p12", p12Of(t, "changeit", p.root), "wrong", ErrWrongPassword, "wrong password (PKCS#12 MAC check failed, and the password does not decrypt the contents)"},
		{"empty password p12", "x.p12", p12Of(t, "changeit", p.root), "", ErrWrongPassword, "wrong password"},
		{"truncated jks", "a.jks", jks[:len(jks)/2], "changeit", ErrCorrupt, "corrupted JKS keystore: entry"},
		{"jks without digest", "a.jks", jks[:len(jks)-20], "changeit", ErrCorrupt, "corrupted JKS keystore: integrity digest cut short"},
		{"jks header only", "a.jks", jks[:6], "changeit", ErrCorrupt, "corrupted JKS keystore: header cut short"},
		{"jks bad version", "a.jks", append([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 7}, jks[8:]...), "changeit", ErrCorrupt, "corrupted JKS keystore: unknown version 7"},
		{"jks huge length", "a.jks", []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'X', '.', '5', '0', '9', 0xff, 0xff, 0xff, 0xff}, "changeit", ErrCorrupt, `corrupted JKS keystore: entry "a" cut short`},
		{"empty jks", "e.jks", emptyJKS, "changeit", ErrNoCertificates, "no certificates found (the key store has no entries)"},
		{"jceks", "k.jceks", jceks, "changeit", ErrUnsupported, "unsupported: JCEKS key store"},
		{"truncated p12", "x.p12", p12Of(t, "changeit", p.root)[:200], "changeit", ErrCorrupt, "corrupted PKCS#12 file: error reading P12 data: asn1: syntax error: data truncated"},
		{"pkcs7", "b.p7b", pkcs7, "", ErrUnsupported, "unsupported: PKCS#7 bundle"},
		{"pem pkcs7", "b.p7b", []byte("-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n"), "", ErrUnsupported, "unsupported: PKCS#7 bundle"},
		{"garbage", "foo.txt", []byte("hello, world\n"), "", ErrNoCertificates, "no certificates found (not PEM, DER, JKS or PKCS#12)"},
		{"bad der", "foo.der", []byte{0x30, 0x03, 0x02, 0x01}, "", ErrNoCertificates, "no certificates found (not PEM, DER, JKS or PKCS#12)"},
		{"key only", "key.pem", keyOnly, "", ErrNoCertificates, "no certificates found (PEM file holds only PRIVATE KEY blocks)"},
		{"bad pem certificate", "bad.pem", []byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), "", ErrNoCertificates, "no certificates found (1 certificate skipped: bad.pem#0 (does not parse: x509: "},
		{"empty file", "empty.pem", []byte{}, "", ErrNoCertificates, "no certificates found (empty file)"},
		{"missing file", filepath.Join(dir, "nope.jks"), nil, "", fs.ErrNotExist, "no such file"},
		{"missing dir", filepath.Join(dir, "dir") + "/", nil, "", fs.ErrNotExist, "no such file"},
		{"empty dir", emptyDir, nil, "", ErrNoCertificates, "no certificates found (empty directory)"},
		{"dir without certificates", junkDir, nil, "", ErrNoCertificates, "no certificates found in directory (1 file skipped: notes.txt (not PEM or DER))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.data != nil {
				path = writeFile(t, t.TempDir(), tt.path, tt.data)
			}
			s, err := Load([]string{path}, tt.password)
			if err == nil {
				t.Fatalf("Load succeeded: %s", s.Name)
			}
			if s != nil {
				t.Error("Load returned a store with an error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			var te *Error
			if !errors.As(err, &te) || te.Path != path {
				t.Errorf("error %#v is not an *Error for %q", err, path)
			}
			prefix := "truststore: " + path + ": "
			if !strings.HasPrefix(err.Error(), prefix+tt.msg) {
				t.Errorf("error = %q\nwant prefix %q", err, prefix+tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines: %q", err)
			}
		})
	}
	if _, err := Load(nil, ""); err == nil || !strings.HasPrefix(err.Error(), "truststore: ") {
		t.Errorf("Load(nil) = %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}

func TestMaxIterationCount(t *testing.T) {
	p := newPKI(t)
	if n := maxIterationCount(p12Of(t, "changeit", p.root), 0); n != 2048 {
		t.Errorf("Modern PKCS#12: %d iterations, want 2048", n)
	}
	if n := maxIterationCount(p12Of(t, "", p.root), 0); n != 0 {
		t.Errorf("passwordless PKCS#12: %d iterations, want 0", n)
	}
	// PFX { 3, ContentInfo {}, MacData { DigestInfo {}, salt, 2^30 } }
	huge := []byte{0x30, 0x13, 0x02, 0x01, 0x03, 0x30, 0x00, 0x30, 0x0c, 0x30, 0x00, 0x04, 0x02, 0xaa, 0xbb, 0x02, 0x04, 0x40, 0x00, 0x00, 0x00}
	if n := maxIterationCount(huge, 0); n != 1<<30 {
		t.Errorf("crafted PFX: %d iterations, want 2^30", n)
	}
	path := writeFile(t, t.TempDir(), "huge.p12", huge)
	if _, err := Load([]string{path}, "changeit"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "iteration count 1073741824 exceeds") {
		t.Errorf("Load(huge iterations) = %v", err)
	}
}
