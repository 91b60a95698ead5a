package report

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/safefile"
	"github.com/tlstriage/tlstriage/truststore"
)

// Exporter writes every distinct chain seen as PEM files, plus missing roots
// found in the built-in Mozilla set, ready for keytool -importcert.
type Exporter struct {
	dir   string
	force bool
	// trustFiles and password are the truststore given (--truststore,
	// --truststore-password): the import lines name them.
	trustFiles []string
	password   string
	seen       map[string]bool
	bases      map[string]int // distinct chains written under each base name
	written    []string
	notes      []string
}

// NewExporter prepares dir (created if missing). trustFiles and password
// are the client's truststore as given (none: a placeholder), for the
// lines that import a missing root into it.
func NewExporter(dir string, force bool, trustFiles []string, password string) (*Exporter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: --export-certs: %w", err)
	}
	return &Exporter{dir: dir, force: force, trustFiles: trustFiles, password: password, seen: map[string]bool{}, bases: map[string]int{}}, nil
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 80 {
		out = out[:80]
	}
	return out
}

func (e *Exporter) write(name string, der []byte) error {
	path := filepath.Join(e.dir, name)
	f, err := safefile.Create(path, e.force)
	if err != nil {
		return fmt.Errorf("--export-certs: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	e.written = append(e.written, path)
	return f.Close()
}

// Add writes the chain of c (once per distinct chain) and the missing
// issuer when the Mozilla set has it.
func (e *Exporter) Add(c *dissect.Conn, r *diagnose.Result) error {
	if len(c.Chain) == 0 {
		return nil
	}
	key := ""
	for _, ci := range c.Chain {
		key += ci.SHA256
	}
	if e.seen[key] {
		return nil
	}
	e.seen[key] = true
	base := safeName(strings.ReplaceAll(c.Server.String(), ":", "_"))
	if sni := c.SNI(); sni != "" {
		base += "_" + safeName(sni)
	}
	// Another chain from the same server and name (a certificate
	// renewed, two servers behind one address) gets names of its own:
	// never write over a file of this run, even with force.
	e.bases[base]++
	if n := e.bases[base]; n > 1 {
		base += fmt.Sprintf("_chain%d", n)
	}
	for i, ci := range c.Chain {
		role := "intermediate"
		if i == 0 {
			role = "leaf"
		} else if r.Chain != nil && i < len(r.Chain.Certs) && r.Chain.Certs[i].SelfSigned {
			role = "root"
		}
		name := fmt.Sprintf("%s_%d_%s.pem", base, i, role)
		if err := e.write(name, ci.Raw); err != nil {
			return err
		}
		if role == "root" && (r.Cause == diagnose.CauseTruststoreMissingRoot || r.Cause == diagnose.CauseUntrustedRoot) {
			e.imported(r, filepath.Join(e.dir, name), ci.SHA256)
		}
	}
	if r.Chain != nil && r.Chain.MissingIssuerInMozilla != nil {
		m := r.Chain.MissingIssuerInMozilla
		fp := truststore.SHA256Hex(m.Cert.Raw)
		name := fmt.Sprintf("%s_missing_root_%s.pem", base, fp[:16])
		if !e.seen[name] {
			e.seen[name] = true
			if err := e.write(name, m.Cert.Raw); err != nil {
				return err
			}
			e.imported(r, filepath.Join(e.dir, name), fp)
		}
	}
	return nil
}

// imported notes the command that imports the root written to path, for
// the summary and in r's fix, which then no longer says to export it.
func (e *Exporter) imported(r *diagnose.Result, path, fp string) {
	line := e.importLine(path, fp)
	e.notes = append(e.notes, "to trust the missing root: "+line)
	r.Fix = strings.ReplaceAll(r.Fix, ": --export-certs writes it", "")
	r.Fix = strings.ReplaceAll(r.Fix, "; --export-certs writes it", "")
	r.Fix += fmt.Sprintf("; written to %s: import it with `%s`", path, line)
}

// importLine is the command that adds the certificate file path to the
// truststore given, as its kind takes it: keytool for JKS and PKCS#12,
// cat for a PEM bundle, cp and openssl rehash for a directory.
func (e *Exporter) importLine(path, fp string) string {
	alias := "root-" + fp[:12]
	if len(e.trustFiles) == 0 {
		return fmt.Sprintf("keytool -importcert -noprompt -alias %s -file %s -keystore TRUSTSTORE.jks -storepass changeit", alias, path)
	}
	store := e.trustFiles[0]
	switch storeKindOf(store) {
	case storeDir:
		return fmt.Sprintf("cp %s %s/ && openssl rehash %s", path, store, store)
	case storePEM:
		return fmt.Sprintf("cat %s >> %s", path, store)
	case storePKCS12:
		return fmt.Sprintf("keytool -importcert -noprompt -alias %s -file %s -keystore %s -storetype PKCS12 -storepass %s", alias, path, store, e.password)
	}
	return fmt.Sprintf("keytool -importcert -noprompt -alias %s -file %s -keystore %s -storepass %s", alias, path, store, e.password)
}

// storeKind is the kind of a truststore file, which says how to add a
// certificate to it.
type storeKind uint8

const (
	storeJKS    storeKind = iota
	storePEM              // a PEM bundle
	storePKCS12           // DER
	storeDir              // a directory of PEM files
)

// storeKindOf tells a truststore file's kind from its first bytes (JKS
// when it cannot be read).
func storeKindOf(path string) storeKind {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return storeDir
	}
	f, err := os.Open(path)
	if err != nil {
		return storeJKS
	}
	defer f.Close()
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	switch {
	case n >= 4 && head[0] == 0xfe && head[1] == 0xed && head[2] == 0xfe && head[3] == 0xed:
		return storeJKS
	case bytes.Contains(head[:n], []byte("-----")) || n > 0 && head[0] != 0x30:
		return storePEM
	}
	return storePKCS12
}

// Done lists what was written and the import commands.
func (e *Exporter) Done() []string {
	out := []string{fmt.Sprintf("wrote %s into %s", Count(len(e.written), "certificate file"), e.dir)}
	return append(out, e.notes...)
}
