package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	capfile "github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/report"
	"github.com/tlstriage/tlstriage/truststore"
)

// pipeline is one generator run for the tests: a fresh PKI written to a
// temporary directory, the truststores loaded from the PEM files the
// generator wrote, and every capture generated in memory once.
type pipeline struct {
	env    *env
	dir    string
	stores map[trust]*truststore.Store
	caps   []capture
	data   map[string][]byte // capture bytes by file name
}

var (
	pipeOnce sync.Once
	pipe     *pipeline
	pipeErr  error
)

// newPipeline builds the shared pipeline once per test binary.
func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	pipeOnce.Do(func() { pipe, pipeErr = buildPipeline() })
	if pipeErr != nil {
		t.Fatal(pipeErr)
	}
	return pipe
}

func buildPipeline() (*pipeline, error) {
	dir, err := os.MkdirTemp("", "gencaptures-pipeline-")
	if err != nil {
		return nil, err
	}
	e, err := newEnv()
	if err != nil {
		return nil, err
	}
	if err := e.writePKI(dir, true); err != nil {
		return nil, err
	}
	p := &pipeline{env: e, dir: dir, stores: map[trust]*truststore.Store{}, data: map[string][]byte{}}
	for _, tr := range []trust{trustRoot, trustOther, trustLookalike, trustIntermediate} {
		s, err := truststore.Load([]string{filepath.Join(dir, string(tr))}, "")
		if err != nil {
			return nil, err
		}
		p.stores[tr] = s
	}
	p.caps = append(e.captures(), e.testOnly()...)
	for _, c := range p.caps {
		var buf bytes.Buffer
		if err := c.write(&buf); err != nil {
			return nil, err
		}
		p.data[c.file] = buf.Bytes()
	}
	return p, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pipe != nil {
		os.RemoveAll(pipe.dir)
	}
	os.Exit(code)
}

// conns reads a capture through capture.NewReader and dissect, and returns
// its connections in order of first packet, as the expectations list them.
func conns(t *testing.T, name string, data []byte) []*dissect.Conn {
	t.Helper()
	f, err := capfile.NewReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []*dissect.Conn
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) { out = append(out, c) })
	an.SetFile(name)
	if err := an.Run(context.Background(), f); err != nil {
		t.Fatalf("%s: after frame %d: %v", name, an.Frame(), err)
	}
	an.Flush()
	slices.SortFunc(out, func(a, b *dissect.Conn) int { return a.FirstTime.Compare(b.FirstTime) })
	return out
}

// diagnoseAll diagnoses each connection with the truststore its client had.
func (p *pipeline) diagnoseAll(t *testing.T, c capture) ([]*dissect.Conn, []*diagnose.Result) {
	t.Helper()
	cs := conns(t, c.file, p.data[c.file])
	if len(cs) != len(c.conns) {
		t.Fatalf("%d connections, want %d", len(cs), len(c.conns))
	}
	rs := make([]*diagnose.Result, len(cs))
	for i, want := range c.conns {
		rs[i] = diagnose.Diagnose(cs[i], diagnose.Options{Flags: cmdFlags, Trust: p.stores[want.trust], Host: want.host})
	}
	return cs, rs
}

// TestPipeline runs every generated capture, the committed ones and the
// test-only ones, through capture, dissect and diagnose, and checks each
// connection's verdict and cause and the evidence behind the cause.
func TestPipeline(t *testing.T) {
	p := newPipeline(t)
	for _, c := range p.caps {
		t.Run(c.file, func(t *testing.T) {
			cs, rs := p.diagnoseAll(t, c)
			for i, want := range c.conns {
				r := rs[i]
				if string(r.Verdict) != want.verdict || string(r.Cause) != want.cause {
					t.Errorf("connection %d (%v): verdict %q cause %q, want %q %q\n  verdict detail: %s\n  cause detail: %s",
						i+1, cs[i].Client, r.Verdict, r.Cause, want.verdict, want.cause, r.Detail, r.CauseDetail)
					continue
				}
				if r.Failed != (want.cause != "") {
					t.Errorf("connection %d: Failed = %v with cause %q", i+1, r.Failed, r.Cause)
				}
				checkEvidence(t, p.env, cs[i], r, want)
			}
		})
	}
}

