package diagnose

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// This file holds the rules that name the cause of a failed handshake:
// two ordered tables of small functions over the facts. The first rule
// that applies names the cause, its detail and the fix; a rule reports
// whether it applied.

// judgement is what the cause rules read besides the Result: the
// connection, the truststore it was judged against and the options.
type judgement struct {
	c     *dissect.Conn
	trust *truststore.Store
	o     Options
}

// causeRule names the cause of a failed connection when it applies.
type causeRule struct {
	name  string
	apply func(r *Result, j *judgement) bool
}

// causeRules are tried in order on every failed connection. The last,
// the chain's rules, always applies.
var causeRules = []causeRule{
	{"the server refused the upgrade to TLS", upgradeRefused},
	{"the server does not speak TLS", notTLS},
	{"the server wants a client certificate", clientCertRefused},
	{"the server requires SNI", func(r *Result, j *judgement) bool { return serverRefused(r) && r.sniRequired(j.c) }},
	{"no common protocol version or parameters", func(r *Result, j *judgement) bool { return serverRefused(r) && r.protocolMismatch(j.c) }},
	{"the server refused, saying no more", serverGaveNoReason},
	{"the server chose a legacy version", func(r *Result, j *judgement) bool { return r.legacyVersion(j.c) }},
	{"the chain was not seen", chainNotSeen},
	{"the chain", chainCauses},
}

// cause names why a failed handshake failed, and the fix.
func (r *Result) cause(c *dissect.Conn, trust *truststore.Store, o Options) {
	j := &judgement{c: c, trust: trust, o: o}
	for _, rule := range causeRules {
		if rule.apply(r, j) {
			return
		}
	}
}

// serverRefused reports whether the server ended the handshake: an alert,
// a reset, a close, or silence.
func serverRefused(r *Result) bool {
	switch r.Verdict {
	case VerdictServerAlert, VerdictServerReset, VerdictServerClosed, VerdictNoServerResponse:
		return true
	}
	return false
}

func upgradeRefused(r *Result, j *judgement) bool {
	if r.Verdict != VerdictUpgradeRefused {
		return false
	}
	c := j.c
	r.Cause = CauseNotTLS
	if c.Upgrade == dissect.UpgradeHTTPConnect {
		r.CauseDetail = "the proxy did not open the tunnel: " + r.Detail
		r.Fix = fmt.Sprintf("check the proxy %s: its access rules for the target in the CONNECT line, its credentials (407), and whether it reaches the target (502, 503, 504)", c.Server)
		return true
	}
	r.CauseDetail = "the server did not start TLS: " + r.Detail
	r.Fix = fmt.Sprintf("enable STARTTLS (%s) on %s, or connect to the port where it serves implicit TLS", c.Upgrade, c.Server)
	return true
}

func notTLS(r *Result, j *judgement) bool {
	if r.Verdict != VerdictNotTLS {
		return false
	}
	c := j.c
	r.Cause = CauseNotTLS
	if c.Upgrade != dissect.UpgradeNone {
		r.CauseDetail = fmt.Sprintf("the server did not start TLS inside %s: %s", c.Upgrade, r.Detail)
		r.Fix = fmt.Sprintf("enable STARTTLS (%s) on %s, or connect to the port where it serves implicit TLS; the client should also stop when the server refuses the upgrade", c.Upgrade, c.Server)
		return true
	}
	r.CauseDetail = "the server does not speak TLS on this port: " + r.Detail
	r.Fix = fmt.Sprintf("check the target URL's scheme and port: %s answers in plaintext (use http://, or the port where the backend serves TLS)", c.Server)
	return true
}

// clientCertRefused: the verdict says so, or the server asked for a
// client certificate and then refused the handshake.
func clientCertRefused(r *Result, j *judgement) bool {
	c := j.c
	if r.Verdict != VerdictClientCertRejected && !(serverRefused(r) && c.CertRequest != nil && c.ServerHello != nil) {
		return false
	}
	r.clientCert(c)
	return true
}

