package diagnose_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/truststore"
)

// The rules are tested on real handshakes: a crypto/tls client and server
// run by pcaptest, framed into packets and read by dissect, as tlstriage
// does. internal/gencaptures' TestPipeline runs every generated capture
// through the same path, with truststores loaded from files.

type testPKI struct {
	pki       *pcaptest.PKI
	other     *x509.Certificate // an unrelated root
	lookalike *x509.Certificate // named like pki.Root, with another key
}

var (
	pkiOnce sync.Once
	thePKI  testPKI
	pkiErr  error
)

func getPKI(t *testing.T) testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		thePKI.pki, pkiErr = pcaptest.NewPKI(pcaptest.PKIOptions{IntermediateAIA: "http://pki.example.test/root.crt"})
		if pkiErr != nil {
			return
		}
		thePKI.other, _, pkiErr = pcaptest.NewOtherRoot(thePKI.pki.Now)
		if pkiErr != nil {
			return
		}
		var twin *pcaptest.PKI
		twin, pkiErr = pcaptest.NewPKI(pcaptest.PKIOptions{})
		if pkiErr == nil {
			thePKI.lookalike = twin.Root
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return thePKI
}

// java returns the options of a Java 17-style TLS 1.2 client that trusts
// roots and rejects with certificate_unknown.
func java(p *pcaptest.PKI, roots ...*x509.Certificate) pcaptest.TLSOptions {
	return pcaptest.TLSOptions{
		PKI: p, MaxVersion: tls.VersionTLS12, ClientRoots: pcaptest.PoolOf(roots...),
		OnReject: pcaptest.ReplaceAlert, RejectAlert: pcaptest.AlertCertificateUnknown, Close: pcaptest.CloseJava,
	}
}

// handshake records o, frames it and returns the one connection dissect
// makes of the packets.
func handshake(t *testing.T, o pcaptest.TLSOptions, wantErr string) *dissect.Conn {
	t.Helper()
	s := pcaptest.Scenario{TLS: o}
	conv, err := s.Conversation()
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	if conv.ClientErr != nil || conv.ServerErr != nil {
		got = strings.TrimSpace(errString(conv.ClientErr) + " " + errString(conv.ServerErr))
	}
	if (wantErr == "") != (got == "") || !strings.Contains(got, wantErr) {
		t.Fatalf("handshake errors %q, want %q", got, wantErr)
	}
	pkts, err := pcaptest.Frame(conv, s.Frame)
	if err != nil {
		t.Fatal(err)
	}
	return analyse(t, pkts, s.Frame.Link)
}

// analyse reads pkts as tlstriage does and returns the one connection
// dissect makes of them.
func analyse(t *testing.T, pkts []pcaptest.Packet, link pcaptest.Link) *dissect.Conn {
	t.Helper()
	var conns []*dissect.Conn
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) { conns = append(conns, c) })
	for _, p := range pkts {
		an.Packet(p.Data, p.CI, link.LinkType())
	}
	an.Flush()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

