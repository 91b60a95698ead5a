package diagnose

import (
	"github.com/tlstriage/tlstriage/clientstack"
)

// Profile is how a client stack judges a server's certificate: the rules
// of its defaults that change a verdict or a cause. Each field cites where
// the rule comes from.
type Profile struct {
	Stack clientstack.Name
	App   clientstack.App
	// Label names the profile in reports ("openssl (curl)", "java").
	Label string
	// Who names the client in "Java would log: ..." lines.
	Who string
	// PartialChain: any truststore certificate can anchor a path, an
	// intermediate included. Java: PKIXBuilderParameters take every
	// truststore entry as a TrustAnchor. Go: crypto/x509 Verify stops at
	// any certificate of Roots. GnuTLS: gnutls_x509_trust_list_verify_crt
	// accepts a chain that reaches any trusted certificate. OpenSSL only
	// with X509_V_FLAG_PARTIAL_CHAIN, which curl sets by default
	// (lib/vtls/openssl.c, unless CURLSSLOPT_NO_PARTIALCHAIN) and
	// s_client, CPython < 3.13 and Node do not.
	PartialChain bool
	// CNFallback: a certificate with no DNS subjectAltName is matched
	// against its subject CN. Java (sun.security.util.HostnameChecker),
	// OpenSSL's X509_check_host without X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
	// (curl's own check alike), Node's tls.checkServerIdentity and GnuTLS
	// do; Go (since 1.15, "x509: certificate relies on legacy Common Name
	// field"), browsers and rustls do not.
	CNFallback bool
	// AnchorValidity: the trust anchor's own validity dates are checked.
	// OpenSSL's X509_verify_cert checks every certificate of the chain,
	// the anchor included (X509_V_ERR_CERT_HAS_EXPIRED at depth n); so do
	// Go (isValid on root candidates) and GnuTLS. Java does not: a
	// TrustAnchor is not part of the CertPath that PKIXValidator checks.
	AnchorValidity bool
	// ChainAfterHandshake: the chain is judged after the handshake
	// completes (the client finishes it, then hangs up). Node's tls module
	// verifies with SSL_VERIFY_NONE and checks `authorized` on 'secure'
	// (lib/_tls_wrap.js onConnectSecure); gnutls-cli and wget verify after
	// gnutls_handshake returns.
	ChainAfterHandshake bool
	// NameAfterHandshake: the host name is checked after the handshake.
	// curl with OpenSSL calls Curl_ossl_verifyhost after SSL_connect;
	// Node's checkServerIdentity runs in onConnectSecure.
	NameAfterHandshake bool
	// MinRSABits is the smallest RSA key accepted in the chain. Java 17:
	// jdk.certpath.disabledAlgorithms "RSA keySize < 1024"; OpenSSL 3 at
	// security level 2 (Debian's and most distributions' default): 2048
	// (SSL_CTX_set_security_level); Go: 1024 (crypto/x509, since 1.24);
	// GnuTLS "NORMAL" (medium profile): 2048.
	MinRSABits int
	// SHA1Rejected: a SHA-1 signature on a certificate other than the
	// anchor is refused. OpenSSL 3 at level 1 and above (SHA-1 gives 63
	// bits); Go since 1.18 (x509: insecure algorithm SHA1-RSA); GnuTLS
	// since 3.6 marks SHA-1 certificate signatures insecure. Java 17 only
	// for chains to a JDK cacerts root ("SHA1 jdkCA & usage TLSServer").
	SHA1Rejected bool
	// KeyLog says how this client writes a TLS key log.
	KeyLog string
}