// serverGaveNoReason: the server refused, and nothing says why; the fix
// says where to look.
func serverGaveNoReason(r *Result, j *judgement) bool {
	if !serverRefused(r) {
		return false
	}
	c := j.c
	r.Cause = CauseUnknown
	r.CauseDetail = r.Detail
	if r.Alert != nil && !r.Alert.Encrypted && tlsparse.AlertDescription(r.Alert.Code) == tlsparse.AlertUnrecognizedName && c.ServerHello == nil {
		sni := c.SNI()
		r.CauseDetail = fmt.Sprintf("the server has no certificate or virtual host for the name the client asked for (SNI %q): %s", sni, r.Detail)
		r.Fix = fmt.Sprintf("check the host name the client connects with (the target URL's host: %s), or configure the server to serve that name", sni)
		return true
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
	return true
}

// chainNotSeen: the client gave up, and the chain is encrypted (TLS 1.3),
// cut by the capture, or not in it.
func chainNotSeen(r *Result, j *judgement) bool {
	c := j.c
	if !c.ChainHidden && r.Chain != nil {
		return false
	}
	r.Cause = CauseUnknown
	if c.ChainHidden {
		r.CauseDetail = "TLS 1.3 encrypts the server's certificate, so the capture cannot show which chain the client rejected"
		r.Fix = hiddenChainFix(c, j.o, r.Profile)
	} else if e := c.First(dissect.Server, dissect.EvCertificate); e != nil && e.Cut {
		r.CauseDetail = fmt.Sprintf("the server's Certificate (frame %d) was not captured whole, so the chain cannot be checked", e.Frame)
		r.Fix = cutChainFix(c, j.o)
	} else {
		r.CauseDetail = "no certificate was seen in the capture"
		r.Fix = "capture the whole handshake (from the SYN) to see the server's certificate"
	}
	if r.Alert != nil && !r.Alert.Encrypted {
		r.CauseDetail += "; the client's " + r.Alert.String() + " " + alertMeaning(r.Alert.Code)
		r.causeFromAlert()
	}
	return true
}

// chainFacts is what the chain's rules read.
type chainFacts struct {
	j          *judgement
	ch         *ChainReport
	leaf, end  *x509.Certificate
	store      string // the truststore in sentences
	alertNote  string // " The client's <alert> is consistent with this.", or ""
	untrusted  bool   // the client, by its profile, builds no path to its truststore
	rootToNote string // with no truststore given: the root to add in case the client lacks it too
}

// chainRule names a cause from the chain when it applies.
type chainRule struct {
	name  string
	apply func(r *Result, f *chainFacts) bool
}

// chainRules are tried in order: first why no path reaches the
// truststore, then, on a trusted path, what else the client refused. The
// last always applies.
var chainRules = []chainRule{
	{"the truststore holds a certificate for this host, not this chain", pinnedCertificate},
	{"an intermediate this client does not take as an anchor", intermediateAnchor},
	{"an old intermediate of the right name", staleIntermediateRule},
	{"a self-signed leaf", selfSignedLeaf},
	{"a root the server sends and the truststore lacks", rootSentUntrusted},
	{"an intermediate the truststore lacks", missingIntermediate},
	{"a leaf sent without its issuer", leafWithoutIssuer},
	{"a root the truststore lacks", missingRoot},
	{"no path at all", noPath},
	{"an anchor out of its validity", anchorOutOfValidity},
	{"a certificate out of its validity", outOfValidity},
	{"a name the certificate does not cover", nameMismatch},
	{"a key, signature or usage the client refuses", weakCertificate},
	{"the server wants a client certificate", clientCertAfterChain},
	{"a name in the CN only", cnOnly},
	{"this truststore would accept the chain", acceptedByThisTruststore},
}

// chainCauses judges a chain that was seen.
func chainCauses(r *Result, j *judgement) bool {
	r.chainCause(j.c, j.trust, j.o)
	return true
}

// chainCause names the cause from the chain the client rejected (also
// for probe).
func (r *Result) chainCause(c *dissect.Conn, trust *truststore.Store, o Options) {
	ch := r.Chain
	f := &chainFacts{j: &judgement{c: c, trust: trust, o: o}, ch: ch, leaf: ch.Certs[0].Info.Cert, end: ch.End}
	// store names the truststore in sentences: the one given, or, when
	// none was, the client's, which tlstriage did not see.
	f.store = "the truststore " + trust.Name
	if trust.BuiltIn {
		f.store = "the client's truststore (not given: judged against the built-in Mozilla roots)"
	}
	if r.Alert != nil && !r.Alert.Encrypted {
		f.alertNote = fmt.Sprintf(" The client's %s is consistent with this.", r.Alert)
	}
	if f.leaf == nil {
		r.Cause = CauseUnknown
		r.CauseDetail = "the server's leaf certificate cannot be parsed"
		return
	}
	f.untrusted = r.untrustedFor(f)
	for _, rule := range chainRules {
		if rule.apply(r, f) {
			break
		}
	}
	if f.rootToNote != "" {
		r.Fix += fmt.Sprintf("; and if the client's truststore (not given%s) lacks the root %s too, add it as well", colonFlag(f.j.o.Flags.Truststore), f.rootToNote)
	}
}

// untrustedFor says whether the chain's path is the cause, weighing the
// client's own alert against a truststore that may not be the client's:
//   - certificate_expired means the client found a certificate out of its
//     validity, not a missing path;
//   - with no truststore given, the built-in roots say little about a
//     private PKI's: a definite defect of the chain (a name it does not
//     cover, a date at the capture's time; not today's key rules, nor a
//     self-signed leaf, untrusted anyway), or OpenSSL's bad_certificate
//     on a weak key, is the cause, unless the client's alert names the
//     path (unknown_ca); the fix then adds the root in case.
func (r *Result) untrustedFor(f *chainFacts) bool {
	ch := f.ch
	untrusted := !r.trustedFor()
	// A CN-only certificate is a name problem for a client not
	// identified: most current clients ignore the CN. A name inferred
	// from the address is a guess, not a fact.
	nameProblem := r.NameCheck == "mismatch" && !r.hostInferred || r.has(FindingCnOnly) != nil && r.Profile.Stack == defaultProfile.Stack
	facts := (nameProblem || r.firstValidity() != nil) && !ch.Certs[0].SelfSigned
	weak := r.has(FindingWeakKey) != nil || r.has(FindingWeakSignature) != nil
	plainAlert := func(d tlsparse.AlertDescription) bool {
		return r.Alert != nil && !r.Alert.Encrypted && tlsparse.AlertDescription(r.Alert.Code) == d
	}
	if untrusted && plainAlert(tlsparse.AlertCertificateExpired) {
		untrusted = r.firstValidity() == nil
	}
	if untrusted && f.j.trust.BuiltIn && (facts || weak && plainAlert(tlsparse.AlertBadCertificate)) && !plainAlert(tlsparse.AlertUnknownCa) {
		untrusted = false
		f.rootToNote = ch.MissingIssuer
		if f.rootToNote == "" && ch.End != nil {
			f.rootToNote = Name(ch.End)
		}
	}
	return untrusted
}

// pinnedCertificate: a truststore that holds a certificate for this very
// host (pinned, self-signed or an old leaf) but not the chain the server
// sends: the server's certificate changed under the client.
func pinnedCertificate(r *Result, f *chainFacts) bool {
	ch, trust := f.ch, f.j.trust
	if !f.untrusted || trust.BuiltIn || r.Host == "" {
		return false
	}
	pin := heldFor(trust, r.Host, f.leaf)
	if pin == nil {
		return false
	}
	root := ch.MissingIssuer
	if root == "" && ch.End != nil {
		root = Name(ch.End)
	}
	r.Cause = CauseUntrustedRoot
	r.CauseDetail = fmt.Sprintf("%s holds %s (alias %s, SHA-256 %s), a certificate for %s, but not the chain the server sends now (the leaf %s, issued by %s): the server's certificate changed, and the client trusts the one it had before.%s",
		f.store, Name(pin.Cert), pin.Alias, truststore.SHA256Hex(pin.Cert.Raw), r.Host, Name(f.leaf), IssuerName(f.leaf), f.alertNote)
	r.Fix = fmt.Sprintf("add the root the server's chain now leads to (%s) to %s, in place of the certificate held for %s; or put the old certificate back on the server", root, f.store, r.Host)
	return true
}

// intermediateAnchor: the path reaches a truststore intermediate, which
// this client does not take as an anchor.
func intermediateAnchor(r *Result, f *chainFacts) bool {
	ch := f.ch
	if !f.untrusted || !ch.Trusted || r.anchorAccepted() {
		return false
	}
	a := ch.Anchor
	r.Cause = CauseTruststoreMissingRoot
	r.CauseDetail = fmt.Sprintf("the chain builds to %s, which %s holds (alias %s), but that is an intermediate, not a self-signed root: %s anchors a path only at a root (OpenSSL without X509_V_FLAG_PARTIAL_CHAIN, as openssl s_client and applications that keep libssl's defaults run), and the root %s is not in the truststore. Java, Go and curl would accept the intermediate as an anchor.%s",
		Name(a.Cert), f.store, a.Alias, r.Profile.Label, IssuerName(a.Cert), f.alertNote)
	r.Fix = fmt.Sprintf("add the root %s to %s beside the intermediate; or let the client anchor at the intermediate (openssl s_client -partial_chain, X509_V_FLAG_PARTIAL_CHAIN)", IssuerName(a.Cert), f.store)
	if len(a.Cert.IssuingCertificateURL) > 0 {
		r.Fix += " (download the root from " + strings.Join(a.Cert.IssuingCertificateURL, " ") + ")"
	}
	return true
}

// staleIntermediateRule: the server sends a certificate with the right
// name and the wrong key, the previous generation of the intermediate.
func staleIntermediateRule(r *Result, f *chainFacts) bool {
	ch, end := f.ch, f.end
	if !f.untrusted || ch.MissingIssuer == "" {
		return false
	}
	endCC := chainCertOf(ch, end)
	if endCC == nil {
		return false
	}
	stale := staleIssuer(ch, endCC)
	if stale == nil {
		return false
	}
	r.Cause = CauseIncompleteChain
	r.CauseDetail = fmt.Sprintf("the server sends %s (#%d) as the issuer of %s, but it did not sign it: %s. It is another generation of that CA (same name, another key), so the intermediate that did sign it is not sent.%s",
		Name(stale.Info.Cert), stale.Position, Name(end), keyIDs(endCC, stale), f.alertNote)
	r.Fix = fmt.Sprintf("ask the backend owner to install the current %s, the one whose key signed the leaf (the CA's download: %s), in place of the old one in the server's chain file", Name(stale.Info.Cert), strings.Join(end.IssuingCertificateURL, " "))
	if len(end.IssuingCertificateURL) == 0 {
		r.Fix = fmt.Sprintf("ask the backend owner to install the current %s, the one whose key signed the leaf, in place of the old one in the server's chain file", Name(stale.Info.Cert))
	}
	return true
}

func selfSignedLeaf(r *Result, f *chainFacts) bool {
	ch := f.ch
	if !f.untrusted || !ch.Certs[0].SelfSigned || !(len(ch.Certs) == 1 || f.end != nil && f.end == f.leaf) {
		return false
	}
	r.Cause = CauseSelfSigned
	r.CauseDetail = fmt.Sprintf("the server's certificate %s is self-signed and the truststore does not hold it.%s", Name(f.leaf), f.alertNote)
	r.Fix = fmt.Sprintf("replace the server's certificate with one issued by a CA the client trusts, or add this certificate (SHA-256 %s) to %s", ch.Certs[0].Info.SHA256, f.store)
	return true
}

// rootSentUntrusted: the path ends at a self-signed root the server sent.
func rootSentUntrusted(r *Result, f *chainFacts) bool {
	ch, end := f.ch, f.end
	if !f.untrusted || end == nil || ch.MissingIssuer != "" {
		return false
	}
	rootFP := fingerprintOf(ch, end)
	if len(ch.LookAlikes) > 0 {
		r.Cause = CauseUntrustedRoot
		r.CauseDetail = fmt.Sprintf("the chain ends in the root %s (SHA-256 %s); the truststore holds a different certificate with that name: it holds another chain than the server sends.%s", Name(end), rootFP, f.alertNote)
	} else {
		r.Cause = CauseTruststoreMissingRoot
		r.CauseDetail = fmt.Sprintf("the chain ends in the root %s (SHA-256 %s), which %s does not hold.%s", Name(end), rootFP, f.store, f.alertNote)
	}
	r.Fix = fmt.Sprintf("add the root %s (SHA-256 %s) to %s (the server sends it%s)", Name(end), rootFP, f.store, writesIt(f.j.o))
	return true
}

// missingIntermediate: the rest of the server's chain reaches the
// truststore (as Java's PKIX builder would anchor it): only the link to
// it is missing.
func missingIntermediate(r *Result, f *chainFacts) bool {
	ch, end := f.ch, f.end
	if !f.untrusted || end == nil || ch.BeyondGap == nil {
		return false
	}
	from := ch.Certs[ch.BeyondGapFrom].Info.Cert
	r.Cause = CauseTruststoreMissingIntermediate
	r.CauseDetail = fmt.Sprintf("%s holds %s (alias %s), which the server's certificate #%d (%s) leads to, but the path from the leaf stops at %s: its issuer %s is neither sent by the server nor in the truststore.%s",
		f.store, Name(ch.BeyondGap.Cert), ch.BeyondGap.Alias, ch.BeyondGapFrom, Name(from), Name(end), ch.MissingIssuer, f.alertNote)
	r.Fix = fmt.Sprintf("import the intermediate %s into %s", IssuerName(end), f.store)
	if len(end.IssuingCertificateURL) > 0 {
		r.Fix += " (download it from " + strings.Join(end.IssuingCertificateURL, " ") + ")"
	}
	r.Fix += "; or ask the backend owner to send it with the leaf (configure the full chain file)"
	return true
}

// leafWithoutIssuer: the path stops at the leaf, whose issuer the server
// does not send.
func leafWithoutIssuer(r *Result, f *chainFacts) bool {
	ch, leaf := f.ch, f.leaf
	if !f.untrusted || f.end == nil || f.end != leaf || leaf.BasicConstraintsValid && leaf.IsCA {
		return false
	}
	r.Cause = CauseIncompleteChain
	sent := "the server sends only the leaf " + Name(leaf)
	switch n := len(ch.Certs) - 1; {
	case n == 1:
		sent = fmt.Sprintf("the server sends the leaf %s with one other certificate, which did not issue it", Name(leaf))
	case n > 1:
		sent = fmt.Sprintf("the server sends the leaf %s with %d other certificates, none of which issued it", Name(leaf), n)
	}
	r.CauseDetail = fmt.Sprintf("%s; its issuer %s is not sent, and the truststore does not hold it, so the client cannot build a path.%s", sent, ch.MissingIssuer, f.alertNote)
	r.Fix = fmt.Sprintf("ask the backend owner to send the intermediate %s with the leaf (configure the full chain file); or, as a workaround, add that intermediate to %s", IssuerName(leaf), f.store)
	return true
}

// missingRoot: the path ends at an intermediate whose issuer, the root,
// is not in the truststore (the server does not send it, as is usual).
func missingRoot(r *Result, f *chainFacts) bool {
	ch, end := f.ch, f.end
	if !f.untrusted || end == nil {
		return false
	}
	r.Cause = CauseTruststoreMissingRoot
	if len(ch.LookAlikes) > 0 {
		r.Cause = CauseUntrustedRoot
	}
	r.CauseDetail = fmt.Sprintf("the chain ends at %s, issued by %s, which %s does not hold (the server does not send the root, as is usual).%s", Name(end), ch.MissingIssuer, f.store, f.alertNote)
	r.Fix = fmt.Sprintf("add the root %s to %s", IssuerName(end), f.store)
	if len(ch.LookAlikes) > 0 {
		// The truststore has a root of that name, another key: say
		// which, so that "add the root" is not read as "it is already
		// there".
		la := ch.LookAlikes[0]
		r.CauseDetail = fmt.Sprintf("the chain ends at %s, issued by %s; %s holds a root of that name (alias %s, SHA-256 %s) with another key, which did not sign it: the CA was re-keyed or the truststore holds another CA's root of the same name.%s",
			Name(end), ch.MissingIssuer, f.store, la.Alias, truststore.SHA256Hex(la.Cert.Raw), f.alertNote)
		r.Fix = fmt.Sprintf("import the root %s (the one whose key signed the chain) into %s under a new alias, beside or in place of alias %s", IssuerName(end), f.store, la.Alias)
	}
	if m := ch.MissingIssuerInMozilla; m != nil {
		r.Fix += fmt.Sprintf(" (it is in the Mozilla root set: SHA-256 %s%s)", truststore.SHA256Hex(m.Cert.Raw), strings.Replace(writesIt(f.j.o), ":", ";", 1))
	} else if len(end.IssuingCertificateURL) > 0 {
		r.Fix += " (download it from " + strings.Join(end.IssuingCertificateURL, " ") + ")"
	}
	return true
}

func noPath(r *Result, f *chainFacts) bool {
	if !f.untrusted {
		return false
	}
	r.Cause = CauseUnknown
	r.CauseDetail = "no path could be built from the leaf"
	return true
}

// anchorOutOfValidity: every certificate the server sends is valid, the
// trust anchor is not, and this client checks an anchor's dates.
func anchorOutOfValidity(r *Result, f *chainFacts) bool {
	ch := f.ch
	if r.firstValidity() != nil || !r.anchorOutOfValidity() {
		return false
	}
	a := ch.Anchor
	r.Cause = CauseExpired
	if validityAt(a.Cert, ch.At) == ValidityNotYetValid {
		r.Cause = CauseNotYetValid
	}
	r.CauseDetail = fmt.Sprintf("the chain builds to the trust anchor %s (alias %s), valid from %s to %s, not at the capture (%s): %s checks the anchor's own dates, so the path fails although every certificate the server sends is valid (Java ignores an anchor's dates and would accept it).%s",
		Name(a.Cert), a.Alias, fmtTime(a.Cert.NotBefore), fmtTime(a.Cert.NotAfter), fmtTime(ch.At), r.Profile.Label, f.alertNote)
	r.Fix = fmt.Sprintf("replace the expired root %s in %s with its current version, or have the server send a chain to a root that is valid (as sites did when DST Root CA X3 expired in 2021)", Name(a.Cert), f.store)
	return true
}

func outOfValidity(r *Result, f *chainFacts) bool {
	cc := r.firstValidity()
	if cc == nil {
		return false
	}
	ch := f.ch
	cert := cc.Info.Cert
	if cc.Validity == ValidityExpired {
		r.Cause = CauseExpired
		r.CauseDetail = fmt.Sprintf("the %s %s expired on %s, before the capture (%s).%s", cc.Role, Name(cert), fmtTime(cert.NotAfter), fmtTime(ch.At), f.alertNote)
		r.Fix = fmt.Sprintf("renew the %s certificate %s and install it on the server", cc.Role, Name(cert))
		return true
	}
	r.Cause = CauseNotYetValid
	r.CauseDetail = fmt.Sprintf("the %s %s is valid only from %s, after the capture (%s): a wrong clock on one side, or a certificate installed too early.%s", cc.Role, Name(cert), fmtTime(cert.NotBefore), fmtTime(ch.At), f.alertNote)
	r.Fix = "check the clocks of the client and the server (NTP), or wait until the certificate is valid"
	if cc.Position > 0 && ch.Certs[0].ValidAtCapture {
		// The leaf it issued is valid now: no clock explains it.
		r.CauseDetail = fmt.Sprintf("the server sends the %s %s, valid only from %s, though the leaf it issued is valid at the capture (%s): a renewed %s installed before its time.%s", cc.Role, Name(cert), fmtTime(cert.NotBefore), fmtTime(ch.At), cc.Role, f.alertNote)
		r.Fix = fmt.Sprintf("install in the server's chain file the %s %s that is valid now, in place of the renewed one installed too early", cc.Role, Name(cert))
	}
	return true
}

func nameMismatch(r *Result, f *chainFacts) bool {
	if r.NameCheck != "mismatch" {
		return false
	}
	r.Cause = CauseHostnameMismatch
	r.CauseDetail = r.has(FindingHostnameMismatch).Summary + "." + f.alertNote
	if r.hostInferred {
		r.CauseDetail = fmt.Sprintf("inferred: the client sent no SNI, so it connected by address and checks the certificate against %s, which is not among its names (%s).%s", r.Host, certNames(f.leaf), f.alertNote)
	}
	r.Fix = r.nameFix(f.j.c, f.leaf)
	return true
}

func weakCertificate(r *Result, f *chainFacts) bool {
	for _, code := range weakFindings {
		if w := r.has(code); w != nil {
			r.Cause = CauseWeakCertificate
			r.CauseDetail = w.Summary + "." + f.alertNote
			r.Fix = "reissue the certificate with an RSA key of at least 2048 bits (or ECDSA), a SHA-256 signature, serverAuth usage and CA constraints on intermediates"
			return true
		}
	}
	return false
}

func clientCertAfterChain(r *Result, f *chainFacts) bool {
	if f.j.c.CertRequest == nil {
		return false
	}
	r.clientCert(f.j.c)
	return true
}

// cnOnly: for a client not identified, a CN-only certificate is the one
// thing left: the client checks subjectAltName only, as Go and browsers
// do (Java would have accepted the name).
func cnOnly(r *Result, f *chainFacts) bool {
	w := r.has(FindingCnOnly)
	if w == nil || r.Profile.Stack != defaultProfile.Stack {
		return false
	}
	r.NameCheck = "mismatch"
	r.Cause = CauseHostnameMismatch
	r.CauseDetail = w.Summary + ". Everything else about the chain checks out, so the client is most likely one that ignores the CN." + f.alertNote
	r.Fix = fmt.Sprintf("reissue the server's certificate with %s as a DNS subjectAltName", r.Host)
	return true
}

// acceptedByThisTruststore: the truststore given would accept the chain,
// yet the client gave up: it did not use this truststore when the
// capture was made (the fix loop: a root imported after the capture).
func acceptedByThisTruststore(r *Result, f *chainFacts) bool {
	ch, c, o := f.ch, f.j.c, f.j.o
	r.Cause = CauseUnknown
	name := fmt.Sprintf("matches %q", r.Host)
	if r.Host == "" {
		name = "no name was checked (no SNI, no " + flagOr(o.Flags.Host, "host name") + ")"
	}
	r.CauseDetail = fmt.Sprintf("%s would accept this chain: it builds to %s (alias %s), every certificate is valid at capture time, and the leaf %s. Yet the client gave up, so the client did not use this truststore when the capture was made: the capture predates a change to it (an import), or the client reads another truststore", f.store, Name(ch.Anchor.Cert), ch.Anchor.Alias, name)
	if r.Alert != nil && !r.Alert.Encrypted {
		r.CauseDetail += "; its " + r.Alert.String() + " " + alertMeaning(r.Alert.Code)
	}
	r.Fix = "check which truststore the client really loads (Java: javax.net.ssl.trustStore, the proxy's truststore reference) and that it was reloaded after the change (restart the client); then confirm against the server as it is now"
	if o.ProbeCommand != nil {
		r.Fix += " with `" + o.ProbeCommand(c) + "`"
	}
	r.Fix += "; if it still fails, read the client's log (revocation checks, algorithm constraints)"
	return true
}

// colonFlag is ": " + flag, or "" for an option the caller did not name.
func colonFlag(flag string) string {
	if flag == "" {
		return ""
	}
	return ": " + flag
}

// writesIt is ": FLAG writes it" for the option that exports
// certificates, or "".
func writesIt(o Options) string {
	if o.Flags.ExportCerts == "" {
		return ""
	}
	return ": " + o.Flags.ExportCerts + " writes it"
}