// wrongClientCert is a client certificate (and chain) of a PKI of its
// own: its names match the CA list of a CertificateRequest, so crypto/tls
// sends it, and its signatures do not verify against the test PKI.
func wrongClientCert(t *testing.T) tls.Certificate {
	t.Helper()
	twin, err := pcaptest.NewPKI(pcaptest.PKIOptions{Leaf: pcaptest.LeafOptions{DNSNames: []string{"client.example.test"}, ClientAuth: true}})
	if err != nil {
		t.Fatal(err)
	}
	return twin.TLSCertificate(pcaptest.ChainLeafIntermediate)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func store(certs ...*x509.Certificate) *truststore.Store {
	return truststore.New("test truststore", certs)
}

// same reports whether a and b are the same certificate.
func same(a, b *x509.Certificate) bool { return a != nil && b != nil && bytes.Equal(a.Raw, b.Raw) }

func has(r *diagnose.Result, code string) *diagnose.Finding {
	for i := range r.Findings {
		if string(r.Findings[i].Code) == code {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestChainCauses checks the lines between the trust causes, on both sides
// of each: which certificates the server sends against which the truststore
// holds, judged the way Java's PKIX builder judges (any truststore
// certificate anchors a path).
func TestChainCauses(t *testing.T) {
	tp := getPKI(t)
	p := tp.pki
	root, inter := diagnose.Name(p.Root), diagnose.Name(p.Intermediate)
	tests := []struct {
		name  string
		chain pcaptest.ChainKind
		trust []*x509.Certificate
		cause diagnose.Cause
		check func(t *testing.T, r *diagnose.Result)
	}{
		{"leaf+intermediate, truststore lacks the root", pcaptest.ChainLeafIntermediate, []*x509.Certificate{tp.other}, diagnose.CauseTruststoreMissingRoot,
			func(t *testing.T, r *diagnose.Result) {
				ch := r.Chain
				if !same(ch.End, p.Intermediate) || !strings.Contains(ch.MissingIssuer, root) || ch.BeyondGap != nil {
					t.Errorf("path ends at %s, missing %q, beyond the gap %v", diagnose.Name(ch.End), ch.MissingIssuer, ch.BeyondGap)
				}
				if !strings.Contains(r.CauseDetail, root) || !strings.Contains(r.Fix, "http://pki.example.test/root.crt") {
					t.Errorf("detail %q / fix %q: want the root and its download URL", r.CauseDetail, r.Fix)
				}
			}},
		{"full chain, truststore lacks the root", pcaptest.ChainFull, []*x509.Certificate{tp.other}, diagnose.CauseTruststoreMissingRoot,
			func(t *testing.T, r *diagnose.Result) {
				if !same(r.Chain.End, p.Root) || r.Chain.Certs[2].Role != "root" || r.Chain.Certs[2].InTruststore {
					t.Errorf("path ends at %s; #2 role %q in truststore %v", diagnose.Name(r.Chain.End), r.Chain.Certs[2].Role, r.Chain.Certs[2].InTruststore)
				}
				if !strings.Contains(r.Fix, "the server sends it") {
					t.Errorf("fix %q", r.Fix)
				}
			}},
		{"leaf+intermediate, truststore holds another root of that name", pcaptest.ChainLeafIntermediate, []*x509.Certificate{tp.lookalike}, diagnose.CauseUntrustedRoot,
			func(t *testing.T, r *diagnose.Result) {
				if len(r.Chain.LookAlikes) != 1 || !same(r.Chain.LookAlikes[0].Cert, tp.lookalike) || has(r, "truststore_lookalike") == nil {
					t.Errorf("look-alikes %v, findings %v", r.Chain.LookAlikes, r.Findings)
				}
				// The detail names the root held, the fix says to import
				// the other one beside it.
				if alias := r.Chain.LookAlikes[0].Alias; !strings.Contains(r.CauseDetail, "alias "+alias) || !strings.Contains(r.Fix, "under a new alias") {
					t.Errorf("detail %q, fix %q", r.CauseDetail, r.Fix)
				}
			}},
		{"full chain, truststore holds another root of that name", pcaptest.ChainFull, []*x509.Certificate{tp.lookalike}, diagnose.CauseUntrustedRoot,
			func(t *testing.T, r *diagnose.Result) {
				if !strings.Contains(r.CauseDetail, "different certificate with that name") {
					t.Errorf("detail %q", r.CauseDetail)
				}
			}},
		{"leaf+root, truststore holds that root", pcaptest.ChainLeafRoot, []*x509.Certificate{p.Root}, diagnose.CauseTruststoreMissingIntermediate,
			func(t *testing.T, r *diagnose.Result) {
				ch := r.Chain
				if ch.BeyondGap == nil || !same(ch.BeyondGap.Cert, p.Root) || ch.BeyondGapFrom != 1 || !same(ch.End, p.Leaf) || !ch.Certs[1].InTruststore {
					t.Errorf("beyond the gap %v from #%d, path end %s", ch.BeyondGap, ch.BeyondGapFrom, diagnose.Name(ch.End))
				}
				if !strings.Contains(r.CauseDetail, inter) || !strings.Contains(r.Fix, "import the intermediate "+p.Leaf.Issuer.String()) {
					t.Errorf("detail %q / fix %q: want the missing intermediate %q", r.CauseDetail, r.Fix, inter)
				}
				if f := has(r, "untrusted"); f == nil || !strings.Contains(f.Summary, "#1 leads to "+root) {
					t.Errorf("untrusted finding %v", f)
				}
			}},
		{"leaf+root, truststore lacks the root", pcaptest.ChainLeafRoot, []*x509.Certificate{tp.other}, diagnose.CauseIncompleteChain,
			func(t *testing.T, r *diagnose.Result) {
				if r.Chain.BeyondGap != nil {
					t.Errorf("beyond the gap %v: the truststore holds nothing of this chain", r.Chain.BeyondGap)
				}
				if !strings.Contains(r.CauseDetail, "with one other certificate, which did not issue it") {
					t.Errorf("detail %q: the server sends more than the leaf", r.CauseDetail)
				}
			}},
		{"leaf only, truststore holds the root", pcaptest.ChainLeafOnly, []*x509.Certificate{p.Root}, diagnose.CauseIncompleteChain,
			func(t *testing.T, r *diagnose.Result) {
				if !strings.Contains(r.CauseDetail, "sends only the leaf") || !strings.Contains(r.Fix, "send the intermediate") {
					t.Errorf("detail %q / fix %q", r.CauseDetail, r.Fix)
				}
			}},
		{"leaf only, truststore holds the intermediate", pcaptest.ChainLeafOnly, []*x509.Certificate{p.Intermediate}, "",
			func(t *testing.T, r *diagnose.Result) {
				if !r.Chain.Trusted || !same(r.Chain.Anchor.Cert, p.Intermediate) {
					t.Errorf("trusted %v anchor %v: PKIX anchors at the intermediate", r.Chain.Trusted, r.Chain.Anchor)
				}
			}},
		{"leaf+intermediate, truststore holds the intermediate only", pcaptest.ChainLeafIntermediate, []*x509.Certificate{p.Intermediate}, "",
			func(t *testing.T, r *diagnose.Result) {
				if !r.Chain.Trusted || !r.Chain.Certs[1].InTruststore || r.Chain.Path[len(r.Chain.Path)-1] != "truststore: "+inter {
					t.Errorf("trusted %v path %v", r.Chain.Trusted, r.Chain.Path)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := java(p, tt.trust...)
			o.Chain = tt.chain
			wantErr := "unknown authority"
			if tt.cause == "" {
				wantErr, o.AppData, o.Close = "", true, pcaptest.CloseClientFirst
			}
			c := handshake(t, o, wantErr)
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tt.trust...)})
			wantVerdict := diagnose.VerdictClientRejectedCertificate
			if tt.cause == "" {
				wantVerdict = diagnose.VerdictOK
			}
			if r.Verdict != wantVerdict || r.Cause != tt.cause {
				t.Fatalf("%s/%s, want %s/%s\n  %s\n  %s", r.Verdict, r.Cause, wantVerdict, tt.cause, r.Detail, r.CauseDetail)
			}
			if r.Chain == nil {
				t.Fatal("no chain report")
			}
			tt.check(t, r)
		})
	}
}

// TestHost checks that Options.Host replaces the SNI as the name checked,
// both ways: it can reveal a mismatch the SNI hides and clear one the SNI
// shows.
func TestHost(t *testing.T) {
	tp := getPKI(t)
	other, err := tp.pki.WithLeaf(pcaptest.LeafOptions{DNSNames: []string{"other.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	byIP := java(tp.pki, tp.pki.Root)
	byIP.NoSNI, byIP.ServerName = true, "10.0.0.2" // https://10.0.0.2/: Java sends no SNI
	wrongName := java(other, other.Root)
	okConn := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS12, AppData: true, Close: pcaptest.CloseClientFirst}

	tests := []struct {
		name       string
		o          pcaptest.TLSOptions
		wantErr    string
		host       string
		verdict    diagnose.Verdict
		cause      diagnose.Cause
		nameCheck  string
		hostSource string
	}{
		{"no SNI, --host names the address", byIP, "10.0.0.2", "10.0.0.2", diagnose.VerdictClientRejectedCertificate, diagnose.CauseHostnameMismatch, "mismatch", "--host"},
		// Judged against the address the client connected to, and said to be inferred.
		{"no SNI, no --host", byIP, "10.0.0.2", "", diagnose.VerdictClientRejectedCertificate, diagnose.CauseHostnameMismatch, "mismatch", "the server's address, inferred: the client sent no SNI and no --host was given"},
		{"SNI mismatch", wrongName, "not backend.example.test", "", diagnose.VerdictClientRejectedCertificate, diagnose.CauseHostnameMismatch, "mismatch", "SNI"},
		{"SNI mismatch, --host names the certificate", wrongName, "not backend.example.test", "other.example.test", diagnose.VerdictClientRejectedCertificate, diagnose.CauseUnknown, "ok", "--host"},
		{"SNI matches, --host does not", okConn, "", "api.example.test", diagnose.VerdictOK, "", "mismatch", "--host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := handshake(t, tt.o, tt.wantErr)
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root), Host: tt.host})
			if r.Verdict != tt.verdict || r.Cause != tt.cause || r.NameCheck != tt.nameCheck || r.HostSource != tt.hostSource {
				t.Fatalf("%s/%s name check %q (%s %q), want %s/%s %q (%s)\n  %s", r.Verdict, r.Cause, r.NameCheck, r.HostSource, r.Host,
					tt.verdict, tt.cause, tt.nameCheck, tt.hostSource, r.CauseDetail)
			}
			wantHost := tt.host
			if wantHost == "" {
				wantHost = c.SNI()
			}
			if wantHost == "" {
				wantHost = c.Server.Addr().String()
			}
			if r.Host != wantHost {
				t.Errorf("host %q, want %q", r.Host, wantHost)
			}
			if tt.nameCheck == "mismatch" {
				f := has(r, "hostname_mismatch")
				if f == nil || !strings.Contains(f.Summary, `"`+wantHost+`"`) {
					t.Errorf("hostname_mismatch finding %v does not name %q", f, wantHost)
				}
				if tt.cause != "" && tt.host != "" && !strings.Contains(r.Fix, wantHost+" ("+tt.hostSource+")") {
					t.Errorf("fix %q", r.Fix)
				}
			}
		})
	}
}

