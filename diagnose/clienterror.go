package diagnose

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// The messages below are what the stacks print, recorded from real
// clients on loopback (Java 17.0.15, curl 7.88.1 and openssl s_client
// with OpenSSL 3.0.19, Python 3.11, Node 20.20, Go 1.26, gnutls-cli
// 3.7.9) against servers that fail each way; TestClientErrorsRealClients
// runs them again. Parts that depend on the connection (host names,
// dates) are filled from its facts.

// clientError is the line the client's stack logs for r's cause, "" when
// the stack or the cause gives none that tlstriage can tell.
func clientError(r *Result, c *dissect.Conn) string {
	if !r.Failed || r.Cause == "" {
		return ""
	}
	switch p := r.Profile; p.Stack {
	case clientstack.Java:
		return javaError(r, c)
	case clientstack.OpenSSL:
		return openSSLError(r, c, p.App)
	case clientstack.Go:
		return goError(r, c)
	case clientstack.GnuTLS:
		return gnuTLSError(r)
	}
	return ""
}

// isChainCause reports whether cause is about the path to the truststore.
func isChainCause(cause Cause) bool {
	switch cause {
	case CauseTruststoreMissingRoot, CauseTruststoreMissingIntermediate, CauseUntrustedRoot, CauseIncompleteChain, CauseSelfSigned:
		return true
	}
	return false
}