// checkEvidence checks the facts a verdict and cause must rest on.
func checkEvidence(t *testing.T, e *env, c *dissect.Conn, r *diagnose.Result, want expect) {
	t.Helper()
	root, inter := diagnose.Name(e.pki.Root), diagnose.Name(e.pki.Intermediate)
	ch := r.Chain
	needChain := func() bool {
		t.Helper()
		if ch == nil {
			t.Errorf("cause %s without a chain report", r.Cause)
			return false
		}
		return true
	}
	if want.verdict == rejected && r.Cause != "unknown" {
		playbookOrder(t, c, r)
	}
	switch r.Cause {
	case "":
		if ch != nil && !ch.Trusted {
			t.Errorf("a successful handshake with an untrusted chain: %v", ch.Path)
		}
	case diagnose.CauseTruststoreMissingRoot:
		if !needChain() {
			return
		}
		if ch.Trusted || !strings.Contains(r.CauseDetail, root) || !strings.Contains(r.CauseDetail, "does not hold") {
			t.Errorf("trusted %v; cause detail does not name the missing root %q: %s", ch.Trusted, root, r.CauseDetail)
		}
		for _, cc := range ch.Certs {
			if cc.InTruststore {
				t.Errorf("certificate #%d (%s) in the truststore", cc.Position, diagnose.Name(cc.Info.Cert))
			}
		}
		if last := ch.Certs[len(ch.Certs)-1]; last.Role == "root" {
			// The server sent the root: the path ends there.
			if ch.End != last.Info.Cert || ch.MissingIssuer != "" {
				t.Errorf("path ends at %s (missing issuer %q), want the root the server sent", diagnose.Name(ch.End), ch.MissingIssuer)
			}
		} else if !strings.Contains(ch.MissingIssuer, root) {
			t.Errorf("missing issuer %q, want %q", ch.MissingIssuer, root)
		}
	case diagnose.CauseUntrustedRoot:
		if !needChain() {
			return
		}
		if len(ch.LookAlikes) == 0 || diagnose.Name(ch.LookAlikes[0].Cert) != root || bytes.Equal(ch.LookAlikes[0].Cert.Raw, e.pki.Root.Raw) {
			t.Errorf("look-alikes %v: want the truststore's other %q", ch.LookAlikes, root)
		}
	case diagnose.CauseTruststoreMissingIntermediate:
		if !needChain() {
			return
		}
		if ch.BeyondGap == nil || !bytes.Equal(ch.BeyondGap.Cert.Raw, e.pki.Root.Raw) || ch.End != ch.Certs[0].Info.Cert {
			t.Errorf("beyond the gap %v, path end %s: want the leaf's path to stop and #1 to reach the root", ch.BeyondGap, diagnose.Name(ch.End))
		}
		if !strings.Contains(r.CauseDetail, inter) || !strings.Contains(r.Fix, "import the intermediate") {
			t.Errorf("cause detail %q / fix %q do not name the missing intermediate %q", r.CauseDetail, r.Fix, inter)
		}
	case diagnose.CauseIncompleteChain:
		if !needChain() {
			return
		}
		if len(ch.Certs) != 1 || !strings.Contains(r.CauseDetail, "sends only the leaf") || !strings.Contains(ch.MissingIssuer, inter) {
			t.Errorf("%d certificates, missing issuer %q, detail %q", len(ch.Certs), ch.MissingIssuer, r.CauseDetail)
		}
	case diagnose.CauseHostnameMismatch:
		host, source := c.SNI(), "SNI"
		if want.host != "" {
			host, source = want.host, "--host"
		}
		if r.NameCheck != "mismatch" || r.Host != host || r.HostSource != source || !strings.Contains(r.CauseDetail, strconv.Quote(host)) {
			t.Errorf("name check %q of %q (%s), detail %q: want a mismatch of %q (%s)", r.NameCheck, r.Host, r.HostSource, r.CauseDetail, host, source)
		}
	case diagnose.CauseExpired, diagnose.CauseNotYetValid:
		if !needChain() {
			return
		}
		if !ch.Trusted || string(ch.Certs[0].Validity) != string(r.Cause) || ch.Certs[0].ValidAtCapture {
			t.Errorf("trusted %v, leaf validity %q at %v", ch.Trusted, ch.Certs[0].Validity, ch.At)
		}
		if !ch.At.Equal(c.First(dissect.Server, dissect.EvCertificate).Time()) {
			t.Errorf("chain judged at %v, not at the Certificate's capture time", ch.At)
		}
	case diagnose.CauseSelfSigned:
		if !needChain() {
			return
		}
		if len(ch.Certs) != 1 || !ch.Certs[0].SelfSigned || ch.Trusted {
			t.Errorf("%d certificates, self-signed %v, trusted %v", len(ch.Certs), ch.Certs[0].SelfSigned, ch.Trusted)
		}
	case diagnose.CauseWeakCertificate:
		if !needChain() {
			return
		}
		if !ch.Trusted || ch.Certs[0].Key != "RSA 1024" || !strings.Contains(r.CauseDetail, "RSA 1024") {
			t.Errorf("trusted %v, leaf key %q, detail %q", ch.Trusted, ch.Certs[0].Key, r.CauseDetail)
		}
	case diagnose.CauseClientCertRequired:
		if c.CertRequest == nil || !c.ClientSentCertificate || len(c.ClientChain) != 0 || r.Alert == nil || r.Alert.From != dissect.Server {
			t.Errorf("certificate request %v, client certificate sent %v (%d certs), alert %v", c.CertRequest != nil, c.ClientSentCertificate, len(c.ClientChain), r.Alert)
		}
	case diagnose.CauseProtocolMismatch:
		if c.ServerHello != nil || r.Alert == nil || r.Alert.From != dissect.Server || r.Alert.Encrypted {
			t.Errorf("server hello %v, alert %v: want a plaintext server alert instead of a ServerHello", c.ServerHello != nil, r.Alert)
		}
	case diagnose.CauseNotTLS:
		if !c.Has(dissect.Server, dissect.EvNotTLS) {
			t.Error("no non-TLS bytes from the server")
		}
	case diagnose.CauseUnknown:
		if r.CauseDetail == "" || r.Fix == "" {
			t.Errorf("unknown cause without detail (%q) or fix (%q)", r.CauseDetail, r.Fix)
		}
	}
}

