package diagnose

import (
	"fmt"
	"time"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/truststore"
)

// Probe judges the chain a server sent to a probe (tlstriage probe, which
// connects without verifying) as a client with the truststore of o would
// judge it, asking for o.Host or else the SNI of c: the chain checks of
// Diagnose, without a capture. c describes the probe's connection (Chain,
// ServerHello, ClientHello with the SNI); at is when the chain was fetched.
//
// The verdict is VerdictOK when such a client would accept the chain and
// VerdictClientRejectedCertificate, with the cause and fix a capture of
// that rejection would give, when it would not.
func Probe(c *dissect.Conn, o Options, at time.Time) *Result {
	trust := o.Trust
	if trust == nil {
		trust = truststore.Mozilla()
	}
	r := &Result{TrustStore: trust.Name, Profile: defaultProfile, o: o}
	if o.Client.Name != "" {
		r.Profile, r.ProfileForced = ProfileFor(o.Client), true
	}
	r.Host, r.HostSource = o.Host, hostSource(o)
	if r.Host == "" && c.SNI() != "" {
		r.Host, r.HostSource = c.SNI(), "SNI"
	}
	if r.Host == "" {
		r.HostSource = ""
	}
	target := fmt.Sprintf("probe of %s", c.Server)
	if sni := c.SNI(); sni != "" {
		target += " (SNI " + sni + ")"
	}
	if len(c.Chain) == 0 {
		r.Verdict, r.Failed = VerdictClientRejectedCertificate, true
		r.Detail = target + ": the server sent no certificate"
		r.Cause, r.CauseDetail = CauseUnknown, "the server sent an empty certificate list (an anonymous or PSK-only server?)"
		r.Fix = "check the server's certificate configuration"
		return r
	}
	r.Chain = AnalyzeChain(c.Chain, trust, at)
	r.Findings = append(r.Findings, r.Chain.Findings...)
	r.checkCerts(c)
	reject := !r.acceptedFor()
	if c.CertRequest != nil {
		if a := fatalAlert(c, dissect.Server, true); a != nil && !reject {
			r.Verdict, r.Failed = VerdictClientCertRejected, true
			r.Alert = alertOf(a)
			r.Detail = fmt.Sprintf("%s: the server sent %s, which a client that trusts %s would accept, and asked for a client certificate; the probe had none to offer and the server refused it (%s)", target, certificates(len(c.Chain)), trust.Name, a.Detail)
			r.clientCert(c)
			return r
		}
		r.add(Finding{Code: FindingClientCertRequested, Severity: SevInfo, Summary: "the server asks for a client certificate (a CertificateRequest); it went on without one from the probe"})
		if fatalAlert(c, dissect.Server, true) != nil {
			r.Findings[len(r.Findings)-1].Summary = "the server requires a client certificate (a CertificateRequest): it refused the probe, which had none"
		}
	}
	if !reject {
		r.Verdict = VerdictOK
		r.Detail = fmt.Sprintf("%s: the server sent %s; a client that trusts %s would accept them", target, certificates(len(c.Chain)), trust.Name)
		if r.Host != "" {
			r.Detail += fmt.Sprintf(" for %q", r.Host)
		} else {
			r.Detail += ", but no name was checked: a probe of an address sends no SNI; give the host name the client uses" + flagged(o.Flags.Host)
		}
		return r
	}
	r.Verdict, r.Failed = VerdictClientRejectedCertificate, true
	r.Detail = fmt.Sprintf("%s: the server sent %s; a client that trusts %s would reject them", target, certificates(len(c.Chain)), trust.Name)
	if r.Host != "" {
		r.Detail += fmt.Sprintf(" for %q", r.Host)
	}
	r.chainCause(c, trust, o)
	return r
}

// certificates is "1 certificate" or "N certificates".
func certificates(n int) string {
	if n == 1 {
		return "1 certificate"
	}
	return fmt.Sprintf("%d certificates", n)
}
