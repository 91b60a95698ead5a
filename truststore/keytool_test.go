package truststore

import (
	"context"
	"crypto/x509"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keytool runs the JDK's keytool, skipping the test when it is not on PATH.
func keytool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("keytool")
	if err != nil {
		t.Skip("keytool not on PATH; install a JDK to check interoperability with Java")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("keytool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestKeytoolStores loads trust and key stores written by keytool.
func TestKeytoolStores(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	rootPEM := writeFile(t, dir, "root.pem", pemOf(t, p.root))
	otherPEM := writeFile(t, dir, "other.pem", pemOf(t, p.other))
	for _, typ := range []string{"JKS", "PKCS12"} {
		t.Run(typ, func(t *testing.T) {
			ts := filepath.Join(dir, "ts-"+typ)
			for alias, f := range map[string]string{"myroot": rootPEM, "otherroot": otherPEM} {
				keytool(t, "-importcert", "-noprompt", "-alias", alias, "-file", f, "-keystore", ts, "-storetype", typ, "-storepass", "changeit")
			}
			s, err := Load([]string{ts}, "changeit")
			if err != nil {
				t.Fatal(err)
			}
			sameCerts(t, s, p.root, p.other)
			if typ == "JKS" {
				if m, _ := s.Contains(p.root); m.Alias != "myroot" {
					t.Errorf("alias = %q, want myroot", m.Alias)
				}
			}
			if _, err := Load([]string{ts}, "notit!"); err == nil || !strings.Contains(err.Error(), "wrong password") {
				t.Errorf("wrong password: %v", err)
			}

			// A key store with one key pair: Java trusts the key entry's
			// own certificate.
			ks := filepath.Join(dir, "ks-"+typ)
			keytool(t, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-dname", "CN=server.test", "-validity", "30",
				"-keystore", ks, "-storetype", typ, "-storepass", "changeit", "-keypass", "changeit")
			s, err = Load([]string{ks}, "changeit")
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != 1 || s.Certs[0].Cert.Subject.CommonName != "server.test" {
				t.Errorf("key store: %d certificates, first %v", s.Len(), s.Certs[0].Cert.Subject)
			}
		})
	}
}

// TestKeytoolReadsWriters checks that keytool reads what WriteJKS and
// WritePKCS12 write, as trusted certificate entries.
func TestKeytoolReadsWriters(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	certs := []*x509.Certificate{p.root, p.other}
	for name, data := range map[string][]byte{
		"w.jks": jksOf(t, "changeit", certs...),
		"w.p12": p12Of(t, "changeit", certs...),
	} {
		f := writeFile(t, dir, name, data)
		out := keytool(t, "-list", "-keystore", f, "-storepass", "changeit")
		if !strings.Contains(out, "contains 2 entries") || strings.Count(out, "trustedCertEntry") != 2 {
			t.Errorf("keytool -list %s:\n%s", name, out)
		}
		if !strings.Contains(out, "test root ca,") || !strings.Contains(out, strings.ToUpper(colonHex(SHA256Hex(p.root.Raw)))) {
			t.Errorf("keytool -list %s: alias or fingerprint of the root missing:\n%s", name, out)
		}
	}
}

func colonHex(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// TestOpenSSLNoKeysPKCS12 checks the diagnosis of a PKCS#12 file made by
// "openssl pkcs12 -export -nokeys", whose certificates Java ignores.
func TestOpenSSLNoKeysPKCS12(t *testing.T) {
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	p := newPKI(t)
	dir := t.TempDir()
	in := writeFile(t, dir, "root.pem", pemOf(t, p.root))
	out := filepath.Join(dir, "nokeys.p12")
	if b, err := exec.CommandContext(t.Context(), path, "pkcs12", "-export", "-nokeys", "-in", in, "-out", out, "-passout", "pass:changeit").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	_, err = Load([]string{out}, "changeit")
	if err == nil || !strings.Contains(err.Error(), "lack Java's trusted-certificate attribute") {
		t.Errorf("Load = %v, want the trusted-attribute diagnosis", err)
	}
}
