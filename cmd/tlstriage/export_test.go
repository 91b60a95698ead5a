package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/truststore"
)

// readDir returns the files of dir by name with their content.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		m[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return m
}

// TestExportCertsNoOverwrite: --export-certs never replaces a file that
// exists unless --force: the run says so in one error (exit status 2),
// after the report, and leaves every existing file as it was.
func TestExportCertsNoOverwrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	args := []string{"-r", pcap("tls12-alert-unknown-ca.pcap"), "--export-certs", out}
	r := tlstriage(t, nil, args...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "tlstriage: wrote ") {
		t.Fatalf("first export: exit status %d, stderr:\n%s", r.code, r.stderr)
	}
	first := readDir(t, out)
	if len(first) < 2 {
		t.Fatalf("%d files exported, want the chain", len(first))
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range first {
			if !yield(n) {
				return
			}
		}
	})
	victim := filepath.Join(out, names[0])
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}

	r = tlstriage(t, nil, args...)
	if r.code != exitUsage {
		t.Errorf("second export without --force: exit status %d, want %d", r.code, exitUsage)
	}
	var errs []string
	for _, l := range lines(r.stderr) {
		if strings.HasPrefix(l, "tlstriage: error: ") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "already exists") || !strings.Contains(errs[0], "--force") {
		t.Errorf("want one error saying a file exists and naming --force, got:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "Verdict") {
		t.Errorf("the report is missing:\n%s", r.stdout)
	}
	now := readDir(t, out)
	for name, b := range now {
		want := first[name]
		if name == names[0] {
			want = []byte("keep me")
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s was overwritten without --force", name)
		}
	}

	r = tlstriage(t, nil, append(args, "--force")...)
	if r.code != exitFailed || strings.Contains(r.stderr, "error") {
		t.Fatalf("export with --force: exit status %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := readFile(t, victim); !bytes.Equal(got, first[names[0]]) {
		t.Errorf("--force did not rewrite %s: %q", victim, got)
	}
}

// TestExportCertsTwoChains: two different chains from the same server and
// name in one run are both exported, under names of their own; neither
// overwrites the other, with --force or without.
func TestExportCertsTwoChains(t *testing.T) {
	var pkts []pcaptest.Packet
	var want int
	for i := range 2 {
		pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := pcaptest.Record(pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS12, Close: pcaptest.CloseClientFirst})
		if err != nil {
			t.Fatal(err)
		}
		p, err := pcaptest.Frame(c, pcaptest.FrameOptions{
			Client: netip.AddrPortFrom(pcaptest.DefaultClient.Addr(), uint16(40000+i)),
			Start:  pcaptest.DefaultStart.Add(time.Duration(i) * time.Second),
		})
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p...)
		want += len(pki.Chain(pcaptest.ChainLeafIntermediate))
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcap(&b, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	capFile := writeTemp(t, "two-chains.pcap", b.Bytes())
	for _, force := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "certs")
		args := []string{"-r", capFile, "--export-certs", out}
		if force {
			args = append(args, "--force")
		}
		r := tlstriage(t, nil, args...)
		if strings.Contains(r.stderr, "error") || r.code == exitUsage {
			t.Fatalf("force %v: exit status %d, stderr:\n%s", force, r.code, r.stderr)
		}
		files := readDir(t, out)
		if len(files) != want {
			t.Errorf("force %v: %d files exported, want %d (both chains)", force, len(files), want)
		}
		seen := map[string]bool{}
		for name, pem := range files {
			if seen[string(pem)] {
				t.Errorf("force %v: %s repeats a certificate", force, name)
			}
			seen[string(pem)] = true
		}
	}
}

// TestExportImportLine: the line that imports a missing root the server
// sends speaks the truststore given (keytool with its path, type and
// password for JKS and PKCS#12, cat for a PEM bundle, cp and openssl
// rehash for a directory), is in the connection's fix as well as on
// stderr, and the fix no longer says --export-certs writes it.
func TestExportImportLine(t *testing.T) {
	dir := t.TempDir()
	other := readFile(t, pcapDir+"/pki/truststore-other.pem")
	block, _ := pem.Decode(other)
	otherCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var jks bytes.Buffer
	if err := truststore.WriteJKS(&jks, []*x509.Certificate{otherCert}, "s3cret"); err != nil {
		t.Fatal(err)
	}
	jksPath := writeTemp(t, "proxy.jks", jks.Bytes())
	pemPath := writeTemp(t, "bundle.pem", other)
	caDir := filepath.Join(dir, "ca")
	if err := os.Mkdir(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "other.pem"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		store, password, want string
	}{
		{jksPath, "s3cret", "-keystore " + jksPath + " -storepass s3cret`"},
		{pemPath, "changeit", ">> " + pemPath + "`"},
		{caDir, "changeit", "openssl rehash " + caDir + "`"},
	} {
		out := t.TempDir()
		o := runJSON(t, 1, "-r", pcap("cause-missing-root.pcap"), "--truststore", tc.store, "--truststore-password", tc.password, "--export-certs", out)[0]
		fix := str(t, o, "fix")
		if str(t, o, "cause") != "truststore_missing_root" || !strings.Contains(fix, "written to "+out) || !strings.Contains(fix, tc.want) || strings.Contains(fix, "--export-certs writes it") {
			t.Errorf("%s: cause %s, fix %q; want %q in it", tc.store, str(t, o, "cause"), fix, tc.want)
		}
	}
}