// profiles are the stacks' and applications' defaults.
var profiles = []Profile{
	{Stack: clientstack.Java, Label: "java", Who: "Java", PartialChain: true, CNFallback: true, MinRSABits: 1024,
		KeyLog: "Java writes no key log itself: run the client with a key-log agent (for example -javaagent:extract-tls-secrets.jar=/tmp/keys.txt) while capturing"},
	{Stack: clientstack.OpenSSL, App: clientstack.AppCurl, Label: "openssl (curl)", Who: "curl", PartialChain: true, CNFallback: true, AnchorValidity: true, NameAfterHandshake: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "run curl with SSLKEYLOGFILE=/tmp/keys.txt in its environment while capturing"},
	{Stack: clientstack.OpenSSL, App: clientstack.AppSClient, Label: "openssl (s_client, libssl defaults)", Who: "openssl s_client", CNFallback: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "give openssl s_client -keylogfile /tmp/keys.txt while capturing"},
	{Stack: clientstack.OpenSSL, App: clientstack.AppPython, Label: "openssl (python)", Who: "Python", CNFallback: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "run the Python client with SSLKEYLOGFILE=/tmp/keys.txt in its environment (ssl.create_default_context honours it since 3.8) while capturing"},
	{Stack: clientstack.OpenSSL, App: clientstack.AppNode, Label: "openssl (node)", Who: "Node", CNFallback: true, AnchorValidity: true, ChainAfterHandshake: true, NameAfterHandshake: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "Node ignores SSLKEYLOGFILE: start it with node --tls-keylog=/tmp/keys.txt, or write the socket's 'keylog' events to a file, while capturing"},
	{Stack: clientstack.OpenSSL, Label: "openssl", Who: "an OpenSSL client", CNFallback: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "have the client write a key log while capturing (SSLKEYLOGFILE=/tmp/keys.txt for clients that honour it, such as curl and Python)"},
	{Stack: clientstack.Go, Label: "go", Who: "Go", PartialChain: true, AnchorValidity: true, MinRSABits: 1024, SHA1Rejected: true,
		KeyLog: "Go honours no environment variable: set tls.Config.KeyLogWriter to a file in the client while capturing"},
	{Stack: clientstack.GnuTLS, Label: "gnutls", Who: "gnutls-cli", PartialChain: true, CNFallback: true, AnchorValidity: true, ChainAfterHandshake: true, NameAfterHandshake: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "run the client with SSLKEYLOGFILE=/tmp/keys.txt in its environment (GnuTLS 3.6.13+) while capturing"},
	{Stack: clientstack.NSS, Label: "nss", Who: "Firefox (NSS)", PartialChain: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "start the browser with SSLKEYLOGFILE=/tmp/keys.txt in its environment while capturing"},
	{Stack: clientstack.BoringSSL, Label: "boringssl", Who: "Chrome (BoringSSL)", PartialChain: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "start the browser with SSLKEYLOGFILE=/tmp/keys.txt in its environment (or --ssl-key-log-file) while capturing"},
	{Stack: clientstack.Rustls, Label: "rustls", Who: "rustls", PartialChain: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "enable rustls's KeyLogFile (it reads SSLKEYLOGFILE) in the client while capturing"},
	{Stack: clientstack.Schannel, Label: "schannel", Who: "Schannel", PartialChain: true, CNFallback: true, AnchorValidity: true, MinRSABits: 2048, SHA1Rejected: true,
		KeyLog: "Schannel writes no key log: decrypting needs the server's key log (or a TLS-terminating proxy)"},
}

// defaultProfile judges clients that are not identified: the rules that
// held before stacks were told apart (Java's trust anchors and CN
// fallback), with the stricter key rules most stacks apply.
var defaultProfile = Profile{Stack: clientstack.Unknown, Label: "default (client not identified)", Who: "the client", PartialChain: true, CNFallback: true, MinRSABits: 2048, SHA1Rejected: true,
	KeyLog: "have the client write a key log while capturing: SSLKEYLOGFILE=/tmp/keys.txt for curl, Python, GnuTLS and browsers; node --tls-keylog; Go's tls.Config.KeyLogWriter; a key-log agent for Java"}

// ProfileFor is the profile of a stack: the application's when it has
// one, the stack's otherwise; the default profile for Unknown.
func ProfileFor(s clientstack.Stack) Profile {
	var stack *Profile
	for i := range profiles {
		p := &profiles[i]
		if p.Stack != s.Name {
			continue
		}
		if p.App == s.App {
			return *p
		}
		if p.App == "" {
			stack = p
		}
	}
	if stack != nil {
		return *stack
	}
	return defaultProfile
}

// ClientNames are the values ParseClient takes: the stacks, and the
// applications whose settings differ from their stack's.
var ClientNames = []string{"java", "openssl", "curl", "s_client", "python", "node", "go", "gnutls", "nss", "boringssl", "rustls", "schannel"}

// ParseClient names the stack (and application) of a client the user
// names: a stack ("java", "openssl") or an application on OpenSSL ("curl",
// "s_client", "python", "node"). It reports false for other names.
func ParseClient(name string) (clientstack.Stack, bool) {
	switch app := clientstack.App(name); app {
	case clientstack.AppCurl, clientstack.AppSClient, clientstack.AppPython, clientstack.AppNode:
		return clientstack.Stack{Name: clientstack.OpenSSL, App: app, Evidence: "named by the user: " + name}, true
	}
	for _, n := range clientstack.Names {
		if string(n) == name && n != clientstack.Unknown {
			return clientstack.Stack{Name: n, Evidence: "named by the user: " + name}, true
		}
	}
	return clientstack.Stack{}, false
}