// leafNames lists the leaf's DNS names ("" without a chain).
func leafNames(r *Result) []string {
	if r.Chain == nil || r.Chain.Certs[0].Info.Cert == nil {
		return nil
	}
	return r.Chain.Certs[0].Info.Cert.DNSNames
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// javaTime formats a time as java.util.Date.toString does in UTC.
func javaTime(t interface{ Format(string) string }) string {
	return t.Format("Mon Jan 02 15:04:05 UTC 2006")
}

func javaError(r *Result, c *dissect.Conn) string {
	switch {
	case isChainCause(r.Cause):
		return "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"
	case r.Cause == CauseHostnameMismatch && r.Chain != nil:
		leaf := r.Chain.Certs[0].Info.Cert
		switch {
		case leaf == nil:
		case isIP(r.Host) && len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0:
			return "java.security.cert.CertificateException: No subject alternative names present"
		case isIP(r.Host):
			return fmt.Sprintf("java.security.cert.CertificateException: No subject alternative names matching IP address %s found", r.Host)
		case len(leaf.DNSNames) == 0:
			return fmt.Sprintf("java.security.cert.CertificateException: No name matching %s found", r.Host)
		default:
			return fmt.Sprintf("java.security.cert.CertificateException: No subject alternative DNS name matching %s found.", r.Host)
		}
	case r.Cause == CauseExpired || r.Cause == CauseNotYetValid:
		if f := r.firstValidity(); f != nil {
			if f.Validity == ValidityExpired {
				return "java.security.cert.CertificateExpiredException: NotAfter: " + javaTime(f.Info.Cert.NotAfter.UTC())
			}
			return "java.security.cert.CertificateNotYetValidException: NotBefore: " + javaTime(f.Info.Cert.NotBefore.UTC())
		}
	case r.Cause == CauseWeakCertificate && r.has(FindingNoServerAuth) != nil:
		return "sun.security.validator.ValidatorException: Extended key usage does not permit use for TLS server authentication"
	case r.Verdict == VerdictNoServerResponse:
		return "java.net.SocketTimeoutException: Read timed out"
	case r.Verdict == VerdictServerReset:
		return "javax.net.ssl.SSLException: Connection reset"
	case r.Verdict == VerdictServerClosed:
		return "javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake"
	case r.Verdict == VerdictNotTLS:
		return "javax.net.ssl.SSLException: Unsupported or unrecognized SSL message"
	}
	if a := r.Alert; a != nil && a.From == dissect.Server && !a.Encrypted {
		return "javax.net.ssl.SSLHandshakeException: Received fatal alert: " + a.Description
	}
	return ""
}

// openSSLVerify is X509_verify_cert_error_string's text and code for the
// cause (OpenSSL 3.0, crypto/x509/x509_txt.c).
func openSSLVerify(r *Result) (int, string) {
	switch r.Cause {
	case CauseTruststoreMissingRoot, CauseUntrustedRoot:
		if r.Chain != nil && r.Chain.Trusted && !r.anchorAccepted() {
			return 2, "unable to get issuer certificate"
		}
		if r.Chain != nil && r.Chain.End != nil && r.Chain.MissingIssuer == "" && r.Chain.End != r.Chain.Certs[0].Info.Cert {
			return 19, "self-signed certificate in certificate chain"
		}
		return 20, "unable to get local issuer certificate"
	case CauseTruststoreMissingIntermediate, CauseIncompleteChain:
		return 20, "unable to get local issuer certificate"
	case CauseSelfSigned:
		return 18, "self-signed certificate"
	case CauseExpired:
		return 10, "certificate has expired"
	case CauseNotYetValid:
		return 9, "certificate is not yet valid"
	case CauseHostnameMismatch:
		if isIP(r.Host) {
			return 64, "IP address mismatch"
		}
		return 62, "hostname mismatch"
	case CauseWeakCertificate:
		switch {
		case r.has(FindingNoServerAuth) != nil, r.Chain == nil && r.Alert != nil && !r.Alert.Encrypted && tlsparse.AlertDescription(r.Alert.Code) == tlsparse.AlertUnsupportedCertificate:
			return 26, "unsuitable certificate purpose"
		case r.has(FindingWeakSignature) != nil:
			return 68, "CA signature digest algorithm too weak"
		case r.has(FindingWeakKey) != nil:
			if f := r.has(FindingWeakKey); strings.HasPrefix(f.Summary, "leaf") {
				return 66, "EE certificate key too weak"
			}
			return 67, "CA certificate key too weak"
		}
	}
	return 0, ""
}

// nodeCodes are Node's err.code for OpenSSL's verify results
// (src/crypto/crypto_common.cc, X509ErrorCode).
var nodeCodes = map[int]string{
	2: "UNABLE_TO_GET_ISSUER_CERT", 9: "CERT_NOT_YET_VALID", 10: "CERT_HAS_EXPIRED", 18: "DEPTH_ZERO_SELF_SIGNED_CERT",
	19: "SELF_SIGNED_CERT_IN_CHAIN", 20: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", 21: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
	26: "INVALID_PURPOSE",
}

func openSSLError(r *Result, c *dissect.Conn, app clientstack.App) string {
	if r.Cause == CauseProtocolMismatch && r.Verdict == VerdictClientRejectedCertificate {
		// The server chose a legacy version (legacyVersion).
		switch app {
		case clientstack.AppCurl:
			return "curl: (35) OpenSSL/3.0: error:0A00014D:SSL routines::legacy sigalg disallowed or unsupported"
		}
		return "error:0A00014D:SSL routines:tls_process_key_exchange:legacy sigalg disallowed or unsupported"
	}
	switch r.Verdict {
	case VerdictServerReset:
		switch app {
		case clientstack.AppNode:
			return "read ECONNRESET"
		case clientstack.AppPython:
			return "ConnectionResetError: [Errno 104] Connection reset by peer"
		case clientstack.AppCurl:
			return "curl: (35) OpenSSL SSL_connect: Connection reset by peer"
		}
	case VerdictNoServerResponse:
		switch app {
		case clientstack.AppPython:
			return "TimeoutError: _ssl.c:989: The handshake operation timed out"
		case clientstack.AppCurl:
			return "curl: (28) Operation timed out"
		case clientstack.AppNode:
			return "socket hang up"
		}
	}
	code, text := openSSLVerify(r)
	if app == clientstack.AppNode && code == 20 && r.Cause == CauseIncompleteChain && r.Chain != nil && len(r.Chain.Certs) == 1 {
		// Node reports a lone leaf whose issuer is unknown so.
		code, text = 21, "unable to verify the first certificate"
	}
	if code == 0 {
		if a := r.Alert; a != nil && a.From == dissect.Server && !a.Encrypted {
			alert := "tlsv1 alert " + strings.ReplaceAll(a.Description, "_", " ")
			switch app {
			case clientstack.AppPython:
				return fmt.Sprintf("ssl.SSLError: [SSL: TLSV1_ALERT_%s] %s (_ssl.c:1006)", strings.ToUpper(a.Description), alert)
			case clientstack.AppCurl:
				return "curl: (35) OpenSSL/3.0: error:0A00042E:SSL routines::" + alert
			}
			return fmt.Sprintf("error:0A00042E:SSL routines:ssl3_read_bytes:%s: SSL alert number %d", alert, a.Code)
		}
		return ""
	}
	switch app {
	case clientstack.AppCurl:
		if r.Cause == CauseHostnameMismatch {
			// curl checks the name itself (lib/vtls/openssl.c).
			if len(leafNames(r)) == 0 && !isIP(r.Host) {
				return fmt.Sprintf("curl: (60) SSL: certificate subject name '%s' does not match target host name '%s'", commonName(r), r.Host)
			}
			return fmt.Sprintf("curl: (60) SSL: no alternative certificate subject name matches target host name '%s'", r.Host)
		}
		return "curl: (60) SSL certificate problem: " + text
	case clientstack.AppSClient:
		return fmt.Sprintf("verify error:num=%d:%s", code, text)
	case clientstack.AppPython:
		if r.Cause == CauseHostnameMismatch {
			what := "Hostname mismatch"
			if isIP(r.Host) {
				what = "IP address mismatch"
			}
			return fmt.Sprintf("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s, certificate is not valid for '%s'. (_ssl.c:1006)", what, r.Host)
		}
		return fmt.Sprintf("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s (_ssl.c:1006)", text)
	case clientstack.AppNode:
		if r.Cause == CauseHostnameMismatch {
			// lib/tls.js checkServerIdentity.
			if isIP(r.Host) {
				return fmt.Sprintf("ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: %s is not in the cert's list: %s", r.Host, ipList(r))
			}
			return fmt.Sprintf("ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: Host: %s. is not in the cert's altnames: %s", r.Host, dnsList(r))
		}
		name, ok := nodeCodes[code]
		if !ok {
			name = "UNSPECIFIED" // Node names only the common codes
		}
		return name + ": " + text
	}
	return fmt.Sprintf("certificate verify failed: %s (%d)", text, code)
}

func commonName(r *Result) string {
	if r.Chain == nil || r.Chain.Certs[0].Info.Cert == nil {
		return ""
	}
	return r.Chain.Certs[0].Info.Cert.Subject.CommonName
}

func dnsList(r *Result) string {
	var out []string
	for _, n := range leafNames(r) {
		out = append(out, "DNS:"+n)
	}
	return strings.Join(out, ", ")
}

func ipList(r *Result) string {
	if r.Chain == nil || r.Chain.Certs[0].Info.Cert == nil {
		return ""
	}
	var out []string
	for _, ip := range r.Chain.Certs[0].Info.Cert.IPAddresses {
		out = append(out, ip.String())
	}
	return strings.Join(out, ", ")
}

func goError(r *Result, c *dissect.Conn) string {
	const prefix = "tls: failed to verify certificate: "
	switch {
	case isChainCause(r.Cause):
		return prefix + "x509: certificate signed by unknown authority"
	case r.Cause == CauseHostnameMismatch && r.Chain != nil && r.Chain.Certs[0].Info.Cert != nil:
		leaf := r.Chain.Certs[0].Info.Cert
		switch {
		case isIP(r.Host) && len(leaf.IPAddresses) == 0:
			return prefix + fmt.Sprintf("x509: cannot validate certificate for %s because it doesn't contain any IP SANs", r.Host)
		case len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && leaf.Subject.CommonName != "":
			return prefix + "x509: certificate relies on legacy Common Name field, use SANs instead"
		}
		return prefix + fmt.Sprintf("x509: certificate is valid for %s, not %s", certNames(leaf), r.Host)
	case r.Cause == CauseExpired || r.Cause == CauseNotYetValid:
		if f := r.firstValidity(); f != nil {
			cert := f.Info.Cert
			if f.Validity == ValidityExpired {
				return prefix + fmt.Sprintf("x509: certificate has expired or is not yet valid: current time %s is after %s", fmtTime(r.Chain.At), fmtTime(cert.NotAfter))
			}
			return prefix + fmt.Sprintf("x509: certificate has expired or is not yet valid: current time %s is before %s", fmtTime(r.Chain.At), fmtTime(cert.NotBefore))
		}
	}
	if r.Cause == CauseWeakCertificate {
		switch {
		case r.has(FindingNoServerAuth) != nil:
			return prefix + "x509: certificate specifies an incompatible key usage"
		case r.has(FindingWeakSignature) != nil:
			return prefix + "x509: certificate signed by unknown authority (possibly because of \"x509: cannot verify signature: insecure algorithm SHA1-RSA\" while trying to verify candidate authority certificate ...)"
		}
	}
	if r.Cause == CauseExpired && r.anchorOutOfValidity() {
		// crypto/x509 checks the root's dates like any certificate's.
		return prefix + fmt.Sprintf("x509: certificate has expired or is not yet valid: current time %s is after %s", fmtTime(r.Chain.At), fmtTime(r.Chain.Anchor.Cert.NotAfter))
	}
	switch r.Verdict {
	case VerdictServerReset:
		return "read: connection reset by peer"
	case VerdictNoServerResponse:
		return "net/http: TLS handshake timeout"
	}
	if a := r.Alert; a != nil && a.From == dissect.Server && !a.Encrypted {
		if text, ok := goAlertText[a.Description]; ok {
			return "remote error: tls: " + text
		}
		return "remote error: tls: " + strings.ReplaceAll(a.Description, "_", " ")
	}
	return ""
}

// goAlertText is crypto/tls's alertText for the alerts a server sends
// when it refuses a handshake (alert.go); the others read as their names.
var goAlertText = map[string]string{
	"protocol_version":        "protocol version not supported",
	"handshake_failure":       "handshake failure",
	"unrecognized_name":       "unrecognized name",
	"insufficient_security":   "insufficient security level",
	"certificate_required":    "certificate required",
	"no_application_protocol": "no application protocol",
	"bad_certificate":         "bad certificate",
	"unknown_ca":              "unknown certificate authority",
	"internal_error":          "internal error",
}

func gnuTLSError(r *Result) string {
	const prefix = "- Status: The certificate is NOT trusted. "
	switch {
	case isChainCause(r.Cause):
		return prefix + "The certificate issuer is unknown."
	case r.Cause == CauseHostnameMismatch:
		return prefix + "The name in the certificate does not match the expected."
	case r.Cause == CauseExpired:
		return prefix + "The certificate chain uses expired certificate."
	case r.Cause == CauseNotYetValid:
		return prefix + "The certificate chain uses not yet valid certificate."
	case r.Cause == CauseWeakCertificate && r.has(FindingNoServerAuth) != nil:
		return prefix + "The certificate chain does not match the intended purpose."
	case r.Cause == CauseWeakCertificate && r.has(FindingWeakSignature) != nil:
		return prefix + "The certificate chain uses insecure algorithm."
	}
	return ""
}
