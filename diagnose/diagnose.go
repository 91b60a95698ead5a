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
	// would (the caller knows its own command line); diagnose offers it
	// where a live check settles the question.
	ProbeCommand func(c *dissect.Conn) string
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

	hostInferred bool // Host is the server's address: no SNI, no --host
}

// Diagnose judges one connection.
func Diagnose(c *dissect.Conn, o Options) *Result {
	trust := o.Trust
	if trust == nil {
		trust = truststore.Mozilla()
	}
	r := &Result{Wire: JudgeWire(c), TrustStore: trust.Name}
	r.ClientStack = identify(c.ClientHello)
	r.Profile = ProfileFor(r.ClientStack)
	if o.Client.Name != "" {
		r.Profile, r.ProfileForced = ProfileFor(o.Client), true
	}
	r.Failed = Failed(r.Verdict)
	r.Findings = append(r.Findings, r.Wire.Findings...)
	r.Findings = append(r.Findings, decryptFindings(c)...)
	r.Host, r.HostSource = o.Host, "--host"
	if r.Host == "" && c.SNI() != "" {
		r.Host, r.HostSource = c.SNI(), "SNI"
	}
	if r.Host == "" && c.ClientHello != nil && c.Server.Addr().IsValid() {
		// No SNI: the client connected by address (RFC 6066 puts no
		// address in SNI), or turned SNI off. Its name check then is
		// against the address, the one name tlstriage knows.
		r.Host, r.HostSource, r.hostInferred = c.Server.Addr().Unmap().String(), "the server's address, inferred: the client sent no SNI and no --host was given", true
	}
	if r.Host == "" {
		r.HostSource = ""
	}
	if len(c.Chain) > 0 {
		at := c.FirstTime
		if e := c.First(dissect.Server, dissect.EvCertificate); e != nil {
			at = e.Time
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
			return e.Time.Sub(fin.Time) <= 500*time.Millisecond
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
		r.NameCheck = "skipped: no --host given and the client sent no SNI"
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
		case "expired":
			r.add(Finding{Code: FindingExpired, Severity: SevError, Summary: fmt.Sprintf("%s expired on %s, before the capture (%s)", label(), fmtTime(cert.NotAfter), fmtTime(ch.At))})
		case "not_yet_valid":
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
	if a := ch.Anchor; ch.Trusted && validityAt(a.Cert, ch.At) != "" {
		code := FindingAnchorExpired
		if validityAt(a.Cert, ch.At) == "not_yet_valid" {
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
			return true, fmt.Sprintf("the certificate names %q only in its CN (no SAN): Java accepts it, but Go, browsers and curl do not", c.Subject.CommonName)
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

// cause names why a failed handshake failed, and the fix.
func (r *Result) cause(c *dissect.Conn, trust *truststore.Store, o Options) {
	switch r.Verdict {
	case VerdictUpgradeRefused:
		r.Cause = CauseNotTLS
		if c.Upgrade == "http-connect" {
			r.CauseDetail = "the proxy did not open the tunnel: " + r.Detail
			r.Fix = fmt.Sprintf("check the proxy %s: its access rules for the target in the CONNECT line, its credentials (407), and whether it reaches the target (502, 503, 504)", c.Server)
			return
		}
		r.CauseDetail = "the server did not start TLS: " + r.Detail
		r.Fix = fmt.Sprintf("enable STARTTLS (%s) on %s, or connect to the port where it serves implicit TLS", c.Upgrade, c.Server)
		return
	case VerdictNotTLS:
		r.Cause = CauseNotTLS
		if c.Upgrade != "" {
			r.CauseDetail = fmt.Sprintf("the server did not start TLS inside %s: %s", c.Upgrade, r.Detail)
			r.Fix = fmt.Sprintf("enable STARTTLS (%s) on %s, or connect to the port where it serves implicit TLS; the client should also stop when the server refuses the upgrade", c.Upgrade, c.Server)
			return
		}
		r.CauseDetail = "the server does not speak TLS on this port: " + r.Detail
		r.Fix = fmt.Sprintf("check the target URL's scheme and port: %s answers in plaintext (use http://, or the port where the backend serves TLS)", c.Server)
		return
	case VerdictClientCertRejected:
		r.clientCert(c)
		return
	case VerdictServerAlert, VerdictServerReset, VerdictServerClosed, VerdictNoServerResponse:
		if c.CertRequest != nil && (c.ServerHello != nil) {
			r.clientCert(c)
			return
		}
		if r.sniRequired(c) || r.protocolMismatch(c) {
			return
		}
		r.Cause = CauseUnknown
		r.CauseDetail = r.Detail
		if r.Alert != nil && !r.Alert.Encrypted && tlsparse.AlertDescription(r.Alert.Code) == tlsparse.AlertUnrecognizedName && c.ServerHello == nil {
			sni := c.SNI()
			r.CauseDetail = fmt.Sprintf("the server has no certificate or virtual host for the name the client asked for (SNI %q): %s", sni, r.Detail)
			r.Fix = fmt.Sprintf("check the host name the client connects with (the target URL's host: %s), or configure the server to serve that name", sni)
			return
		}
		switch {
		case c.Refused():
			r.Fix = fmt.Sprintf("check that the backend is up and listening on %s (the port in the target URL), and that no firewall rejects the connection", c.Server)
		case r.Verdict == VerdictNoServerResponse && serverAckedHello(c):
			r.Fix = fmt.Sprintf("check the service behind %s: the connection was accepted and the ClientHello received, but nothing answered (a hung or overloaded application, a full worker pool, or a service that speaks another protocol and waits for the client)", c.Server)
		case r.Verdict == VerdictNoServerResponse:
			r.Fix = "check that the backend is up and listening for TLS on this port, and that nothing between drops the traffic"
		case r.Verdict == VerdictServerAlert:
			r.Fix = "check the server's TLS log for why it sent " + r.Alert.String()
		default:
			r.Fix = "check the server's TLS configuration and logs (it may reject the SNI, the client's address or the offered parameters)"
		}
		return
	}
	// The client gave up (or the handshake failed after the certificate).
	if r.legacyVersion(c) {
		return
	}
	if c.ChainHidden || r.Chain == nil {
		r.Cause = CauseUnknown
		if c.ChainHidden {
			r.CauseDetail = "TLS 1.3 encrypts the server's certificate, so the capture cannot show which chain the client rejected"
			r.Fix = hiddenChainFix(c, trust, r.Profile)
		} else if e := c.First(dissect.Server, dissect.EvCertificate); e != nil && e.Cut {
			r.CauseDetail = fmt.Sprintf("the server's Certificate (frame %d) was not captured whole, so the chain cannot be checked", e.Frame)
			r.Fix = cutChainFix(c, trust)
		} else {
			r.CauseDetail = "no certificate was seen in the capture"
			r.Fix = "capture the whole handshake (from the SYN) to see the server's certificate"
		}
		if r.Alert != nil && !r.Alert.Encrypted {
			r.CauseDetail += "; the client's " + r.Alert.String() + " " + alertMeaning(r.Alert.Code)
			r.causeFromAlert()
		}
		return
	}
	r.chainCause(c, trust, o)
}

// cutChainFix is the fix when the capture lacks bytes of the server's
// Certificate: capture again whole (how depends on why bytes are missing),
// or fetch the chain.
func cutChainFix(c *dissect.Conn, trust *truststore.Store) string {
	again := "the capture lost packets: capture again with a larger buffer (tcpdump -B 65536) and a filter on the backend's address"
	for _, e := range c.Events {
		if e.Kind == dissect.EvGap && e.From == dissect.Server && strings.Contains(e.Detail, "snapshot length") {
			again = "the snapshot length cut the packets: capture again with whole packets (tcpdump -s 0)"
			break
		}
	}
	return again + ", or fetch and check the chain the server sends with `" + fetchChain(c, trust) + "`"
}

// fetchChain is a command that fetches the chain the server of c sends:
// tlstriage probe, or, where TLS starts inside another protocol, openssl
// s_client speaking it (probe speaks TLS from the first byte only).
func fetchChain(c *dissect.Conn, trust *truststore.Store) string {
	sni := c.SNI()
	switch c.Upgrade {
	case "":
		probe := fmt.Sprintf("tlstriage probe %s", c.Server)
		if sni != "" {
			probe += " --sni " + sni
		}
		if trust == nil || trust.BuiltIn || len(trust.Files) == 0 {
			return probe + " --truststore <the client's truststore>"
		}
		for _, f := range trust.Files {
			probe += " --truststore " + f
		}
		return probe
	case "http-connect":
		// CONNECT host:port HTTP/1.1: the target behind the proxy.
		target := strings.Fields(firstLine(c.Sides[dissect.Client].PlainHead))
		cmd := fmt.Sprintf("openssl s_client -proxy %s -showcerts", c.Server)
		if len(target) >= 2 {
			cmd += " -connect " + target[1]
		}
		if sni != "" {
			cmd += " -servername " + sni
		}
		return cmd
	}
	proto := map[string]string{"smtp": "smtp", "imap": "imap", "pop3": "pop3", "ftp": "ftp", "xmpp": "xmpp", "ldap": "ldap", "postgresql": "postgres", "mysql": "mysql"}[c.Upgrade]
	if proto == "" {
		return fmt.Sprintf("openssl s_client -connect %s -showcerts, after starting TLS inside %s by hand", c.Server, c.Upgrade)
	}
	cmd := fmt.Sprintf("openssl s_client -starttls %s -connect %s -showcerts", proto, c.Server)
	if sni != "" {
		cmd += " -servername " + sni
	}
	return cmd
}

func (r *Result) chainCause(c *dissect.Conn, trust *truststore.Store, o Options) {
	ch := r.Chain
	leaf := ch.Certs[0].Info.Cert
	// store names the truststore in sentences: the one given, or, when
	// none was, the client's, which tlstriage did not see.
	store := "the truststore " + trust.Name
	if trust.BuiltIn {
		store = "the client's truststore (not given: judged against the built-in Mozilla roots)"
	}
	alertNote := ""
	if r.Alert != nil && !r.Alert.Encrypted {
		alertNote = fmt.Sprintf(" The client's %s is consistent with this.", r.Alert)
	}
	if leaf == nil {
		r.Cause = CauseUnknown
		r.CauseDetail = "the server's leaf certificate cannot be parsed"
		return
	}
	// The client's own alert can say more than tlstriage's truststore:
	// certificate_expired means it found a certificate out of its
	// validity; with no truststore given, OpenSSL's bad_certificate on a
	// certificate for another name, out of its validity or with a weak
	// key is that check failing, not the path (that is unknown_ca).
	// With no truststore given, the built-in roots say little about a
	// private PKI's: a definite defect of the chain is the cause then,
	// unless the client's alert names the path (unknown_ca); the fix adds
	// the root in case.
	// (Facts at the capture's time: the names and the validity; not the
	// weak-key rules of today, nor a self-signed leaf, untrusted anyway.)
	// OpenSSL's bad_certificate names a weak key as well.
	untrusted := !r.trustedFor()
	// A CN-only certificate is a name problem for a client not identified:
	// most current clients ignore the CN.
	// A name inferred from the address is a guess, not a fact.
	nameProblem := r.NameCheck == "mismatch" && !r.hostInferred || r.has(FindingCnOnly) != nil && r.Profile.Stack == defaultProfile.Stack
	facts := (nameProblem || r.firstValidity() != nil) && !ch.Certs[0].SelfSigned
	weak := r.has(FindingWeakKey) != nil || r.has(FindingWeakSignature) != nil
	plainAlert := func(code int) bool { return r.Alert != nil && !r.Alert.Encrypted && r.Alert.Code == code }
	if untrusted && plainAlert(45) { // certificate_expired
		untrusted = r.firstValidity() == nil
	}
	if untrusted && trust.BuiltIn && (facts || weak && plainAlert(42)) && !plainAlert(48) { // not unknown_ca
		untrusted = false
		root := ch.MissingIssuer
		if root == "" && ch.End != nil {
			root = Name(ch.End)
		}
		defer func() {
			r.Fix += fmt.Sprintf("; and if the client's truststore (not given: --truststore) lacks the root %s too, add it as well", root)
		}()
	}
	if untrusted && !trust.BuiltIn && r.Host != "" {
		// A truststore that holds a certificate for this very host
		// (pinned, self-signed or an old leaf) but not the chain the
		// server sends: the server's certificate changed under the client.
		if pin := heldFor(trust, r.Host, leaf); pin != nil {
			root := ch.MissingIssuer
			if root == "" && ch.End != nil {
				root = Name(ch.End)
			}
			r.Cause = CauseUntrustedRoot
			r.CauseDetail = fmt.Sprintf("%s holds %s (alias %s, SHA-256 %s), a certificate for %s, but not the chain the server sends now (the leaf %s, issued by %s): the server's certificate changed, and the client trusts the one it had before.%s",
				store, Name(pin.Cert), pin.Alias, truststore.SHA256Hex(pin.Cert.Raw), r.Host, Name(leaf), IssuerName(leaf), alertNote)
			r.Fix = fmt.Sprintf("add the root the server's chain now leads to (%s) to %s, in place of the certificate held for %s; or put the old certificate back on the server", root, store, r.Host)
			return
		}
	}
	if untrusted {
		end := ch.End
		var stale *ChainCert
		if endCC := chainCertOf(ch, end); endCC != nil && ch.MissingIssuer != "" {
			stale = staleIssuer(ch, endCC)
		}
		switch {
		case ch.Trusted && !r.anchorAccepted():
			// The path reaches a truststore intermediate, which this
			// client does not take as an anchor.
			a := ch.Anchor
			r.Cause = CauseTruststoreMissingRoot
			r.CauseDetail = fmt.Sprintf("the chain builds to %s, which %s holds (alias %s), but that is an intermediate, not a self-signed root: %s anchors a path only at a root (OpenSSL without X509_V_FLAG_PARTIAL_CHAIN, as openssl s_client and applications that keep libssl's defaults run), and the root %s is not in the truststore. Java, Go and curl would accept the intermediate as an anchor.%s",
				Name(a.Cert), store, a.Alias, r.Profile.Label, IssuerName(a.Cert), alertNote)
			r.Fix = fmt.Sprintf("add the root %s to %s beside the intermediate; or let the client anchor at the intermediate (openssl s_client -partial_chain, X509_V_FLAG_PARTIAL_CHAIN)", IssuerName(a.Cert), store)
			if len(a.Cert.IssuingCertificateURL) > 0 {
				r.Fix += " (download the root from " + strings.Join(a.Cert.IssuingCertificateURL, " ") + ")"
			}
		case stale != nil:
			// The server sends a certificate with the right name and the
			// wrong key: the previous generation of the intermediate.
			endCC := chainCertOf(ch, end)
			r.Cause = CauseIncompleteChain
			r.CauseDetail = fmt.Sprintf("the server sends %s (#%d) as the issuer of %s, but it did not sign it: %s. It is another generation of that CA (same name, another key), so the intermediate that did sign it is not sent.%s",
				Name(stale.Info.Cert), stale.Position, Name(end), keyIDs(endCC, stale), alertNote)
			r.Fix = fmt.Sprintf("ask the backend owner to install the current %s, the one whose key signed the leaf (the CA's download: %s), in place of the old one in the server's chain file", Name(stale.Info.Cert), strings.Join(end.IssuingCertificateURL, " "))
			if len(end.IssuingCertificateURL) == 0 {
				r.Fix = fmt.Sprintf("ask the backend owner to install the current %s, the one whose key signed the leaf, in place of the old one in the server's chain file", Name(stale.Info.Cert))
			}
		case ch.Certs[0].SelfSigned && len(ch.Certs) == 1 || (end != nil && end == leaf && ch.Certs[0].SelfSigned):
			r.Cause = CauseSelfSigned
			r.CauseDetail = fmt.Sprintf("the server's certificate %s is self-signed and the truststore does not hold it.%s", Name(leaf), alertNote)
			r.Fix = fmt.Sprintf("replace the server's certificate with one issued by a CA the client trusts, or add this certificate (SHA-256 %s) to %s", ch.Certs[0].Info.SHA256, store)
		case end != nil && ch.MissingIssuer == "":
			// The path ends at a self-signed root the server sent.
			rootFP := fingerprintOf(ch, end)
			if len(ch.LookAlikes) > 0 {
				r.Cause = CauseUntrustedRoot
				r.CauseDetail = fmt.Sprintf("the chain ends in the root %s (SHA-256 %s); the truststore holds a different certificate with that name: it holds another chain than the server sends.%s", Name(end), rootFP, alertNote)
			} else {
				r.Cause = CauseTruststoreMissingRoot
				r.CauseDetail = fmt.Sprintf("the chain ends in the root %s (SHA-256 %s), which %s does not hold.%s", Name(end), rootFP, store, alertNote)
			}
			r.Fix = fmt.Sprintf("add the root %s (SHA-256 %s) to %s (the server sends it: --export-certs writes it)", Name(end), rootFP, store)
		case end != nil && ch.BeyondGap != nil:
			// Java's PKIX builder would anchor the rest of the server's
			// chain in the truststore: only the link to it is missing.
			from := ch.Certs[ch.BeyondGapFrom].Info.Cert
			r.Cause = CauseTruststoreMissingIntermediate
			r.CauseDetail = fmt.Sprintf("%s holds %s (alias %s), which the server's certificate #%d (%s) leads to, but the path from the leaf stops at %s: its issuer %s is neither sent by the server nor in the truststore.%s",
				store, Name(ch.BeyondGap.Cert), ch.BeyondGap.Alias, ch.BeyondGapFrom, Name(from), Name(end), ch.MissingIssuer, alertNote)
			r.Fix = fmt.Sprintf("import the intermediate %s into %s", IssuerName(end), store)
			if len(end.IssuingCertificateURL) > 0 {
				r.Fix += " (download it from " + strings.Join(end.IssuingCertificateURL, " ") + ")"
			}
			r.Fix += "; or ask the backend owner to send it with the leaf (configure the full chain file)"
		case end != nil:
			isLeaf := end == leaf
			if isLeaf && !(leaf.BasicConstraintsValid && leaf.IsCA) {
				r.Cause = CauseIncompleteChain
				sent := "the server sends only the leaf " + Name(leaf)
				switch n := len(ch.Certs) - 1; {
				case n == 1:
					sent = fmt.Sprintf("the server sends the leaf %s with one other certificate, which did not issue it", Name(leaf))
				case n > 1:
					sent = fmt.Sprintf("the server sends the leaf %s with %d other certificates, none of which issued it", Name(leaf), n)
				}
				r.CauseDetail = fmt.Sprintf("%s; its issuer %s is not sent, and the truststore does not hold it, so the client cannot build a path.%s", sent, ch.MissingIssuer, alertNote)
				r.Fix = fmt.Sprintf("ask the backend owner to send the intermediate %s with the leaf (configure the full chain file); or, as a workaround, add that intermediate to %s", IssuerName(leaf), store)
			} else {
				r.Cause = CauseTruststoreMissingRoot
				if len(ch.LookAlikes) > 0 {
					r.Cause = CauseUntrustedRoot
				}
				r.CauseDetail = fmt.Sprintf("the chain ends at %s, issued by %s, which %s does not hold (the server does not send the root, as is usual).%s", Name(end), ch.MissingIssuer, store, alertNote)
				r.Fix = fmt.Sprintf("add the root %s to %s", IssuerName(end), store)
				if len(ch.LookAlikes) > 0 {
					// The truststore has a root of that name, another key:
					// say which, so that "add the root" is not read as
					// "it is already there".
					la := ch.LookAlikes[0]
					r.CauseDetail = fmt.Sprintf("the chain ends at %s, issued by %s; %s holds a root of that name (alias %s, SHA-256 %s) with another key, which did not sign it: the CA was re-keyed or the truststore holds another CA's root of the same name.%s",
						Name(end), ch.MissingIssuer, store, la.Alias, truststore.SHA256Hex(la.Cert.Raw), alertNote)
					r.Fix = fmt.Sprintf("import the root %s (the one whose key signed the chain) into %s under a new alias, beside or in place of alias %s", IssuerName(end), store, la.Alias)
				}
				if m := ch.MissingIssuerInMozilla; m != nil {
					r.Fix += fmt.Sprintf(" (it is in the Mozilla root set: SHA-256 %s; --export-certs writes it)", truststore.SHA256Hex(m.Cert.Raw))
				} else if len(end.IssuingCertificateURL) > 0 {
					r.Fix += " (download it from " + strings.Join(end.IssuingCertificateURL, " ") + ")"
				}
			}
		default:
			r.Cause = CauseUnknown
			r.CauseDetail = "no path could be built from the leaf"
		}
		return
	}
	// A trusted path: the cause is elsewhere.
	if f := r.firstValidity(); f == nil && r.anchorOutOfValidity() {
		a := ch.Anchor
		r.Cause = CauseExpired
		if validityAt(a.Cert, ch.At) == "not_yet_valid" {
			r.Cause = CauseNotYetValid
		}
		r.CauseDetail = fmt.Sprintf("the chain builds to the trust anchor %s (alias %s), valid from %s to %s, not at the capture (%s): %s checks the anchor's own dates, so the path fails although every certificate the server sends is valid (Java ignores an anchor's dates and would accept it).%s",
			Name(a.Cert), a.Alias, fmtTime(a.Cert.NotBefore), fmtTime(a.Cert.NotAfter), fmtTime(ch.At), r.Profile.Label, alertNote)
		r.Fix = fmt.Sprintf("replace the expired root %s in %s with its current version, or have the server send a chain to a root that is valid (as sites did when DST Root CA X3 expired in 2021)", Name(a.Cert), store)
		return
	}
	if f := r.firstValidity(); f != nil {
		cc := f
		cert := cc.Info.Cert
		if cc.Validity == "expired" {
			r.Cause = CauseExpired
			r.CauseDetail = fmt.Sprintf("the %s %s expired on %s, before the capture (%s).%s", cc.Role, Name(cert), fmtTime(cert.NotAfter), fmtTime(ch.At), alertNote)
			r.Fix = fmt.Sprintf("renew the %s certificate %s and install it on the server", cc.Role, Name(cert))
		} else {
			r.Cause = CauseNotYetValid
			r.CauseDetail = fmt.Sprintf("the %s %s is valid only from %s, after the capture (%s): a wrong clock on one side, or a certificate installed too early.%s", cc.Role, Name(cert), fmtTime(cert.NotBefore), fmtTime(ch.At), alertNote)
			r.Fix = "check the clocks of the client and the server (NTP), or wait until the certificate is valid"
			if cc.Position > 0 && ch.Certs[0].ValidAtCapture {
				// The leaf it issued is valid now: no clock explains it.
				r.CauseDetail = fmt.Sprintf("the server sends the %s %s, valid only from %s, though the leaf it issued is valid at the capture (%s): a renewed %s installed before its time.%s", cc.Role, Name(cert), fmtTime(cert.NotBefore), fmtTime(ch.At), cc.Role, alertNote)
				r.Fix = fmt.Sprintf("install in the server's chain file the %s %s that is valid now, in place of the renewed one installed too early", cc.Role, Name(cert))
			}
		}
		return
	}
	if r.NameCheck == "mismatch" {
		r.Cause = CauseHostnameMismatch
		f := r.has(FindingHostnameMismatch)
		r.CauseDetail = f.Summary + "." + alertNote
		if r.hostInferred {
			r.CauseDetail = fmt.Sprintf("inferred: the client sent no SNI, so it connected by address and checks the certificate against %s, which is not among its names (%s).%s", r.Host, certNames(leaf), alertNote)
		}
		r.Fix = r.nameFix(c, leaf)
		return
	}
	for _, code := range weakFindings {
		if f := r.has(code); f != nil {
			r.Cause = CauseWeakCertificate
			r.CauseDetail = f.Summary + "." + alertNote
			r.Fix = "reissue the certificate with an RSA key of at least 2048 bits (or ECDSA), a SHA-256 signature, serverAuth usage and CA constraints on intermediates"
			return
		}
	}
	if c.CertRequest != nil {
		r.clientCert(c)
		return
	}
	if f := r.has(FindingCnOnly); f != nil && r.Profile.Stack == defaultProfile.Stack {
		// Java would have accepted the name; the client that gave up
		// checks subjectAltName only, as Go and browsers do.
		r.NameCheck = "mismatch"
		r.Cause = CauseHostnameMismatch
		r.CauseDetail = f.Summary + ". Everything else about the chain checks out, so the client is most likely one that ignores the CN." + alertNote
		r.Fix = fmt.Sprintf("reissue the server's certificate with %s as a DNS subjectAltName", r.Host)
		return
	}
	r.Cause = CauseUnknown
	name := fmt.Sprintf("matches %q", r.Host)
	if r.Host == "" {
		name = "no name was checked (no SNI, no --host)"
	}
	r.CauseDetail = fmt.Sprintf("%s would accept this chain: it builds to %s (alias %s), every certificate is valid at capture time, and the leaf %s. Yet the client gave up, so the client did not use this truststore when the capture was made: the capture predates a change to it (an import), or the client reads another truststore", store, Name(ch.Anchor.Cert), ch.Anchor.Alias, name)
	if r.Alert != nil && !r.Alert.Encrypted {
		r.CauseDetail += "; its " + r.Alert.String() + " " + alertMeaning(r.Alert.Code)
	}
	r.Fix = "check which truststore the client really loads (Java: javax.net.ssl.trustStore, the proxy's truststore reference) and that it was reloaded after the change (restart the client); then confirm against the server as it is now"
	if o.ProbeCommand != nil {
		r.Fix += " with `" + o.ProbeCommand(c) + "`"
	}
	r.Fix += "; if it still fails, read the client's log (revocation checks, algorithm constraints)"
}

func (r *Result) firstValidity() *ChainCert {
	if r.Chain == nil {
		return nil
	}
	for i := range r.Chain.Certs {
		if r.Chain.Certs[i].Validity != "" {
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
		r.Fix += "; the client's key log (--keylog) shows the CertificateRequest, the CAs it accepts and what the client sent"
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
	case 70, 71, 40, 47, 109, 120: // protocol_version, insufficient_security, handshake_failure, illegal_parameter, missing_extension, no_application_protocol
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
	switch r.Alert.Code {
	case 70:
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
	case 120:
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
	switch code {
	case 42:
		return "(bad_certificate: the client could not verify the certificate; Go clients send it for any verification error)"
	case 43:
		return "(unsupported_certificate: OpenSSL sends it for a certificate whose purpose (extended key usage) does not allow a server, or a key type it does not accept)"
	case 44:
		return "(certificate_revoked)"
	case 45:
		return "(certificate_expired: OpenSSL, GnuTLS and Java (TLS 1.2) send it for a certificate out of its validity)"
	case 46:
		return "(certificate_unknown: Java sends it for any path or name failure: missing root or intermediate, unrelated root, self-signed, hostname mismatch)"
	case 48:
		return "(unknown_ca: OpenSSL and curl send it when no trusted root is found)"
	case 40:
		return "(handshake_failure: no common parameters, or a generic refusal)"
	case 70:
		return "(protocol_version: no common protocol version)"
	case 71:
		return "(insufficient_security: the peer requires stronger ciphers)"
	case 50:
		return "(decode_error: a malformed message)"
	case 116:
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
