package clientstack

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// Name is a TLS stack. The values are a contract (JSON client_stack.name).
type Name string

// Stacks.
const (
	Java      Name = "java"      // Java's JSSE (SSLSocket, SSLEngine)
	OpenSSL   Name = "openssl"   // OpenSSL's libssl: curl, Python, Node, Ruby, PHP, openssl s_client
	Go        Name = "go"        // Go's crypto/tls
	GnuTLS    Name = "gnutls"    // GnuTLS: gnutls-cli, wget, some curl builds
	NSS       Name = "nss"       // Mozilla NSS: Firefox
	BoringSSL Name = "boringssl" // BoringSSL: Chrome, Android, gRPC
	Rustls    Name = "rustls"    // rustls
	Schannel  Name = "schannel"  // Windows Schannel: .NET, PowerShell, Edge legacy
	Unknown   Name = "unknown"
)

// Names lists every stack, Unknown last.
var Names = []Name{Java, OpenSSL, Go, GnuTLS, NSS, BoringSSL, Rustls, Schannel, Unknown}

// App is an application on top of a stack, where its settings differ from
// the stack's defaults in ways that change how it judges a certificate.
type App string

// Applications told apart on OpenSSL.
const (
	AppCurl    App = "curl"     // sets X509_V_FLAG_PARTIAL_CHAIN; checks the host name itself after the handshake
	AppSClient App = "s_client" // libssl's defaults: no partial chain, no host name check unless asked
	AppPython  App = "python"   // ssl.create_default_context: its own cipher string
	AppNode    App = "node"     // Node's tls: its own cipher list; judges the certificate after the handshake
)

// Stack is what a ClientHello says of the implementation that wrote it.
type Stack struct {
	Name Name
	// Version is a release range the evidence allows ("3.0-3.4", "11+"),
	// "" when it does not tell.
	Version string
	// App is the application, "" when the offer does not tell it. For
	// AppSClient it is "s_client or another application with libssl's
	// defaults": the offer cannot tell them apart, and they judge alike.
	App App
	// Evidence says which features decided, for a person to check.
	Evidence string
}

// String gives "openssl 3.0-3.4 (curl)", "java 11+", "unknown".
func (s Stack) String() string {
	out := string(s.Name)
	if s.Version != "" {
		out += " " + s.Version
	}
	if s.App != "" {
		out += " (" + string(s.App) + ")"
	}
	return out
}

// Cipher suites and groups that only some stacks offer.
const (
	suiteRenegotiationSCSV uint16 = 0x00ff
	suiteAES128CCM13       uint16 = 0x1304 // TLS_AES_128_CCM_SHA256: GnuTLS offers it, OpenSSL, Go, Java do not by default
	groupFFDHE2048         uint16 = 0x0100
	groupX25519MLKEM768    uint16 = 0x11ec
	groupX25519Kyber768    uint16 = 0x6399
)

// hello is the part of a ClientHello the rules read, GREASE removed.
type hello struct {
	suites []uint16 // without GREASE
	exts   []uint16 // extension types in wire order, without GREASE
	groups []uint16
	grease bool
	alpn   []string
	tls13  bool
}

func newHello(ch *tlsparse.ClientHello) *hello {
	h := &hello{alpn: ch.ALPN}
	for _, s := range ch.CipherSuites {
		if tlsparse.IsGREASE(s) {
			h.grease = true
			continue
		}
		h.suites = append(h.suites, s)
	}
	for _, typ := range ch.ExtensionTypes {
		if tlsparse.IsGREASE(typ) {
			h.grease = true
			continue
		}
		h.exts = append(h.exts, typ)
	}
	for _, g := range ch.SupportedGroups {
		if tlsparse.IsGREASE(g) {
			h.grease = true
			continue
		}
		h.groups = append(h.groups, g)
	}
	for _, v := range ch.SupportedVersions {
		if v == uint16(tlsparse.VersionTLS13) {
			h.tls13 = true
		}
	}
	return h
}

func (h *hello) has(ext uint16) bool    { return slices.Contains(h.exts, ext) }
func (h *hello) hasSuite(s uint16) bool { return slices.Contains(h.suites, s) }
func (h *hello) hasGroup(g uint16) bool { return slices.Contains(h.groups, g) }

// before reports whether extension a comes before extension b (both sent).
func (h *hello) before(a, b uint16) bool {
	i, j := slices.Index(h.exts, a), slices.Index(h.exts, b)
	return i >= 0 && j >= 0 && i < j
}

// rule names a stack from a hello, or reports false.
type rule struct {
	name  Name
	match func(h *hello) (Stack, bool)
}

// rules are tried in order; the first match wins. Each needs at least one
// feature no other known stack shows by default, so that an offer made by
// something else falls through to Unknown.
var rules = []rule{
	{BoringSSL, boringSSL},
	{Java, java},
	{GnuTLS, gnuTLS},
	{NSS, nss},
	{Go, goTLS},
	{OpenSSL, openSSL},
}

// Identify names the stack that wrote ch. It returns Unknown for a nil
// ClientHello, an SSLv2-compatible one, or an offer no rule recognises.
func Identify(ch *tlsparse.ClientHello) Stack {
	if ch == nil {
		return Stack{Name: Unknown, Evidence: "no ClientHello"}
	}
	if ch.SSLv2 {
		return Stack{Name: Unknown, Evidence: "an SSLv2-compatible ClientHello"}
	}
	h := newHello(ch)
	for _, r := range rules {
		if s, ok := r.match(h); ok {
			s.Name = r.name
			return s
		}
	}
	return Stack{Name: Unknown, Evidence: fmt.Sprintf("no known stack offers these %d extensions and %d cipher suites", len(h.exts), len(h.suites))}
}

// evidence joins the features a rule relied on.
func evidence(parts ...string) string { return strings.Join(parts, "; ") }
