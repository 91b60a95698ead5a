package diagnose

import (
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// Cause is why a handshake failed. The values are a contract (JSON
// "cause").
type Cause string

// Causes.
const (
	CauseTruststoreMissingRoot         Cause = "truststore_missing_root"
	CauseTruststoreMissingIntermediate Cause = "truststore_missing_intermediate"
	CauseUntrustedRoot                 Cause = "untrusted_root"
	CauseIncompleteChain               Cause = "incomplete_chain"
	CauseHostnameMismatch              Cause = "hostname_mismatch"
	CauseExpired                       Cause = "expired"
	CauseNotYetValid                   Cause = "not_yet_valid"
	CauseSelfSigned                    Cause = "self_signed"
	CauseWeakCertificate               Cause = "weak_certificate"
	CauseClientCertRequired            Cause = "client_cert_required"
	CauseProtocolMismatch              Cause = "protocol_mismatch"
	CauseNotTLS                        Cause = "not_tls"
	CauseSNIRequired                   Cause = "sni_required"
	CauseUnknown                       Cause = "unknown"
)

// Options say what the client trusted and meant to reach.
type Options struct {
	// Trust is the client's truststore; nil means the built-in Mozilla
	// roots.
	Trust *truststore.Store
	// Host is the name the client meant to reach; "" means the SNI.
	Host string
	// Client, when its Name is set, is the client's stack as the user
	// says it is: its profile is used instead of the one identified from
	// the ClientHello.
	Client clientstack.Stack
	// ProbeCommand, when set, gives the command that fetches and judges
	// the chain c's server sends as a client with the truststores given
	// would (the caller knows its own command line and the tools that
	// speak c's protocol); diagnose offers it where a live check settles
	// the question, and leaves the command out when it is nil.
	ProbeCommand func(c *dissect.Conn) string
	// Flags are the caller's names for its options that the advice
	// mentions.
	Flags Flags
}

// Flags name the caller's options that diagnose's advice mentions
// (tlstriage's --keylog, --host, --truststore, --export-certs). An empty
// name leaves the option out of the advice: diagnose knows no command
// line.
type Flags struct {
	KeyLog, Host, Truststore, ExportCerts string
}

// flagged is " (" + flag + ")", or "" for an option the caller did not
// name.
func flagged(flag string) string {
	if flag == "" {
		return ""
	}
	return " (" + flag + ")"
}

// Result is the diagnosis of one connection.
type Result struct {
	Wire
	Failed      bool
	Cause       Cause // "" for connections that did not fail
	CauseDetail string
	Fix         string
	Findings    []Finding
	Chain       *ChainReport // nil when no chain was seen
	TrustStore  string
	Host        string // the name checked, "" when none
	HostSource  string // "--host", "SNI", "the server's address ...", ""
	NameCheck   string // "ok", "mismatch", "skipped: ..."
	// ClientStack is the stack identified from the ClientHello.
	ClientStack clientstack.Stack
	// Profile is the set of rules the connection was judged with: the
	// identified stack's, or the one Options.Client forces.
	Profile Profile
	// ProfileForced reports whether Options.Client chose the profile.
	ProfileForced bool
	// ClientError is the message the client's stack logs for the cause,
	// "" when unknown.
	ClientError string

	hostInferred bool    // Host is the server's address: no SNI, no host given
	o            Options // what the connection was judged with
}

// Diagnose judges one connection.
func Diagnose(c *dissect.Conn, o Options) *Result {
	trust := o.Trust
	if trust == nil {
		trust = truststore.Mozilla()
	}
	r := &Result{Wire: JudgeWire(c), TrustStore: trust.Name, o: o}
	r.ClientStack = identify(c.ClientHello)
	r.Profile = ProfileFor(r.ClientStack)
	if o.Client.Name != "" {
		r.Profile, r.ProfileForced = ProfileFor(o.Client), true
	}
	r.Failed = Failed(r.Verdict)
	r.Findings = append(r.Findings, r.Wire.Findings...)
	r.Findings = append(r.Findings, decryptFindings(c)...)
	r.Host, r.HostSource = o.Host, hostSource(o)
	if r.Host == "" && c.SNI() != "" {
		r.Host, r.HostSource = c.SNI(), "SNI"
	}
	if r.Host == "" && c.ClientHello != nil && c.Server.Addr().IsValid() {
		// No SNI: the client connected by address (RFC 6066 puts no
		// address in SNI), or turned SNI off. Its name check then is
		// against the address, the one name tlstriage knows.
		r.Host, r.HostSource, r.hostInferred = c.Server.Addr().Unmap().String(), "the server's address, inferred: the client sent no SNI and no "+flagOr(o.Flags.Host, "host name")+" was given", true
	}
	if r.Host == "" {
		r.HostSource = ""
	}
	if len(c.Chain) > 0 {
		at := c.FirstTime
		if e := c.First(dissect.Server, dissect.EvCertificate); e != nil {
			at = e.Time()
		}
		r.Chain = AnalyzeChain(c.Chain, trust, at)
		r.Findings = append(r.Findings, r.Chain.Findings...)
		r.checkCerts(c)
	}
	if r.Failed {
		r.cause(c, trust, o)
	} else if r.has(FindingClosedAfterHandshake) != nil && hungUpAtOnce(c) {
		r.rejectedAfterHandshake(c, trust, o)
	}
	r.followClient(c)
	r.ClientError = clientError(r, c)
	return r
}

// hungUpAtOnce reports whether the client closed (an alert, FIN or RST)
// within half a second of the server's Finished: a check that failed, not
// a session left idle and closed later (openssl s_client on its input's
// end, a health check).
func hungUpAtOnce(c *dissect.Conn) bool {
	fin := c.First(dissect.Server, dissect.EvEncryptedHandshake)
	if fin == nil {
		return false
	}
	for i := range c.Events {
		e := &c.Events[i]
		if e.From != dissect.Client || e.Frame < fin.Frame {
			continue
		}
		switch e.Kind {
		case dissect.EvAlert, dissect.EvEncryptedAlert, dissect.EvFIN, dissect.EvRST:
			return e.Time().Sub(fin.Time()) <= 500*time.Millisecond
		}
	}
	return false
}

// checkCerts adds the per-certificate findings: name, validity, weakness.
func (r *Result) checkCerts(c *dissect.Conn) {
	ch := r.Chain
	leaf := ch.Certs[0].Info.Cert
	if leaf == nil {
		r.NameCheck = "skipped: the leaf certificate cannot be parsed"
		return
	}
	p := r.Profile
	switch {
	case r.Host == "":
		r.NameCheck = "skipped: no " + flagOr(r.o.Flags.Host, "host name") + " given and the client sent no SNI"
	default:
		r.NameCheck = "ok"
		if ok, why := nameMatches(leaf, r.Host); !ok {
			r.NameCheck = "mismatch"
			r.add(Finding{Code: FindingHostnameMismatch, Severity: SevError, Summary: why})
		} else if why != "" && !p.CNFallback {
			r.NameCheck = "mismatch"
			r.add(Finding{Code: FindingHostnameMismatch, Severity: SevError, Summary: fmt.Sprintf("the certificate names %q only in its CN (no subjectAltName): %s does not read the CN", leaf.Subject.CommonName, p.Label)})
		} else if why != "" {
			r.add(Finding{Code: FindingCnOnly, Severity: SevWarning, Summary: why})
		}
	}
	for _, cc := range ch.Certs {
		cert := cc.Info.Cert
		if cert == nil {
			continue
		}
		// The certificate as findings name it (most chains need none).
		label := func() string { return fmt.Sprintf("%s #%d (%s)", cc.Role, cc.Position, Name(cert)) }
		switch cc.Validity {
		case ValidityExpired:
			r.add(Finding{Code: FindingExpired, Severity: SevError, Summary: fmt.Sprintf("%s expired on %s, before the capture (%s)", label(), fmtTime(cert.NotAfter), fmtTime(ch.At))})
		case ValidityNotYetValid:
			r.add(Finding{Code: FindingNotYetValid, Severity: SevError, Summary: fmt.Sprintf("%s is valid only from %s, after the capture (%s)", label(), fmtTime(cert.NotBefore), fmtTime(ch.At))})
		default:
			if left := cert.NotAfter.Sub(ch.At); left < 30*24*time.Hour {
				r.add(Finding{Code: FindingExpiresSoon, Severity: SevWarning, Summary: fmt.Sprintf("%s expires on %s, %d days after the capture", label(), fmtTime(cert.NotAfter), int(left.Hours()/24))})
			}
		}
		if cc.KeyBits > 0 && strings.HasPrefix(cc.Key, "RSA") && cc.KeyBits < 2048 {
			if cc.KeyBits < p.MinRSABits {
				r.add(Finding{Code: FindingWeakKey, Severity: SevError, Summary: fmt.Sprintf("%s has a %s key: %s requires at least %d bits", label(), cc.Key, p.Label, p.MinRSABits)})
			} else {
				r.add(Finding{Code: FindingWeakKey, Severity: SevWarning, Summary: fmt.Sprintf("%s has a %s key: %s accepts it, but OpenSSL at security level 2, GnuTLS and browsers require 2048 bits", label(), cc.Key, p.Label)})
			}
		}
		if !cc.SelfSigned || cc.Position == 0 {
			switch cert.SignatureAlgorithm {
			case x509.MD5WithRSA, x509.MD2WithRSA:
				r.add(Finding{Code: FindingWeakSignature, Severity: SevError, Summary: fmt.Sprintf("%s is signed with %s: rejected by every current client", label(), cert.SignatureAlgorithm)})
			case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
				if p.SHA1Rejected {
					r.add(Finding{Code: FindingWeakSignature, Severity: SevError, Summary: fmt.Sprintf("%s is signed with %s: rejected by %s and other current clients", label(), cert.SignatureAlgorithm, p.Label)})
				} else {
					r.add(Finding{Code: FindingWeakSignature, Severity: SevWarning, Summary: fmt.Sprintf("%s is signed with %s: %s accepts it under a private root, but OpenSSL 3, Go, GnuTLS and browsers reject it", label(), cert.SignatureAlgorithm, p.Label)})
				}
			}
		}
		if cc.Position > 0 && !cc.IsCA && issuesAnother(ch, cert) {
			r.add(Finding{Code: FindingIntermediateNotCa, Severity: SevError, Summary: fmt.Sprintf("%s is used as an issuer but has no CA basic constraint", label())})
		}
	}
	if len(leaf.ExtKeyUsage) > 0 && !hasServerAuth(leaf) {
		r.add(Finding{Code: FindingNoServerAuth, Severity: SevError, Summary: "the leaf certificate's extended key usage does not include serverAuth: Java, OpenSSL, Go and browsers reject it for a server"})
	}
	if ch.Certs[0].SelfSigned {
		r.add(Finding{Code: FindingSelfSigned, Severity: SevWarning, Summary: fmt.Sprintf("the leaf certificate (%s) is self-signed", Name(leaf))})
	}
	// Trust, cert by cert (phase 2 of the playbook).
	switch {
	case ch.Trusted && !r.anchorAccepted():
		r.add(Finding{Code: FindingUntrusted, Severity: SevError, Summary: fmt.Sprintf("the chain builds to %s, which the truststore holds (alias %s), but it is not a self-signed root, and %s anchors a path only at a root (OpenSSL without X509_V_FLAG_PARTIAL_CHAIN): the root %s is not in the truststore",
			Name(ch.Anchor.Cert), ch.Anchor.Alias, p.Label, IssuerName(ch.Anchor.Cert))})
	case ch.Trusted:
		r.add(Finding{Code: FindingTrusted, Severity: SevInfo, Summary: fmt.Sprintf("the chain builds to %s, which the truststore holds (alias %s)", Name(ch.Anchor.Cert), ch.Anchor.Alias)})
	default:
		r.add(Finding{Code: FindingUntrusted, Severity: SevError, Summary: ch.untrusted})
	}
	if a := ch.Anchor; ch.Trusted && validityAt(a.Cert, ch.At) != ValidityOK {
		code := FindingAnchorExpired
		if validityAt(a.Cert, ch.At) == ValidityNotYetValid {
			code = FindingAnchorNotYetValid
		}
		f := Finding{Code: code, Severity: SevWarning,
			Summary: fmt.Sprintf("the trust anchor %s (alias %s) is valid from %s to %s, not at the capture (%s): Java does not check a trust anchor's dates, OpenSSL, GnuTLS and Go do", Name(a.Cert), a.Alias, fmtTime(a.Cert.NotBefore), fmtTime(a.Cert.NotAfter), fmtTime(ch.At))}
		if p.AnchorValidity {
			f.Severity = SevError
		}
		r.add(f)
	}
	for _, la := range ch.LookAlikes {
		r.add(Finding{Code: FindingTruststoreLookalike, Severity: SevWarning, Summary: fmt.Sprintf("the truststore holds %s (alias %s, SHA-256 %s), with the name the chain needs but another key or signature: a different certificate of the same name (renewed or re-keyed CA?)",
			Name(la.Cert), la.Alias, truststore.SHA256Hex(la.Cert.Raw))})
	}
	_ = c
}

// untrustedSummary says where the path from the leaf stops (made once per
// chain report, shared by the connections that send the chain).
func (ch *ChainReport) untrustedSummary() string {
	if ch.End == nil {
		return "no path could be built from the leaf"
	}
	if ch.MissingIssuer != "" {
		s := fmt.Sprintf("the path from the leaf ends at %s; its issuer (%s) is neither sent by the server nor in the truststore", Name(ch.End), ch.MissingIssuer)
		if ch.BeyondGap != nil {
			s += fmt.Sprintf("; the server's certificate #%d leads to %s, which the truststore holds (alias %s)", ch.BeyondGapFrom, Name(ch.BeyondGap.Cert), ch.BeyondGap.Alias)
		}
		return s
	}
	return fmt.Sprintf("the path from the leaf ends at the self-signed %s, which the truststore does not hold", Name(ch.End))
}

func (r *Result) add(f Finding) { r.Findings = append(r.Findings, f) }

func hasServerAuth(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// checkName checks host against the certificate's names (RFC 6125
// wildcards via crypto/x509). A certificate with no SAN is matched against
// its CN as Java does; the second result then says Go, browsers and curl
// would not.
func checkName(c *x509.Certificate, host string) (bool, string) {
	host = strings.TrimSuffix(host, ".")
	if len(c.DNSNames) == 0 && len(c.IPAddresses) == 0 {
		if c.Subject.CommonName == "" {
			return false, fmt.Sprintf("the certificate has no SAN and no CN: no name can match %q", host)
		}
		if matchCN(c.Subject.CommonName, host) {
			return true, fmt.Sprintf("the certificate names %q only in its CN (no SAN): Java, OpenSSL clients (curl, Python, Node) and GnuTLS accept it, Go, browsers and rustls do not", c.Subject.CommonName)
		}
		return false, fmt.Sprintf("the client asked for %q but the certificate (no SAN) has CN %q", host, c.Subject.CommonName)
	}
	if err := c.VerifyHostname(host); err == nil {
		return true, ""
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return false, fmt.Sprintf("the client asked for %q but the certificate is for %s", host, strings.Join(quoteAll(names), ", "))
}

func matchCN(cn, host string) bool {
	if strings.EqualFold(cn, host) {
		return true
	}
	if strings.HasPrefix(cn, "*.") && net.ParseIP(host) == nil {
		if i := strings.IndexByte(host, '.'); i > 0 && strings.EqualFold(cn[1:], host[i:]) {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (r *Result) has(code FindingCode) *Finding {
	for i := range r.Findings {
		if r.Findings[i].Code == code {
			return &r.Findings[i]
		}
	}
	return nil
}

// cutChainFix is the fix when the capture lacks bytes of the server's
// Certificate: capture again whole (how depends on why bytes are missing),
// or fetch the chain.
func cutChainFix(c *dissect.Conn, o Options) string {
	again := "the capture lost packets: capture again with a larger buffer (tcpdump -B 65536) and a filter on the backend's address"
	for _, e := range c.Events {
		if e.Kind == dissect.EvGap && e.From == dissect.Server && strings.Contains(e.Detail, "snapshot length") {
			again = "the snapshot length cut the packets: capture again with whole packets (tcpdump -s 0)"
			break
		}
	}
	return again + fetchChainAdvice(c, o)
}

// fetchChainAdvice is ", or fetch and check the chain the server sends
// with `COMMAND`", when the caller gives the command.
func fetchChainAdvice(c *dissect.Conn, o Options) string {
	if o.ProbeCommand == nil {
		return ""
	}
	return ", or fetch and check the chain the server sends with `" + o.ProbeCommand(c) + "`"
}

// flagOr is the caller's name for an option, or words that say what it
// gives when the caller named none.
func flagOr(flag, words string) string {
	if flag == "" {
		return words
	}
	return flag
}

// hostSource names where a host given in the options came from.
func hostSource(o Options) string {
	if o.Flags.Host != "" {
		return o.Flags.Host
	}
	return "given"
}

func (r *Result) firstValidity() *ChainCert {
	if r.Chain == nil {
		return nil
	}
	for i := range r.Chain.Certs {
		if r.Chain.Certs[i].Validity != ValidityOK {
			return &r.Chain.Certs[i]
		}
	}
	return nil
}

// issuesAnother reports whether cert issued another certificate of the
// chain: whether it is used as an issuer.
func issuesAnother(ch *ChainReport, cert *x509.Certificate) bool {
	for _, o := range ch.Certs {
		if c := o.Info.Cert; c != nil && !c.Equal(cert) && issuedBy(c, cert) {
			return true
		}
	}
	return false
}

// heldFor is a certificate of trust, other than leaf, valid for host by
// its names: one the client was given for this server.
func heldFor(trust *truststore.Store, host string, leaf *x509.Certificate) *truststore.Cert {
	for _, tc := range trust.Certs {
		if tc.Cert != nil && !tc.Cert.Equal(leaf) && tc.Cert.VerifyHostname(host) == nil {
			return tc
		}
	}
	return nil
}

func fingerprintOf(ch *ChainReport, c *x509.Certificate) string {
	for _, cc := range ch.Certs {
		if cc.Info.Cert == c {
			return cc.Info.SHA256
		}
	}
	return truststore.SHA256Hex(c.Raw)
}

func certNames(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

func (r *Result) clientCert(c *dissect.Conn) {
	r.Cause = CauseClientCertRequired
	cas := ""
	if c.CertRequest != nil && len(c.CertRequest.CertificateAuthorities) > 0 {
		var names []string
		for _, dn := range c.CertRequest.CertificateAuthorities {
			names = append(names, dnString(dn))
			if len(names) == 5 {
				names = append(names, "...")
				break
			}
		}
		cas = " issued by one of the CAs it names: " + strings.Join(names, "; ")
	}
	sent := "sent no certificate"
	if c.ClientSentCertificate && len(c.ClientChain) > 0 {
		sent = fmt.Sprintf("sent a certificate (%s) that the server did not accept", certSubject(c.ClientChain[0]))
	} else if c.ClientSentCertificate {
		sent = "answered with an empty Certificate message"
	}
	r.CauseDetail = fmt.Sprintf("the server requires a client certificate (CertificateRequest) and the client %s. %s", sent, r.Detail)
	r.Fix = "configure the client with a keystore and key alias holding a certificate the server accepts" + cas + " (Apigee: SSLInfo ClientAuthEnabled, KeyStore and KeyAlias)"
	if len(c.ClientChain) == 1 && c.ClientChain[0].Cert != nil && !selfSigned(c.ClientChain[0].Cert) {
		// A certificate sent alone: its issuer may be an intermediate the
		// server lacks.
		r.Fix = fmt.Sprintf("the client sent its certificate alone, without its issuer %s: if that is an intermediate, send it with the certificate (the keystore entry holds the whole chain; curl: --cert with the certificate and the intermediate in one file); otherwise %s",
			IssuerName(c.ClientChain[0].Cert), r.Fix)
	}
	if c.CertRequest == nil && c.Version().IsTLS13() {
		// Inferred from the encrypted records' count (verdict13).
		r.CauseDetail = "TLS 1.3 encrypts the CertificateRequest and the client's Certificate: from the records the client sent after the server's flight, the server most likely requires a client certificate, and it refused the connection after the client's Finished"
		r.Fix += "; the client's key log" + flagged(r.o.Flags.KeyLog) + " shows the CertificateRequest, the CAs it accepts and what the client sent"
	}
}

func certSubject(ci *dissect.CertInfo) string {
	if ci.Cert == nil {
		return "unparsable"
	}
	return Name(ci.Cert)
}

// protocolMismatch names a version or cipher disagreement when the server
// refused the ClientHello. It reports whether it set the cause.
func (r *Result) protocolMismatch(c *dissect.Conn) bool {
	if r.Alert == nil || r.Alert.Encrypted || c.ServerHello != nil {
		return false
	}
	ch := c.ClientHello
	switch tlsparse.AlertDescription(r.Alert.Code) {
	case tlsparse.AlertProtocolVersion, tlsparse.AlertInsufficientSecurity, tlsparse.AlertHandshakeFailure,
		tlsparse.AlertIllegalParameter, tlsparse.AlertMissingExtension, tlsparse.AlertNoApplicationProtocol:
	default:
		return false
	}
	r.Cause = CauseProtocolMismatch
	max := ch.MaxVersion()
	var versions []string
	for _, v := range ch.SupportedVersions {
		if !tlsparse.IsGREASE(v) {
			versions = append(versions, tlsparse.Version(v).String())
		}
	}
	if len(versions) == 0 {
		versions = []string{"up to " + max.String()}
	}
	var suites []string
	for _, s := range ch.CipherSuites {
		// Signalling values are not suites: GREASE, the renegotiation
		// SCSV (0x00ff) and the fallback SCSV (0x5600).
		if !tlsparse.IsGREASE(s) && s != 0x00ff && s != 0x5600 {
			suites = append(suites, tlsparse.CipherSuite(s).String())
		}
	}
	r.CauseDetail = fmt.Sprintf("the server refused the ClientHello with %s. The client offered %s and %d cipher suites (%s)",
		r.Alert, strings.Join(versions, ", "), len(suites), abbreviate(suites, 6))
	if ch.ServerName == "" {
		r.CauseDetail += "; it sent no SNI"
	}
	switch tlsparse.AlertDescription(r.Alert.Code) {
	case tlsparse.AlertProtocolVersion:
		min := max
		for _, v := range ch.SupportedVersions {
			if !tlsparse.IsGREASE(v) && tlsparse.Version(v) < min {
				min = tlsparse.Version(v)
			}
		}
		switch {
		case max < tlsparse.VersionTLS12:
			r.Fix = fmt.Sprintf("the client offers at most %s, which current servers refuse: enable TLS 1.2 or 1.3 on the client (Java: -Djdk.tls.client.protocols=TLSv1.3,TLSv1.2, -Dhttps.protocols)", max)
		case min >= tlsparse.VersionTLS13:
			r.Fix = fmt.Sprintf("the client offers only %s and the server refused it, so the server supports older versions only: enable TLS 1.2 on the client, or TLS 1.3 on the server", max)
		default:
			r.Fix = fmt.Sprintf("the server accepts none of the versions the client offers (at most %s): it most likely requires a newer one, so enable TLS 1.3 on the client (Java: -Djdk.tls.client.protocols=TLSv1.3,TLSv1.2), or %s on the server", max, max)
		}
	case tlsparse.AlertNoApplicationProtocol:
		r.Fix = "the server supports none of the client's ALPN protocols: align the application protocols"
	default:
		r.Fix = "the client and the server share no cipher suite, group or signature algorithm: compare the client's offer above with the server's configuration"
		if max < tlsparse.VersionTLS12 {
			r.Fix = fmt.Sprintf("the client offers at most %s: enable TLS 1.2 or 1.3 on the client", max)
		}
	}
	return true
}

func abbreviate(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, ", ")
	}
	return strings.Join(ss[:n], ", ") + fmt.Sprintf(", ... %d more", len(ss)-n)
}

// alertMeaning says what an alert usually means when a client sends it.
func alertMeaning(code int) string {
	if code < 0 { // encrypted
		return ""
	}
	switch tlsparse.AlertDescription(code) {
	case tlsparse.AlertBadCertificate:
		return "(bad_certificate: the client could not verify the certificate; Go clients send it for any verification error)"
	case tlsparse.AlertUnsupportedCertificate:
		return "(unsupported_certificate: OpenSSL sends it for a certificate whose purpose (extended key usage) does not allow a server, or a key type it does not accept)"
	case tlsparse.AlertCertificateRevoked:
		return "(certificate_revoked)"
	case tlsparse.AlertCertificateExpired:
		return "(certificate_expired: OpenSSL, GnuTLS and Java (TLS 1.2) send it for a certificate out of its validity)"
	case tlsparse.AlertCertificateUnknown:
		return "(certificate_unknown: Java sends it for any path or name failure: missing root or intermediate, unrelated root, self-signed, hostname mismatch)"
	case tlsparse.AlertUnknownCa:
		return "(unknown_ca: OpenSSL and curl send it when no trusted root is found)"
	case tlsparse.AlertHandshakeFailure:
		return "(handshake_failure: no common parameters, or a generic refusal)"
	case tlsparse.AlertProtocolVersion:
		return "(protocol_version: no common protocol version)"
	case tlsparse.AlertInsufficientSecurity:
		return "(insufficient_security: the peer requires stronger ciphers)"
	case tlsparse.AlertDecodeError:
		return "(decode_error: a malformed message)"
	case tlsparse.AlertCertificateRequired:
		return "(certificate_required: the server wants a client certificate)"
	}
	return ""
}

// dnString renders a DER distinguished name.
func dnString(der []byte) string {
	var rdn pkixName
	if err := rdn.parse(der); err != nil {
		return fmt.Sprintf("(%d-byte name)", len(der))
	}
	return rdn.s
}