// playbookOrder checks the timeline of a rejected certificate: ClientHello,
// then the server's Certificate, then the client's FIN or alert, with no
// ClientKeyExchange; when the client both closes and resets (the playbook),
// FIN comes before RST.
func playbookOrder(t *testing.T, c *dissect.Conn, r *diagnose.Result) {
	t.Helper()
	hello, cert := c.First(dissect.Client, dissect.EvClientHello), c.First(dissect.Server, dissect.EvCertificate)
	if hello == nil || cert == nil {
		t.Errorf("ClientHello %v, Certificate %v: want both", hello != nil, cert != nil)
		return
	}
	if c.Has(dissect.Client, dissect.EvClientKeyExchange) {
		t.Error("the client sent a ClientKeyExchange")
	}
	cl := c.Sides[dissect.Client]
	moves := []int{hello.Frame, cert.Frame}
	if r.Alert != nil {
		if r.Alert.From != dissect.Client {
			t.Errorf("alert from %v", r.Alert.From)
		}
		moves = append(moves, r.Alert.Frame)
	}
	if cl.FIN != nil {
		moves = append(moves, cl.FIN.Frame)
	}
	if cl.RST != nil && cl.FIN != nil {
		moves = append(moves, cl.RST.Frame)
	}
	if len(moves) < 3 || !slices.IsSorted(moves) || moves[0] == moves[1] {
		t.Errorf("frames ClientHello, Certificate, alert, FIN, RST = %v: want all set, in order", moves)
	}
	if d := r.CloseAfterCert; d <= 0 || d > 10*ms {
		t.Errorf("the client hung up %v after the Certificate, want 0-10ms", d)
	}
}

