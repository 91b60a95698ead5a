package diagnose

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// anchorAccepted reports whether the client's profile takes the
// truststore certificate the path ends at as an anchor: any certificate
// with partial chains, only a self-signed one without.
func (r *Result) anchorAccepted() bool {
	ch := r.Chain
	return ch == nil || ch.Anchor == nil || r.Profile.PartialChain || selfSigned(ch.Anchor.Cert)
}

// anchorOutOfValidity reports whether the path's anchor is expired or not
// yet valid at the capture and the profile checks an anchor's dates.
func (r *Result) anchorOutOfValidity() bool {
	ch := r.Chain
	return ch != nil && ch.Trusted && r.Profile.AnchorValidity && validityAt(ch.Anchor.Cert, ch.At) != ValidityOK
}

// trustedFor reports whether the client, judged by its profile, builds a
// path to its truststore.
func (r *Result) trustedFor() bool {
	return r.Chain.Trusted && r.anchorAccepted()
}

// acceptedFor reports whether the client, by its profile, accepts the
// chain: a path to an anchor it takes, every certificate valid, the name
// matching where a name is known, nothing its key rules refuse.
func (r *Result) acceptedFor() bool {
	if !r.trustedFor() || r.anchorOutOfValidity() || r.firstValidity() != nil || r.NameCheck == "mismatch" {
		return false
	}
	for _, f := range r.Findings {
		switch f.Code {
		case FindingWeakKey, FindingWeakSignature, FindingNoServerAuth, FindingIntermediateNotCa:
			if f.Severity == SevError {
				return false
			}
		}
	}
	return true
}

// rejectedAfterHandshake judges a handshake that completed and that the
// client closed at once without sending data. Clients that judge the
// certificate after the handshake (Node, GnuTLS; curl for the name) hang
// up so when it fails their checks; others (Java, Go, Python) judged it
// during the handshake, so their hang-up is not about the certificate.
func (r *Result) rejectedAfterHandshake(c *dissect.Conn, trust *truststore.Store, o Options) {
	p := r.Profile
	checksAfter := p.ChainAfterHandshake || p.NameAfterHandshake || p.Stack == defaultProfile.Stack
	if !checksAfter || r.hostInferred && p.Stack == defaultProfile.Stack {
		// A client not identified that sent no SNI: the address is too
		// weak a guess at the name it checked to call its hang-up a
		// rejection.
		return
	}
	what := "the certificate"
	if !p.ChainAfterHandshake {
		what = "the host name"
	}
	who := p.Label + " judges " + what + " after the handshake"
	if p.Stack == defaultProfile.Stack {
		who = "clients that judge the certificate after the handshake (Node, GnuTLS, curl for the name) hang up so"
	}
	switch {
	case r.Chain != nil && !c.ChainHidden:
		rejected := false
		switch {
		case p.ChainAfterHandshake:
			rejected = !r.acceptedFor()
		default: // the name only: a completed handshake shows the chain was accepted
			rejected = r.NameCheck == "mismatch"
		}
		if !rejected {
			return
		}
		r.Verdict = VerdictClientRejectedCertificate
		r.Failed = true
		r.Detail = fmt.Sprintf("the handshake completed, then the client closed without sending application data, %s after the server's Finished: it rejected the certificate after the handshake (%s)", fmtDur(r.closeAfterFinished(c)), who)
		if p.ChainAfterHandshake {
			// The handshake proves nothing about the chain here.
			r.cause(c, trust, o)
			return
		}
		leaf := r.Chain.Certs[0].Info.Cert
		r.Cause = CauseHostnameMismatch
		r.CauseDetail = r.has(FindingHostnameMismatch).Summary
		r.Fix = r.nameFix(c, leaf)
	case c.ChainHidden && p.Stack != defaultProfile.Stack:
		r.Verdict = VerdictClientRejectedCertificate
		r.Failed = true
		r.Detail = fmt.Sprintf("the handshake completed, then the client closed without sending application data, %s after the server's Finished: inferred, %s, and the certificate is encrypted", fmtDur(r.closeAfterFinished(c)), who)
		r.Cause = CauseUnknown
		reasons := "the chain does not build to the client's truststore, the certificate does not name the host it asked for, or a certificate is out of its validity"
		if !p.ChainAfterHandshake {
			reasons = "most likely the certificate does not name the host it asked for (the chain itself passed during the handshake)"
		}
		r.CauseDetail = "TLS 1.3 encrypts the server's certificate, so the capture cannot show what the client found wrong: " + reasons
		r.Fix = hiddenChainFix(c, o, p)
	}
}