// TestCertificateCauses checks the causes found once the path is trusted:
// the certificate itself is what the client refused.
func TestCertificateCauses(t *testing.T) {
	tp := getPKI(t)
	p := tp.pki
	leaf := func(o pcaptest.LeafOptions) *pcaptest.PKI {
		q, err := p.WithLeaf(o)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	tests := []struct {
		name    string
		pki     *pcaptest.PKI
		wantErr string
		cause   diagnose.Cause
		detail  string
	}{
		{"expired leaf", leaf(pcaptest.LeafOptions{NotBefore: p.Now.AddDate(-1, 0, 0), NotAfter: p.Now.AddDate(0, 0, -3)}), "expired", diagnose.CauseExpired, "expired on 2026-02-27T10:00:00Z, before the capture (2026-03-02T10:00:00"},
		{"leaf not yet valid", leaf(pcaptest.LeafOptions{NotBefore: p.Now.AddDate(0, 0, 2), NotAfter: p.Now.AddDate(0, 3, 0)}), "not yet valid", diagnose.CauseNotYetValid, "valid only from 2026-03-04T10:00:00Z"},
		{"self-signed leaf", leaf(pcaptest.LeafOptions{SelfSigned: true}), "unknown authority", diagnose.CauseSelfSigned, "is self-signed"},
		{"leaf for clients only", leaf(pcaptest.LeafOptions{ClientAuth: true}), "incompatible key usage", diagnose.CauseWeakCertificate, "does not include serverAuth"},
		{"name in the CN only", leaf(pcaptest.LeafOptions{CNOnly: true}), "legacy Common Name", diagnose.CauseHostnameMismatch, `names "backend.example.test" only in its CN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := handshake(t, java(tt.pki, p.Root), tt.wantErr)
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(p.Root)})
			if r.Verdict != diagnose.VerdictClientRejectedCertificate || r.Cause != tt.cause || !strings.Contains(r.CauseDetail, tt.detail) {
				t.Fatalf("%s/%s (%s), want %s with %q", r.Verdict, r.Cause, r.CauseDetail, tt.cause, tt.detail)
			}
			if r.Alert == nil || r.Alert.Description != "certificate_unknown" || !strings.Contains(r.CauseDetail, "certificate_unknown") {
				t.Errorf("alert %v, detail %q", r.Alert, r.CauseDetail)
			}
			if !bytes.Equal(r.Chain.Certs[0].Info.Raw, tt.pki.Leaf.Raw) {
				t.Error("the chain report is not about the leaf the server sent")
			}
		})
	}
}

// TestClientCertificate checks client_cert_required for a client that sends
// no certificate and for one whose certificate the server does not accept.
// In TLS 1.2 the CertificateRequest and the client's Certificate are in
// plaintext. In TLS 1.3 they are encrypted: a client asked for a
// certificate answers the server's flight with more than its Finished (an
// empty Certificate, or a Certificate and a CertificateVerify), and a
// server that then sends an alert and no application data refused it.
func TestClientCertificate(t *testing.T) {
	tp := getPKI(t)
	wrong := wrongClientCert(t)
	tests := []struct {
		name    string
		version uint16
		cert    *tls.Certificate
		wantErr string
		sent    string // in the cause (TLS 1.2) or the verdict (TLS 1.3)
	}{
		{"no certificate", tls.VersionTLS12, nil, "didn't provide a certificate", "answered with an empty Certificate message"},
		{"certificate of another CA", tls.VersionTLS12, &wrong, "unknown authority", "sent a certificate (CN=client.example.test,O=tlstriage test) that the server did not accept"},
		{"TLS 1.3, no certificate", tls.VersionTLS13, nil, "didn't provide a certificate", "a Certificate message (empty when it has no certificate to offer)"},
		{"TLS 1.3, certificate of another CA", tls.VersionTLS13, &wrong, "unknown authority", "a Certificate message (empty when it has no certificate to offer)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tt.version, ClientAuth: tls.RequireAndVerifyClientCert, ClientCert: tt.cert, Close: pcaptest.CloseServerFirst}
			c := handshake(t, o, tt.wantErr)
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
			if r.Verdict != diagnose.VerdictClientCertRejected || r.Cause != diagnose.CauseClientCertRequired {
				t.Fatalf("%s/%s, want client_cert_rejected/client_cert_required\n  %s", r.Verdict, r.Cause, r.Detail)
			}
			if tt.version == tls.VersionTLS13 {
				if !strings.Contains(r.Detail, tt.sent) || !strings.Contains(r.CauseDetail, "TLS 1.3 encrypts") || !strings.Contains(r.Fix, "--keylog") {
					t.Errorf("detail %q, cause %q, fix %q", r.Detail, r.CauseDetail, r.Fix)
				}
				return
			}
			if !strings.Contains(r.CauseDetail, tt.sent) || !strings.Contains(r.Fix, diagnose.Name(tp.pki.Root)) {
				t.Errorf("detail %q / fix %q: want %q and the CA the server names", r.CauseDetail, r.Fix, tt.sent)
			}
			if r.Alert == nil || r.Alert.From != dissect.Server || r.Alert.Encrypted {
				t.Errorf("alert %v: want the server's plaintext alert", r.Alert)
			}
			if r.Chain == nil || !r.Chain.Trusted {
				t.Error("the server's own chain should be trusted")
			}
		})
	}
	// A client certificate sent without its intermediate: the fix says to
	// send the chain. (The server also names an intermediate of the same
	// name, so crypto/tls sends the certificate alone; it does not verify.)
	twin, err := pcaptest.NewPKI(pcaptest.PKIOptions{Leaf: pcaptest.LeafOptions{DNSNames: []string{"client.example.test"}, ClientAuth: true}})
	if err != nil {
		t.Fatal(err)
	}
	alone := twin.TLSCertificate(pcaptest.ChainLeafOnly)
	o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCert: &alone, Close: pcaptest.CloseServerFirst,
		ClientCAs: pcaptest.PoolOf(tp.pki.Root, tp.pki.Intermediate)}
	r := diagnose.Diagnose(handshake(t, o, "unknown authority"), diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
	if r.Cause != diagnose.CauseClientCertRequired || !strings.Contains(r.Fix, "sent its certificate alone, without its issuer "+diagnose.Name(twin.Intermediate)) {
		t.Errorf("certificate alone: %s, fix %q", r.Cause, r.Fix)
	}
	// Without a CertificateRequest the TLS 1.3 client sends its Finished
	// alone: a server refusal then is not a client certificate's.
	o = pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, Close: pcaptest.CloseServerFirst}
	c := handshake(t, o, "")
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)}); r.Verdict == diagnose.VerdictClientCertRejected {
		t.Errorf("a plain TLS 1.3 handshake judged %s: %s", r.Verdict, r.Detail)
	}
}

// TestTLS13AfterClientFinished checks what follows a TLS 1.3 client's
// Finished when no application data flows: a server alert that rejects the
// client (its CertificateRequest is encrypted), and a server close_notify
// that only answers the client's.
func TestTLS13AfterClientFinished(t *testing.T) {
	tp := getPKI(t)
	tests := []struct {
		name    string
		o       pcaptest.TLSOptions
		wantErr string
		verdict diagnose.Verdict
		cause   diagnose.Cause
		finding string
	}{
		{"server requires a client certificate", pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, ClientAuth: tls.RequireAnyClientCert, Close: pcaptest.CloseServerFirst},
			"didn't provide a certificate", diagnose.VerdictClientCertRejected, diagnose.CauseClientCertRequired, ""},
		{"client closes at once, server answers close_notify", pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, CloseNotify: true, NoSessionTickets: true, Close: pcaptest.CloseClientFirst},
			"", diagnose.VerdictOK, "", "closed_after_handshake"},
		{"client closes at once after a session ticket", pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, CloseNotify: true, Close: pcaptest.CloseClientFirst},
			"", diagnose.VerdictOK, "", "closed_after_handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := handshake(t, tt.o, tt.wantErr)
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
			if r.Verdict != tt.verdict || r.Cause != tt.cause {
				t.Fatalf("%s/%s, want %s/%s\n  %s", r.Verdict, r.Cause, tt.verdict, tt.cause, r.Detail)
			}
			if tt.finding != "" && has(r, tt.finding) == nil {
				t.Errorf("no %s finding in %v", tt.finding, r.Findings)
			}
			if tt.verdict == diagnose.VerdictServerAlert {
				if r.Alert == nil || r.Alert.From != dissect.Server || !r.Alert.Encrypted || !strings.Contains(r.Detail, "client certificate") {
					t.Errorf("alert %v, detail %q: want the server's encrypted alert and a client certificate hint", r.Alert, r.Detail)
				}
				if !c.ChainHidden {
					t.Error("TLS 1.3 certificate not hidden")
				}
			}
		})
	}
}

// TestChainMemo: the report of a chain remembered from one connection is
// the one a fresh analysis gives for another, at its own time: the same
// while the certificates are valid, expired once the leaf is (a remembered
// report must not carry a validity over).
func TestChainMemo(t *testing.T) {
	p := getPKI(t)
	c := handshake(t, java(p.pki, p.pki.Root), "")
	if len(c.Chain) == 0 {
		t.Fatal("no chain")
	}
	trust := store(p.pki.Root)
	leaf := c.Chain[0].Cert
	for _, at := range []time.Time{
		leaf.NotBefore.Add(time.Hour), leaf.NotBefore.Add(2 * time.Hour), // both remembered
		leaf.NotAfter.Add(time.Hour),   // expired
		leaf.NotBefore.Add(-time.Hour), // not yet valid
		leaf.NotBefore.Add(3 * time.Hour),
	} {
		got := diagnose.AnalyzeChain(c.Chain, trust, at)
		want := diagnose.AnalyzeChainFresh(c.Chain, trust, at)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("at %v: remembered report\n%+v\nwant\n%+v", at, got, want)
		}
		if !got.At.Equal(at) {
			t.Errorf("at %v: report at %v", at, got.At)
		}
	}
	if r := diagnose.AnalyzeChain(c.Chain, trust, leaf.NotAfter.Add(time.Hour)); r.Certs[0].Validity != "expired" {
		t.Errorf("leaf validity after NotAfter: %q, want expired", r.Certs[0].Validity)
	}
}

// TestNameAfterHandshake: a client that checks the host name after the
// handshake (curl with some TLS backends) completes it and hangs up without
// sending data. On a certificate that does not name the host, that is a
// rejection of the certificate, whatever tlstriage's truststore says (the
// client trusted the chain: the handshake completed).
func TestNameAfterHandshake(t *testing.T) {
	tp := getPKI(t)
	o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS12, CloseNotify: true, Close: pcaptest.CloseClientFirst}
	c := handshake(t, o, "")
	for _, tt := range []struct {
		host    string
		verdict diagnose.Verdict
		cause   diagnose.Cause
	}{
		{"elsewhere.example.test", diagnose.VerdictClientRejectedCertificate, diagnose.CauseHostnameMismatch},
		{pcaptest.DefaultServerName, diagnose.VerdictOK, ""},
	} {
		// crypto/tls checks the name during the handshake; curl checks it
		// after, so the capture is judged as curl's.
		r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other), Host: tt.host, Client: clientstack.Stack{Name: clientstack.OpenSSL, App: clientstack.AppCurl}})
		if r.Verdict != tt.verdict || r.Cause != tt.cause || r.Failed != (tt.cause != "") {
			t.Errorf("host %s: %s/%s (failed %v), want %s/%s\n  %s", tt.host, r.Verdict, r.Cause, r.Failed, tt.verdict, tt.cause, r.Detail)
		}
		if tt.cause != "" && (!strings.Contains(r.Fix, tt.host) || !strings.Contains(r.Detail, "after the handshake")) {
			t.Errorf("detail %q, fix %q", r.Detail, r.Fix)
		}
	}
	// The same client closing a second after the handshake: a session left
	// idle (openssl s_client at its input's end), not a failed check.
	pkts, err := pcaptest.Scenario{TLS: o}.Packets()
	if err != nil {
		t.Fatal(err)
	}
	fin := c.First(dissect.Server, dissect.EvEncryptedHandshake).Frame // frames count from 1
	for i := fin; i < len(pkts); i++ {
		pkts[i].CI.Timestamp = pkts[i].CI.Timestamp.Add(time.Second)
	}
	late := analyse(t, pkts, pcaptest.Ethernet)
	if r := diagnose.Diagnose(late, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other), Host: "elsewhere.example.test"}); r.Verdict != diagnose.VerdictOK {
		t.Errorf("closed a second later: %s (%s)", r.Verdict, r.Detail)
	}
	// Data sent: the client accepted the certificate, whatever its name.
	o.CloseNotify, o.AppData = false, true
	c = handshake(t, o, "")
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root), Host: "elsewhere.example.test"}); r.Verdict != diagnose.VerdictOK {
		t.Errorf("a client that sent data: %s (%s)", r.Verdict, r.Detail)
	}
}

// TestAlertOverTruststore: the client's own alert says more than
// tlstriage's truststore when that one is not the client's. A
// certificate_expired on an expired chain is an expiry, even if the
// truststore given lacks the root; with no truststore given, OpenSSL's
// bad_certificate on a certificate for another name is a name mismatch.
// Fixes then speak of the client's truststore, not the built-in roots.
func TestAlertOverTruststore(t *testing.T) {
	tp := getPKI(t)
	p := tp.pki
	expired, err := p.WithLeaf(pcaptest.LeafOptions{NotBefore: p.Now.AddDate(-1, 0, 0), NotAfter: p.Now.AddDate(0, 0, -3)})
	if err != nil {
		t.Fatal(err)
	}
	o := java(expired, p.Root)
	o.RejectAlert = pcaptest.AlertCertificateExpired
	c := handshake(t, o, "expired")
	for _, tt := range []struct {
		name  string
		trust *truststore.Store
		cause diagnose.Cause
	}{
		{"certificate_expired, root not held", store(tp.other), diagnose.CauseExpired},
		{"certificate_expired, no truststore given", truststore.Mozilla(), diagnose.CauseExpired},
	} {
		if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: tt.trust}); r.Cause != tt.cause {
			t.Errorf("%s: cause %s (%s), want %s", tt.name, r.Cause, r.CauseDetail, tt.cause)
		}
	}
	// The same rejection with certificate_unknown, which names no reason:
	// the truststore decides.
	o.RejectAlert = pcaptest.AlertCertificateUnknown
	c = handshake(t, o, "expired")
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other)}); r.Cause != diagnose.CauseTruststoreMissingRoot {
		t.Errorf("certificate_unknown: cause %s, want %s", r.Cause, diagnose.CauseTruststoreMissingRoot)
	}

	// A name mismatch rejected with bad_certificate, no truststore given.
	o = java(p, p.Root)
	o.ServerName, o.RejectAlert = "elsewhere.example.test", pcaptest.AlertBadCertificate
	c = handshake(t, o, "is valid for")
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: truststore.Mozilla()})
	if r.Cause != diagnose.CauseHostnameMismatch {
		t.Errorf("bad_certificate on another name: cause %s (%s), want %s", r.Cause, r.CauseDetail, diagnose.CauseHostnameMismatch)
	}
	// The same for a leaf not yet valid.
	future, err := p.WithLeaf(pcaptest.LeafOptions{NotBefore: p.Now.AddDate(0, 0, 2), NotAfter: p.Now.AddDate(0, 3, 0)})
	if err != nil {
		t.Fatal(err)
	}
	o2 := java(future, p.Root)
	o2.RejectAlert = pcaptest.AlertBadCertificate
	if r := diagnose.Diagnose(handshake(t, o2, "not yet valid"), diagnose.Options{Flags: cmdFlags, Trust: truststore.Mozilla()}); r.Cause != diagnose.CauseNotYetValid {
		t.Errorf("bad_certificate on a leaf not yet valid: cause %s, want %s", r.Cause, diagnose.CauseNotYetValid)
	}
	// With the truststore given, it decides: the client does not hold the root.
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other)}); r.Cause != diagnose.CauseTruststoreMissingRoot || !strings.Contains(r.Fix, "the truststore test truststore") {
		t.Errorf("bad_certificate, truststore given: cause %s, fix %q", r.Cause, r.Fix)
	}
	// Untrusted with no truststore given: the fix names the client's.
	o = java(p, tp.other)
	c = handshake(t, o, "unknown authority")
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: truststore.Mozilla()}); !strings.Contains(r.Fix, "the client's truststore (not given") || strings.Contains(r.Fix, "Mozilla roots (") {
		t.Errorf("no truststore given: fix %q", r.Fix)
	}
}

// TestVersionMismatch: a server that refuses every version the client
// offers sends protocol_version; the fix says which side to change, from
// what the client offered.
func TestVersionMismatch(t *testing.T) {
	tp := getPKI(t)
	for _, tt := range []struct {
		name string
		o    pcaptest.TLSOptions
		fix  string
	}{
		{"client too old", pcaptest.TLSOptions{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, ServerMinVersion: tls.VersionTLS12, ServerMaxVersion: tls.VersionTLS13},
			"the client offers at most TLS 1.1"},
		{"client TLS 1.3 only, server TLS 1.2 at most", pcaptest.TLSOptions{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13, ServerMinVersion: tls.VersionTLS12, ServerMaxVersion: tls.VersionTLS12},
			"enable TLS 1.2 on the client, or TLS 1.3 on the server"},
		{"client TLS 1.2 at most, server TLS 1.3 only", pcaptest.TLSOptions{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, ServerMinVersion: tls.VersionTLS13, ServerMaxVersion: tls.VersionTLS13},
			"enable TLS 1.3 on the client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.PKI = tp.pki
			c := handshake(t, tt.o, "protocol version")
			r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
			if r.Verdict != diagnose.VerdictServerAlert || r.Cause != diagnose.CauseProtocolMismatch || !strings.Contains(r.Fix, tt.fix) {
				t.Errorf("%s/%s, fix %q; want server_alert/protocol_mismatch, %q", r.Verdict, r.Cause, r.Fix, tt.fix)
			}
		})
	}
}

// TestUnrecognizedName: a server with no certificate for the SNI answers
// the ClientHello with unrecognized_name; the fix is about the name.
func TestUnrecognizedName(t *testing.T) {
	tp := getPKI(t)
	for _, noSNI := range []bool{false, true} {
		o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS12, NoServerName: true, NoSNI: noSNI}
		c := handshake(t, o, "unrecognized name")
		r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
		want := "check the host name the client connects with"
		if noSNI {
			want = "make the client send SNI"
		}
		if r.Verdict != diagnose.VerdictServerAlert || !strings.Contains(r.Fix, want) {
			t.Errorf("no SNI %v: %s/%s, fix %q; want server_alert, %q", noSNI, r.Verdict, r.Cause, r.Fix, want)
		}
	}
}

// TestHeldForHost: the client's truststore holds a certificate for the very
// host (an old self-signed one, pinned) and not the chain the server sends
// now: untrusted_root, naming the certificate held, not a missing root.
func TestHeldForHost(t *testing.T) {
	tp := getPKI(t)
	p := tp.pki
	old, err := p.WithLeaf(pcaptest.LeafOptions{SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	c := handshake(t, java(p, old.Leaf), "unknown authority")
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(old.Leaf)})
	if r.Cause != diagnose.CauseUntrustedRoot || !strings.Contains(r.CauseDetail, "a certificate for "+pcaptest.DefaultServerName) || !strings.Contains(r.Fix, diagnose.Name(p.Root)) {
		t.Errorf("%s: %s; fix %s", r.Cause, r.CauseDetail, r.Fix)
	}
	// A truststore of unrelated roots: the root is missing, nothing more.
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other)}); r.Cause != diagnose.CauseTruststoreMissingRoot {
		t.Errorf("unrelated truststore: %s", r.Cause)
	}
}

// TestLeafSentTwice: a chain file that holds the leaf too makes the server
// send it twice. The copy is the leaf again, not an intermediate, and is
// not "used as an issuer"; the duplicate is reported, the cause is the
// trust problem.
func TestLeafSentTwice(t *testing.T) {
	tp := getPKI(t)
	o := java(tp.pki, tp.other)
	o.Chain = pcaptest.ChainLeafTwice
	c := handshake(t, o, "unknown authority")
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.other)})
	if len(r.Chain.Certs) != 4 || r.Chain.Certs[1].Role != "leaf" || r.Chain.Certs[2].Role != "intermediate" {
		t.Fatalf("roles %+v", r.Chain.Certs)
	}
	if has(r, "chain_duplicate") == nil || has(r, "intermediate_not_ca") != nil {
		t.Errorf("findings %+v: want chain_duplicate and no intermediate_not_ca", r.Findings)
	}
	if r.Cause != diagnose.CauseTruststoreMissingRoot {
		t.Errorf("cause %s", r.Cause)
	}
}

// TestAckedNoAnswer: a server whose TCP stack acknowledges the ClientHello
// but whose application never answers is a hung service, not a network
// that drops the traffic: the detail and the fix say so.
func TestAckedNoAnswer(t *testing.T) {
	tp := getPKI(t)
	o := pcaptest.TLSOptions{Kind: pcaptest.NoServerResponse, PKI: tp.pki, MaxVersion: tls.VersionTLS12,
		Close: []pcaptest.Event{{Dir: pcaptest.ClientToServer, Kind: pcaptest.RST, Delay: 10 * time.Second}}}
	c := handshake(t, o, "EOF")
	if c.Sides[dissect.Server].Acked <= c.First(dissect.Client, dissect.EvClientHello).Offset {
		t.Fatalf("server acknowledged %d bytes", c.Sides[dissect.Server].Acked)
	}
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
	if r.Verdict != diagnose.VerdictNoServerResponse || !strings.Contains(r.Detail, "acknowledged the ClientHello") || !strings.Contains(r.Fix, "nothing answered") {
		t.Errorf("%s: %s; fix %s", r.Verdict, r.Detail, r.Fix)
	}
}

// TestCaptureEndsAfterHello: a capture that stops right after the
// ClientHello, neither side closing, cannot tell whether the server would
// have answered: incomplete, not no_server_response.
func TestCaptureEndsAfterHello(t *testing.T) {
	tp := getPKI(t)
	o := pcaptest.TLSOptions{Kind: pcaptest.NoServerResponse, PKI: tp.pki, MaxVersion: tls.VersionTLS12}
	c := handshake(t, o, "EOF")
	if c.Ended != dissect.EndEndOfInput || c.InputEnd.IsZero() {
		t.Fatalf("ended %q at %v", c.Ended, c.InputEnd)
	}
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
	if r.Verdict != diagnose.VerdictIncomplete || !strings.Contains(r.Detail, "the capture ends") {
		t.Errorf("%s: %s", r.Verdict, r.Detail)
	}
}

// TestClientGaveUpBeforeHello: a client that connects and closes without a
// ClientHello (Java with no usable protocol version) is told apart from a
// capture that lacks the ClientHello.
func TestClientGaveUpBeforeHello(t *testing.T) {
	conv := &pcaptest.Conversation{Events: []pcaptest.Event{
		{Dir: pcaptest.ClientToServer, Kind: pcaptest.FIN, Delay: 32 * time.Millisecond},
		{Dir: pcaptest.ServerToClient, Kind: pcaptest.FIN},
	}}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Diagnose(analyse(t, pkts, pcaptest.Ethernet), diagnose.Options{Flags: cmdFlags, Trust: store()})
	if r.Verdict != diagnose.VerdictIncomplete || !strings.Contains(r.Detail, "the client closed the connection") || !strings.Contains(r.Detail, "without sending one") {
		t.Errorf("%s: %s", r.Verdict, r.Detail)
	}
}

// TestResumedTLS13: a TLS 1.3 session resumed with a pre-shared key sends
// no certificate: the chain is not "hidden", there is none, and the
// handshake is ok.
func TestResumedTLS13(t *testing.T) {
	tp := getPKI(t)
	key := [32]byte{1, 2, 3}
	o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, AppData: true,
		SessionCache: tls.NewLRUClientSessionCache(4), TicketKey: &key}
	first := handshake(t, o, "")
	second := handshake(t, o, "")
	if first.Resumed() || first.ChainHidden != true {
		t.Errorf("first handshake: resumed %v, chain hidden %v", first.Resumed(), first.ChainHidden)
	}
	if !second.Resumed() || second.ChainHidden {
		t.Fatalf("second handshake: resumed %v, chain hidden %v", second.Resumed(), second.ChainHidden)
	}
	if r := diagnose.Diagnose(second, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)}); r.Verdict != diagnose.VerdictOK {
		t.Errorf("resumed: %s (%s)", r.Verdict, r.Detail)
	}
}

// TestClientCertificate13Split: Java's HttpsURLConnection sends its
// Certificate and its Finished as separate writes, and the server's alert
// (certificate_required) lands between them. The 19-byte record is the
// server's alert, not more of its flight.
func TestClientCertificate13Split(t *testing.T) {
	tp := getPKI(t)
	o := pcaptest.TLSOptions{PKI: tp.pki, MaxVersion: tls.VersionTLS13, ClientAuth: tls.RequireAndVerifyClientCert, Close: pcaptest.CloseServerFirst}
	conv, err := pcaptest.Record(o)
	if err != nil {
		t.Fatal(err)
	}
	// The client's write after the server's flight, and the server's next.
	var cw, sw = -1, -1
	serverWrites := 0
	for i, e := range conv.Events {
		if e.Kind != pcaptest.Data {
			continue
		}
		if e.Dir == pcaptest.ServerToClient {
			serverWrites++
			if cw >= 0 && sw < 0 {
				sw = i
			}
		} else if serverWrites > 0 && cw < 0 {
			cw = i
		}
	}
	if cw < 0 || sw != cw+1 {
		t.Fatalf("client write %d, server write %d: want one after the other", cw, sw)
	}
	b := conv.Events[cw].Data
	last := 0 // offset of the last record of the client's write
	for off := 0; off+5 <= len(b); off += 5 + (int(b[off+3])<<8 | int(b[off+4])) {
		last = off
	}
	first, second := conv.Events[cw], conv.Events[cw]
	first.Data, second.Data = b[:last], b[last:]
	conv.Events = slices.Concat(conv.Events[:cw], []pcaptest.Event{first, conv.Events[sw], second}, conv.Events[sw+1:])
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := analyse(t, pkts, pcaptest.Ethernet)
	if a := c.First(dissect.Server, dissect.EvEncryptedAlert); a == nil {
		t.Fatal("the server's 19-byte record not taken for an alert")
	}
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(tp.pki.Root)})
	if r.Verdict != diagnose.VerdictClientCertRejected || r.Cause != diagnose.CauseClientCertRequired {
		t.Errorf("%s/%s: %s", r.Verdict, r.Cause, r.Detail)
	}
}

// TestIntermediateNotYetValid: an intermediate valid only from later,
// sent with a leaf valid now, is a renewed intermediate installed too
// early, not a clock problem: the fix says to install the current one.
func TestIntermediateNotYetValid(t *testing.T) {
	start := pcaptest.DefaultStart
	p, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: start.AddDate(2, 0, 0), // CAs valid from a year after the capture
		Leaf: pcaptest.LeafOptions{NotBefore: start.AddDate(0, -1, 0), NotAfter: start.AddDate(0, 6, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	c := handshake(t, java(p, p.Root), "expired or is not yet valid")
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: store(p.Root)})
	if r.Cause != diagnose.CauseNotYetValid || !strings.Contains(r.Fix, "install in the server's chain file the intermediate") || strings.Contains(r.Fix, "clocks") {
		t.Errorf("%s: %s; fix %s", r.Cause, r.CauseDetail, r.Fix)
	}
}

// TestDefectOverBuiltInRoots: with no truststore given, a definite defect
// of the chain (here its name) is the cause rather than a root the
// built-in set lacks, unless the client's alert names the path
// (unknown_ca); the fix mentions the root in case.
func TestDefectOverBuiltInRoots(t *testing.T) {
	tp := getPKI(t)
	o := java(tp.pki, tp.pki.Root)
	o.ServerName = "elsewhere.example.test"
	c := handshake(t, o, "is valid for")
	r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: truststore.Mozilla()})
	if r.Cause != diagnose.CauseHostnameMismatch || !strings.Contains(r.Fix, "lacks the root "+diagnose.Name(tp.pki.Root)) {
		t.Errorf("certificate_unknown: %s; fix %s", r.Cause, r.Fix)
	}
	o.RejectAlert = pcaptest.AlertUnknownCA
	c = handshake(t, o, "is valid for")
	if r := diagnose.Diagnose(c, diagnose.Options{Flags: cmdFlags, Trust: truststore.Mozilla()}); r.Cause != diagnose.CauseTruststoreMissingRoot {
		t.Errorf("unknown_ca: %s", r.Cause)
	}
}

// TestProbeHintCommand: the fix for a chain the capture hides offers the
// command the caller gives to fetch it, and no command when it gives none
// (diagnose knows no command line).
func TestProbeHintCommand(t *testing.T) {
	tp := getPKI(t)
	o := java(tp.pki, tp.other)
	o.MaxVersion = tls.VersionTLS13
	c := handshake(t, o, "unknown authority")
	fetch := func(c *dissect.Conn) string { return "fetch-chain " + c.Server.String() }
	r := diagnose.Diagnose(c, diagnose.Options{Trust: store(tp.other), ProbeCommand: fetch})
	if !c.ChainHidden || !strings.Contains(r.Fix, "`fetch-chain "+c.Server.String()+"`") {
		t.Errorf("fix %q: want the caller's command", r.Fix)
	}
	r = diagnose.Diagnose(c, diagnose.Options{Trust: store(tp.other)})
	if strings.Contains(r.Fix, "`") || strings.Contains(r.Fix, "--") {
		t.Errorf("fix %q: a command or an option without a caller naming one", r.Fix)
	}
}

// cmdFlags are the option names tlstriage gives diagnose's advice.
var cmdFlags = diagnose.Flags{KeyLog: "--keylog", Host: "--host", Truststore: "--truststore", ExportCerts: "--export-certs"}