// TestPlaybook checks the playbook capture in the detail issue #2 gives:
// frames 4 (ClientHello), 6 (ServerHello), 8 (Certificate), 10 (client
// FIN,ACK) and 11 (client RST,ACK), no alert, and the missing root named.
func TestPlaybook(t *testing.T) {
	p := newPipeline(t)
	for _, name := range []string{"tls12-playbook-fin-rst-after-cert.pcap", "tls12-playbook-fin-rst-after-cert.pcap.gz", "ipv6.pcap", "sll2-any.pcap", "null-loopback.pcap"} {
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(p.caps, func(c capture) bool { return c.file == name })
			cs, rs := p.diagnoseAll(t, p.caps[i])
			c, r := cs[0], rs[0]
			rec := report.NewRecord(c, r)
			want := map[string]int{"syn": 1, "syn_ack": 2, "client_hello": 4, "server_hello": 6, "certificate": 8, "server_hello_done": 8, "client_fin": 10, "client_rst": 11}
			for k, v := range want {
				if rec.Frames[k] != v {
					t.Errorf("frame of %s = %d, want %d (frames %v)", k, rec.Frames[k], v, rec.Frames)
				}
			}
			for _, k := range []string{"client_key_exchange", "server_fin", "server_rst"} {
				if f, ok := rec.Frames[k]; ok {
					t.Errorf("unexpected %s at frame %d", k, f)
				}
			}
			if r.Alert != nil || len(rec.Alerts) != 0 {
				t.Errorf("alerts %v: the playbook client sends none", rec.Alerts)
			}
			for _, s := range []string{"Certificate (frame 8)", "FIN,ACK (frame 10)", "RST,ACK (frame 11)"} {
				if !strings.Contains(r.Detail, s) {
					t.Errorf("verdict detail %q lacks %q", r.Detail, s)
				}
			}
			if len(rec.Chain) != 2 || rec.Chain[0].InTruststore || rec.Chain[1].InTruststore || rec.Trusted == nil || *rec.Trusted {
				t.Errorf("chain %d certificates, trusted %v", len(rec.Chain), rec.Trusted)
			}
			if !strings.Contains(r.Fix, "add the root "+diagnose.Name(p.env.pki.Root)) {
				t.Errorf("fix %q does not say to add the root", r.Fix)
			}
		})
	}
}

// TestEveryCauseCovered checks that the pipeline expectations name every
// cause diagnose declares, so that a new cause cannot go untested.
func TestEveryCauseCovered(t *testing.T) {
	covered := map[string]bool{}
	e := newPipeline(t).env
	for _, c := range append(e.captures(), e.testOnly()...) {
		for _, w := range c.conns {
			covered[w.cause] = true
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "..", "diagnose", "diagnose.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if !strings.HasPrefix(id.Name, "Cause") || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			v, _ := strconv.Unquote(lit.Value)
			n++
			if !covered[v] {
				t.Errorf("diagnose.%s (%q) is the expected cause of no generated capture", id.Name, v)
			}
		}
		return true
	})
	if n < 13 {
		t.Errorf("found %d Cause constants in diagnose/diagnose.go, want at least 13", n)
	}
}

// TestTruststoreFormats checks that the client's truststore written as JKS
// and as PKCS#12 gives the same diagnosis as the PEM file.
func TestTruststoreFormats(t *testing.T) {
	p := newPipeline(t)
	dir := t.TempDir()
	for _, name := range []string{"tls12-playbook-fin-rst-after-cert.pcap", "cause-missing-root.pcap", "incomplete-chain.pcap", "expired.pcap", "untrusted-root.pcap", "missing-intermediate.pcap", "intermediate-anchor.pcap"} {
		t.Run(name, func(t *testing.T) {
			c := p.caps[slices.IndexFunc(p.caps, func(c capture) bool { return c.file == name })]
			want := c.conns[0]
			cs := conns(t, name, p.data[name])
			pem := diagnose.Diagnose(cs[0], diagnose.Options{Flags: cmdFlags, Trust: p.stores[want.trust], Host: want.host})
			certs := p.env.trustCerts(want.trust)
			for _, f := range []struct {
				ext   string
				write func(*bytes.Buffer) error
			}{
				{"jks", func(b *bytes.Buffer) error { return truststore.WriteJKS(b, certs, "changeit") }},
				{"p12", func(b *bytes.Buffer) error { return truststore.WritePKCS12(b, certs, "changeit") }},
			} {
				var buf bytes.Buffer
				if err := f.write(&buf); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, strings.TrimSuffix(name, ".pcap")+"."+f.ext)
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				store, err := truststore.Load([]string{path}, "changeit")
				if err != nil {
					t.Fatal(err)
				}
				got := diagnose.Diagnose(cs[0], diagnose.Options{Flags: cmdFlags, Trust: store, Host: want.host})
				if got.Verdict != pem.Verdict || got.Cause != pem.Cause || string(got.Cause) != want.cause {
					t.Errorf("%s: %s/%s, PEM gives %s/%s, want %s", f.ext, got.Verdict, got.Cause, pem.Verdict, pem.Cause, want.cause)
				}
				if (got.Chain == nil) != (pem.Chain == nil) {
					t.Fatalf("%s: chain report %v, PEM %v", f.ext, got.Chain != nil, pem.Chain != nil)
				}
				if got.Chain == nil {
					continue
				}
				if got.Chain.Trusted != pem.Chain.Trusted || !slices.Equal(got.Chain.Path, pem.Chain.Path) {
					t.Errorf("%s: trusted %v path %v, PEM %v %v", f.ext, got.Chain.Trusted, got.Chain.Path, pem.Chain.Trusted, pem.Chain.Path)
				}
				for i := range got.Chain.Certs {
					if g, w := got.Chain.Certs[i].InTruststore, pem.Chain.Certs[i].InTruststore; g != w {
						t.Errorf("%s: certificate #%d in truststore %v, PEM %v", f.ext, i, g, w)
					}
				}
			}
		})
	}
}