// closeAfterFinished is how long after the server's Finished (its last
// encrypted handshake record) the client closed.
func (r *Result) closeAfterFinished(c *dissect.Conn) time.Duration {
	fin := c.First(dissect.Server, dissect.EvEncryptedHandshake)
	if fin == nil {
		return 0
	}
	for i := range c.Events {
		e := &c.Events[i]
		if e.From != dissect.Client || e.Frame < fin.Frame {
			continue
		}
		switch e.Kind {
		case dissect.EvAlert, dissect.EvEncryptedAlert, dissect.EvFIN, dissect.EvRST:
			return e.Time().Sub(fin.Time())
		}
	}
	return 0
}

// followClient brings findings in line with what the client did: on a
// connection it completed, what its rules refuse did not stop it.
func (r *Result) followClient(c *dissect.Conn) {
	if r.Failed {
		return
	}
	if r.hostInferred && r.NameCheck == "mismatch" {
		// The client accepted the certificate: it checked another name
		// than the address, or none.
		r.Findings = slices.DeleteFunc(r.Findings, func(f Finding) bool { return f.Code == FindingHostnameMismatch })
		r.NameCheck = fmt.Sprintf("skipped: the client sent no SNI and no "+flagOr(r.o.Flags.Host, "host name")+" was given (the server's address %s is not among the certificate's names: the client checked another name, or none)", r.Host)
		r.Host, r.HostSource = "", ""
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Code == FindingClosedAfterHandshake {
			// Say what the hang-up means for this client, not a guess
			// at a name check the facts rule out.
			base, _, _ := strings.Cut(f.Summary, ". Clients that check")
			switch p := r.Profile; {
			case r.NameCheck == "ok" && r.Chain != nil && !c.ChainHidden && r.acceptedFor():
				f.Summary = base + ". The certificate passes the checks of " + p.Label + ", so the hang-up is the application's choice (a health check, a connection pool closing), not a rejection"
			case p.Stack != defaultProfile.Stack && !p.ChainAfterHandshake && !p.NameAfterHandshake:
				f.Summary = base + ". " + p.Label + " judges the certificate during the handshake, so this hang-up is not about the certificate"
			}
		}
		switch f.Code {
		case FindingWeakKey, FindingWeakSignature, FindingNoServerAuth, FindingIntermediateNotCa, FindingAnchorExpired, FindingAnchorNotYetValid:
			if f.Severity == SevError {
				f.Severity = SevWarning
				f.Summary += " (this client accepted it; stricter clients refuse it)"
			}
		}
	}
	_ = c
}

// staleIssuer is a certificate the server sent with the subject of end's
// issuer that did not sign end: an intermediate of another generation
// (renewed with a new key), or nil.
func staleIssuer(ch *ChainReport, end *ChainCert) *ChainCert {
	for i := range ch.Certs {
		cc := &ch.Certs[i]
		cert := cc.Info.Cert
		if cert == nil || cc == end || !bytes.Equal(cert.RawSubject, end.Info.Cert.RawIssuer) {
			continue
		}
		if !issuedBy(end.Info.Cert, cert) {
			return cc
		}
	}
	return nil
}

