package report

import (
	"encoding/pem"
	"fmt"
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
	dir     string
	force   bool
	seen    map[string]bool
	bases   map[string]int // distinct chains written under each base name
	written []string
	notes   []string
}

// NewExporter prepares dir (created if missing).
func NewExporter(dir string, force bool) (*Exporter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: --export-certs: %w", err)
	}
	return &Exporter{dir: dir, force: force, seen: map[string]bool{}, bases: map[string]int{}}, nil
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
		if role == "root" && r.Cause == diagnose.CauseTruststoreMissingRoot {
			e.notes = append(e.notes, importLine(filepath.Join(e.dir, name), ci.SHA256))
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
			e.notes = append(e.notes, importLine(filepath.Join(e.dir, name), fp))
		}
	}
	return nil
}

func importLine(path, fp string) string {
	return fmt.Sprintf("to trust the missing root: keytool -importcert -noprompt -alias root-%s -file %s -keystore TRUSTSTORE.jks -storepass changeit", fp[:12], path)
}

// Done lists what was written and the import commands.
func (e *Exporter) Done() []string {
	out := []string{fmt.Sprintf("wrote %d certificate files into %s", len(e.written), e.dir)}
	return append(out, e.notes...)
}