// TestRootMakesChainTrusted diagnoses missing-root handshakes with a
// truststore that holds the root: the same chain is then trusted, and a
// root the server sends shows as in the truststore.
func TestRootMakesChainTrusted(t *testing.T) {
	p := newPipeline(t)
	var buf bytes.Buffer
	if err := truststore.WriteJKS(&buf, []*x509.Certificate{p.env.pki.Root}, "changeit"); err != nil {
		t.Fatal(err)
	}
	jks := filepath.Join(t.TempDir(), "root.jks")
	if err := os.WriteFile(jks, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	jksStore, err := truststore.Load([]string{jks}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls12-playbook-fin-rst-after-cert.pcap", "cause-missing-root.pcap", "reordered-retransmitted.pcap"} {
		for _, store := range []*truststore.Store{p.stores[trustRoot], jksStore} {
			cs := conns(t, name, p.data[name])
			without := diagnose.Diagnose(cs[0], diagnose.Options{Flags: cmdFlags, Trust: p.stores[trustOther]})
			r := diagnose.Diagnose(cs[0], diagnose.Options{Flags: cmdFlags, Trust: store})
			if without.Chain == nil || without.Chain.Trusted || r.Chain == nil {
				t.Fatalf("%s: no chain report, or trusted without the root", name)
			}
			ch := r.Chain
			if !ch.Trusted || ch.Anchor == nil || !bytes.Equal(ch.Anchor.Cert.Raw, p.env.pki.Root.Raw) {
				t.Errorf("%s with %s: trusted %v anchor %v, want the root", name, store.Name, ch.Trusted, ch.Anchor)
			}
			rec := report.NewRecord(cs[0], r)
			for i, cc := range rec.Chain {
				isRoot := cc.Subject == diagnose.Name(p.env.pki.Root)
				if cc.InTruststore != isRoot {
					t.Errorf("%s: certificate #%d (%s) in_truststore %v", name, i, cc.Subject, cc.InTruststore)
				}
			}
			// The fix loop: the root imported, the same capture says that
			// this truststore would accept the chain, so the client used
			// another one (or the capture predates the import).
			if r.Verdict != rejected || r.Cause != diagnose.CauseUnknown || !strings.Contains(r.CauseDetail, "would accept this chain") || !strings.Contains(r.CauseDetail, "predates") {
				t.Errorf("%s: %s/%s (%s): a trusted, valid chain leaves the cause unknown, saying the truststore would accept it", name, r.Verdict, r.Cause, r.CauseDetail)
			}
			if f := has(r.Findings, "trusted"); f == nil || has(r.Findings, "untrusted") != nil {
				t.Errorf("%s: findings %v: want trusted, not untrusted", name, r.Findings)
			}
		}
	}
}

func has(fs []diagnose.Finding, code string) *diagnose.Finding {
	for i := range fs {
		if string(fs[i].Code) == code {
			return &fs[i]
		}
	}
	return nil
}

// TestReadmeUpToDate checks that testdata/pcap/README.md is what readme
// writes for the captures' table: the expectations it shows are the ones
// TestPipeline checks. (The table does not depend on keys, so it needs no
// regeneration of the captures.)
func TestReadmeUpToDate(t *testing.T) {
	p := newPipeline(t)
	got, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pcap", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := readme(p.env.captures()); !bytes.Equal(got, want) {
		t.Errorf("testdata/pcap/README.md differs from what the generator writes; write the table again:\n%s", want)
	}
}

// cmdFlags are the option names tlstriage gives diagnose's advice.
var cmdFlags = diagnose.Flags{KeyLog: "--keylog", Host: "--host", Truststore: "--truststore", ExportCerts: "--export-certs"}
