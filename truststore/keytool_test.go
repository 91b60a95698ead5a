package truststore

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
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

// TestKeytoolDamagedStores: stores written by keytool, loaded with a wrong
// password and with a byte changed in the header, in a certificate and in
// the digest or MAC.
func TestKeytoolDamagedStores(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	rootPEM := writeFile(t, dir, "root.pem", pemOf(t, p.root))
	type store struct{ typ, kind string }
	for _, st := range []store{{"JKS", "trust"}, {"JKS", "key"}, {"PKCS12", "trust"}, {"PKCS12", "key"}} {
		t.Run(st.typ+" "+st.kind, func(t *testing.T) {
			path := filepath.Join(dir, st.kind+"."+st.typ)
			if st.kind == "trust" {
				keytool(t, "-importcert", "-noprompt", "-alias", "myroot", "-file", rootPEM, "-keystore", path, "-storetype", st.typ, "-storepass", "changeit")
			} else {
				keytool(t, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-dname", "CN=server.test", "-validity", "30",
					"-keystore", path, "-storetype", st.typ, "-storepass", "changeit", "-keypass", "changeit")
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Load([]string{path}, "changeit"); err != nil {
				t.Fatalf("intact store: %v", err)
			}
			type damage struct {
				name string
				at   int
				is   error
				msg  string
			}
			var cases []damage
			if st.typ == "JKS" {
				var der []byte
				if st.kind == "trust" {
					der = p.root.Raw
				} else {
					f, err := walkJKS(data)
					if err != nil {
						t.Fatal(err)
					}
					der = f.entries[0].certs[0].der
				}
				cert := bytes.Index(data, der)
				cases = []damage{
					{"header", 7, ErrCorrupt, "corrupted JKS keystore: unknown version 253"},
					{"certificate", cert + len(der) - 1, ErrCorrupt, "corrupted JKS keystore (integrity check failed): entry "},
				}
				if st.kind == "trust" {
					// Only the digest changed: nothing to tell it from a wrong password.
					cases = append(cases, damage{"digest", len(data) - 1, ErrWrongPassword, "wrong password (keystore integrity check failed; the entries look intact)"})
				} else {
					cases = append(cases, damage{"digest", len(data) - 1, ErrCorrupt, `corrupted JKS keystore: the integrity check failed although the password opens the private key of entry "server"`})
				}
			} else {
				mac, enc := pfxParts(t, data)
				cases = []damage{
					{"header", 6, ErrCorrupt, "corrupted PKCS#12 file: PFX version -4, want 3"},
					{"certificate", offset(data, enc) + len(enc)/2, ErrCorrupt, "corrupted PKCS#12 file (MAC check failed): "},
					{"MAC", offset(data, mac) + 3, ErrCorrupt, "corrupted PKCS#12 file: the MAC check failed although the password decrypts the contents"},
				}
			}
			for _, d := range cases {
				damaged := writeFile(t, dir, "damaged", flip(data, d.at))
				_, err := Load([]string{damaged}, "changeit")
				if !errors.Is(err, d.is) || !strings.HasPrefix(err.Error(), "truststore: "+damaged+": "+d.msg) {
					t.Errorf("byte changed in the %s: %v\nwant %q", d.name, err, d.msg)
				}
			}
			_, err = Load([]string{path}, "notit!")
			want := "wrong password"
			if !errors.Is(err, ErrWrongPassword) || !strings.HasPrefix(err.Error(), "truststore: "+path+": "+want) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// TestOpenSSLUnencryptedPKCS12: certificates stored without encryption
// ("openssl pkcs12 -certpbe NONE") are checked when the MAC fails.
func TestOpenSSLUnencryptedPKCS12(t *testing.T) {
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	p := newPKI(t)
	dir := t.TempDir()
	in := writeFile(t, dir, "root.pem", pemOf(t, p.root))
	out := filepath.Join(dir, "plain.p12")
	if b, err := exec.CommandContext(t.Context(), path, "pkcs12", "-export", "-nokeys", "-certpbe", "NONE", "-in", in, "-out", out, "-passout", "pass:changeit").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load([]string{out}, "wrong")
	if want := "truststore: " + out + ": wrong password (PKCS#12 MAC check failed; the certificates look intact)"; !errors.Is(err, ErrWrongPassword) || err.Error() != want {
		t.Errorf("wrong password: %v\nwant %s", err, want)
	}
	damaged := writeFile(t, dir, "damaged.p12", flip(data, bytes.Index(data, p.root.Raw)+len(p.root.Raw)-1))
	_, err = Load([]string{damaged}, "changeit")
	if want := "truststore: " + damaged + ": corrupted PKCS#12 file (MAC check failed): certificate 1 (CN=Test Root CA): the certificate's signature does not match its content"; !errors.Is(err, ErrCorrupt) || err.Error() != want {
		t.Errorf("changed certificate: %v\nwant %s", err, want)
	}
}