// keyIDs says what the authority and subject key identifiers show of a
// certificate and the issuer of the same name that did not sign it.
func keyIDs(child, stale *ChainCert) string {
	akid, skid := child.Info.Cert.AuthorityKeyId, stale.Info.Cert.SubjectKeyId
	if len(akid) == 0 || len(skid) == 0 {
		return "its signature does not verify with that certificate's key"
	}
	return fmt.Sprintf("the leaf's authority key identifier is %s, the sent certificate's subject key identifier is %s", colonHex(akid), colonHex(skid))
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// sniRequired names a server that refuses a ClientHello without SNI:
// unrecognized_name (nginx's ssl_reject_handshake on a default server), or
// handshake_failure to a client whose offer any current server shares
// (TLS 1.2 or 1.3 with ECDHE and AES-GCM), so that the missing name, not
// the parameters, is the likely refusal. It reports whether it set the
// cause.
func (r *Result) sniRequired(c *dissect.Conn) bool {
	ch := c.ClientHello
	if ch == nil || ch.ServerName != "" || c.ServerHello != nil || r.Alert == nil || r.Alert.Encrypted || r.Alert.From != dissect.Server {
		return false
	}
	switch tlsparse.AlertDescription(r.Alert.Code) {
	case tlsparse.AlertUnrecognizedName:
		r.CauseDetail = "the client sent no SNI and the server requires one: " + r.Detail
	case tlsparse.AlertHandshakeFailure:
		if !modernOffer(ch) {
			return false
		}
		r.CauseDetail = "the client sent no SNI, and the server refused its ClientHello although the client offers what current servers accept (TLS 1.2 or 1.3, ECDHE with AES-GCM): most likely the server requires SNI (a virtual host with no default certificate); less likely, the server and the client share no parameters. " + r.Detail
	default:
		return false
	}
	r.Cause = CauseSNIRequired
	r.Fix = fmt.Sprintf("make the client send SNI: connect by host name, not by address (a Java client sends no SNI for an IP literal or a name without a dot; -Djsse.enableSNIExtension=true), or give the server at %s a default certificate", c.Server)
	return true
}

// modernOffer reports whether ch offers TLS 1.2 or 1.3 with a suite every
// current server accepts.
func modernOffer(ch *tlsparse.ClientHello) bool {
	if ch.MaxVersion() < tlsparse.VersionTLS12 {
		return false
	}
	for _, s := range ch.CipherSuites {
		switch s {
		case 0x1301, 0x1302, 0xc02b, 0xc02f, 0xc02c, 0xc030:
			return true
		}
	}
	return false
}

// legacyVersion names a server that chose TLS 1.1 or older for a client
// that then gave up before its ClientKeyExchange without saying the
// certificate was at fault: current clients refuse those versions, or
// the MD5/SHA-1 signatures they need, even when they still offer them
// (OpenSSL 3 at security level 1 and above: "internal error" or
// "unsupported protocol"; Java 17: TLSv1 and TLSv1.1 in
// jdk.tls.disabledAlgorithms). It reports whether it set the cause.
func (r *Result) legacyVersion(c *dissect.Conn) bool {
	v := c.Version()
	if v == 0 || v >= tlsparse.VersionTLS12 || r.Verdict != VerdictClientRejectedCertificate {
		return false
	}
	sslv2 := v == tlsparse.VersionSSL20
	if c.ClientHello == nil || c.ClientHello.MaxVersion() < tlsparse.VersionTLS12 && !(sslv2 && c.ClientHello.MaxVersion() > v) {
		// A client that offers nothing newer takes what it offered.
		return false
	}
	if a := r.Alert; a != nil && !a.Encrypted && a.From == dissect.Client && certAlert(tlsparse.AlertDescription(a.Code)) {
		return false
	}
	r.Cause = CauseProtocolMismatch
	how := "closed the connection"
	if a := r.Alert; a != nil && !a.Encrypted && a.From == dissect.Client {
		how = "sent " + a.String()
	}
	if sslv2 {
		// The client's SSLv2-compatible hello offered TLS (or SSL 3.0);
		// the server answered in SSL 2.0, which it does not speak.
		r.CauseDetail = fmt.Sprintf("the client offered up to %s in an SSLv2-compatible ClientHello, the server answered in SSL 2.0 and the client %s before its CLIENT-MASTER-KEY: the server speaks SSL 2.0 only, which the client does not", c.ClientHello.MaxVersion(), how)
		r.Fix = sslv2Fix(c)
		return true
	}
	r.CauseDetail = fmt.Sprintf("the server chose %s and the client %s before its ClientKeyExchange: %s refuses %s (and the MD5/SHA-1 handshake signatures it requires) by default, even if it offered it", v, how, r.Profile.Label, v)
	r.Fix = fmt.Sprintf("enable TLS 1.2 or 1.3 on the server %s (it speaks %s at most); only as a stopgap, allow %s on the client (OpenSSL: -cipher 'DEFAULT:@SECLEVEL=0' with MinProtocol TLSv1; Java: remove it from jdk.tls.disabledAlgorithms)", c.Server, v, v)
	return true
}

// chainCertOf is the ChainCert of cert in ch, or nil.
func chainCertOf(ch *ChainReport, cert *x509.Certificate) *ChainCert {
	if cert == nil {
		return nil
	}
	for i := range ch.Certs {
		if ch.Certs[i].Info.Cert == cert {
			return &ch.Certs[i]
		}
	}
	return nil
}

// nameFix is the fix for a certificate that does not name the host the
// client asked for; without SNI, the server chose its default certificate.
func (r *Result) nameFix(c *dissect.Conn, leaf *x509.Certificate) string {
	if c.SNI() == "" {
		sayHost := ""
		if r.o.Flags.Host != "" {
			sayHost = "; if the client meant another host name, say it with " + r.o.Flags.Host
		}
		host := r.Host + " (" + r.HostSource + ")"
		if r.hostInferred {
			host = "the address " + r.Host
		}
		return fmt.Sprintf("the client sent no SNI, so the server answered with its default certificate (%s), which does not name %s: make the client connect by the host name the certificate names and send SNI (a Java client sends none for an IP literal or a name without a dot), or give the server a default certificate that names %s%s", certNames(leaf), host, host, sayHost)
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && matchCN(leaf.Subject.CommonName, r.Host) {
		return fmt.Sprintf("the certificate names %s only in its CN, which %s does not read: reissue it with %s as a DNS subjectAltName", r.Host, r.Profile.Label, r.Host)
	}
	return fmt.Sprintf("the client asked for %s (%s) but the certificate is for %s: fix the target endpoint's host name or the server's certificate", r.Host, r.HostSource, certNames(leaf))
}

// causeFromAlert names the cause a client's plaintext alert tells when
// the chain itself cannot be seen (TLS 1.3 without a key log: OpenSSL
// clients send their rejection before switching to handshake keys).
// OpenSSL maps X509_V_ERR_CERT_HAS_EXPIRED and CERT_NOT_YET_VALID to
// certificate_expired, and X509_V_ERR_INVALID_PURPOSE to
// unsupported_certificate (ssl/statem/statem_lib.c, ssl_x509err2alert).
func (r *Result) causeFromAlert() {
	a := r.Alert
	if a == nil || a.Encrypted || a.From != dissect.Client {
		return
	}
	switch tlsparse.AlertDescription(a.Code) {
	case tlsparse.AlertCertificateExpired:
		r.Cause = CauseExpired
		r.CauseDetail = "inferred from the client's " + a.String() + ": a certificate of the chain (or the trust anchor) is out of its validity at the client's clock; the chain itself is encrypted, so which one cannot be shown"
	case tlsparse.AlertUnsupportedCertificate:
		r.Cause = CauseWeakCertificate
		r.CauseDetail = "inferred from the client's " + a.String() + ": OpenSSL sends it when the certificate's extended key usage does not allow a server (or its key type is refused); the chain itself is encrypted"
	}
}
