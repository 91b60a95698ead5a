package clientstack

import (
	"slices"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// The rules below were written from ClientHellos of real clients captured
// on loopback (testdata/hello/README.md says which) and from the stacks'
// sources, cited per rule.

// boringSSL: BoringSSL puts GREASE values (RFC 8701) in its cipher suites,
// extensions and groups, and offers certificate compression (RFC 8879) or
// Chrome's application_settings (ALPS). Apple's stacks GREASE too, so
// GREASE alone does not decide.
func boringSSL(h *hello) (Stack, bool) {
	if !h.grease {
		return Stack{}, false
	}
	switch {
	case h.has(tlsparse.ExtALPS) || h.has(tlsparse.ExtALPSOld):
		return Stack{Evidence: evidence("GREASE values", "application_settings (ALPS) extension: Chrome's BoringSSL")}, true
	case h.has(tlsparse.ExtCompressCertificate):
		return Stack{Evidence: evidence("GREASE values", "compress_certificate extension")}, true
	}
	return Stack{}, false
}

// java: JSSE is the only stack here that sends status_request_v2 (RFC
// 6961) by default (sun.security.ssl.SSLExtension CH_STATUS_REQUEST_V2,
// jdk.tls.client.enableStatusRequestExtension), and it keeps its
// extensions in SSLExtension's declaration order.
func java(h *hello) (Stack, bool) {
	if h.grease || !h.has(tlsparse.ExtStatusRequestV2) || !h.has(tlsparse.ExtSignatureAlgsCert) {
		return Stack{}, false
	}
	s := Stack{Evidence: evidence("status_request_v2 and signature_algorithms_cert extensions", "renegotiation SCSV, no GREASE: JSSE")}
	// TLS_RSA_* key exchange suites are disabled from JDK 24
	// (JDK-8245545); the session_ticket extension is sent from JDK 13
	// (JDK-8211018); TLS 1.3 from JDK 11 (and 8u261).
	rsaKex := h.hasSuite(0x002f) || h.hasSuite(0x009c)
	switch {
	case !rsaKex && h.has(tlsparse.ExtSessionTicket):
		s.Version = "24+"
		s.Evidence += "; no TLS_RSA suites (disabled from JDK 24)"
	case h.has(tlsparse.ExtSessionTicket):
		s.Version = "13-23"
		s.Evidence += "; session_ticket (JDK 13+) and TLS_RSA suites (until JDK 23)"
	case h.has(tlsparse.ExtSupportedVersions):
		s.Version = "8u261-12"
	}
	return s, true
}

// gnuTLS: GnuTLS offers TLS_AES_128_CCM_SHA256 and the CCM TLS 1.2 suites
// by default (lib/priority.c, _cipher_priority_performance) and sends
// record_size_limit (RFC 8449, GnuTLS 3.6.4+), with status_request first.
func gnuTLS(h *hello) (Stack, bool) {
	if h.grease || !h.hasSuite(suiteAES128CCM13) || !h.has(tlsparse.ExtRecordSizeLimit) {
		return Stack{}, false
	}
	s := Stack{Evidence: evidence("TLS_AES_128_CCM_SHA256 offered", "record_size_limit extension", "no GREASE")}
	if h.tls13 {
		s.Version = "3.6.5+"
	}
	return s, true
}

// nss: NSS (Firefox) sends delegated_credentials (RFC 9345) and
// record_size_limit, and no GREASE.
func nss(h *hello) (Stack, bool) {
	if h.grease || !h.has(tlsparse.ExtDelegatedCredentials) || !h.has(tlsparse.ExtRecordSizeLimit) {
		return Stack{}, false
	}
	return Stack{Evidence: evidence("delegated_credentials and record_size_limit extensions", "no GREASE: NSS")}, true
}

// goTLS: crypto/tls lists its TLS 1.3 suites after the TLS 1.2 ones
// (cipher_suites.go, cipherSuitesPreferenceOrder is for servers; clients
// send defaultCipherSuites then the TLS 1.3 ones), sends
// renegotiation_info as an extension rather than the SCSV, and
// signed_certificate_timestamp; it never sends encrypt_then_mac.
func goTLS(h *hello) (Stack, bool) {
	if h.grease || len(h.suites) == 0 || !h.has(tlsparse.ExtRenegotiationInfo) || !h.has(tlsparse.ExtSCT) || h.has(tlsparse.ExtEncryptThenMAC) || h.hasSuite(suiteRenegotiationSCSV) {
		return Stack{}, false
	}
	// Only the extensions crypto/tls can send (handshake_messages.go,
	// clientHelloMsg.marshal), and its first suite: AES-128-GCM with
	// hardware AES, ChaCha20 without (cipher_suites.go), TLS 1.3 ones
	// only when 1.2 is off. Apple's stacks send the same two extensions
	// and NPN, and put AES-256 first.
	for _, e := range h.exts {
		if !goExtensions[e] {
			return Stack{}, false
		}
	}
	if first := h.suites[0]; first != 0xc02b && first != 0xc02f && first != 0xcca9 && first != 0xcca8 && !isTLS13Suite(first) {
		return Stack{}, false
	}
	s := Stack{Evidence: evidence("renegotiation_info and signed_certificate_timestamp extensions, no encrypt_then_mac", "only extensions crypto/tls sends", "no renegotiation SCSV, no GREASE: Go crypto/tls")}
	if n := len(h.suites); h.tls13 && n > 3 && isTLS13Suite(h.suites[n-1]) && !isTLS13Suite(h.suites[0]) {
		s.Evidence += "; TLS 1.3 suites listed last"
	}
	// Hybrid post-quantum groups (crypto/tls defaultCurvePreferences):
	// X25519Kyber768Draft00 in 1.23, X25519MLKEM768 from 1.24,
	// SecP256r1MLKEM768 and SecP384r1MLKEM1024 from 1.26.
	switch {
	case h.hasGroup(0x11eb):
		s.Version = "1.26+"
	case h.hasGroup(groupX25519MLKEM768):
		s.Version = "1.24-1.25"
	case h.hasGroup(groupX25519Kyber768):
		s.Version = "1.23"
	case h.tls13:
		s.Version = "1.12-1.22"
	}
	return s, true
}

func isTLS13Suite(s uint16) bool { return s>>8 == 0x13 }

// goExtensions are the extensions a crypto/tls client sends.
var goExtensions = map[uint16]bool{
	tlsparse.ExtServerName: true, tlsparse.ExtStatusRequest: true, tlsparse.ExtSupportedGroups: true, tlsparse.ExtECPointFormats: true,
	tlsparse.ExtSignatureAlgorithms: true, tlsparse.ExtALPN: true, tlsparse.ExtSCT: true, tlsparse.ExtExtendedMasterSecret: true,
	tlsparse.ExtSessionTicket: true, 41: true, 42: true, tlsparse.ExtSupportedVersions: true, 44: true, tlsparse.ExtPSKModes: true,
	tlsparse.ExtSignatureAlgsCert: true, tlsparse.ExtKeyShare: true, 57: true, tlsparse.ExtECH: true, tlsparse.ExtRenegotiationInfo: true,
}

// openSSL: libssl sends ec_point_formats before supported_groups
// (ssl/statem/extensions.c, ext_defs order), encrypt_then_mac (RFC 7366),
// ends its suites with the renegotiation SCSV, and sends no GREASE and no
// renegotiation_info extension on a first handshake.
func openSSL(h *hello) (Stack, bool) {
	if h.grease || !h.has(tlsparse.ExtEncryptThenMAC) || !h.before(tlsparse.ExtECPointFormats, tlsparse.ExtSupportedGroups) ||
		h.has(tlsparse.ExtRenegotiationInfo) || len(h.suites) == 0 || h.suites[len(h.suites)-1] != suiteRenegotiationSCSV {
		return Stack{}, false
	}
	s := Stack{Evidence: evidence("ec_point_formats before supported_groups, encrypt_then_mac", "renegotiation SCSV last, no GREASE: OpenSSL's libssl")}
	// Default groups (ssl/t1_lib.c supported_groups_default): 3.0 adds the
	// FFDHE groups; 3.5 puts X25519MLKEM768 first.
	switch {
	case h.hasGroup(groupX25519MLKEM768):
		s.Version = "3.5+"
	case h.hasGroup(groupFFDHE2048):
		s.Version = "3.0-3.4"
	case h.tls13:
		s.Version = "1.1.1"
	}
	s.App, s.Evidence = openSSLApp(h, s.Evidence)
	return s, true
}

// TLS 1.2 suites (TLS 1.3 ones and the SCSV removed) that applications
// set instead of libssl's DEFAULT list.
var (
	// Node's DEFAULT_CIPHER_LIST_CORE (src/node_constants.h) starts with
	// ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256.
	nodePrefix = []uint16{0xc02f, 0xc02b, 0xc030, 0xc02c, 0x009e, 0xc027, 0x0067, 0xc028, 0x006b}
	// CPython's PY_SSL_DEFAULT_CIPHER_STRING (Modules/_ssl.c, 3.10+):
	// "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM".
	pythonSuites = []uint16{0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc024, 0xc028, 0xc023, 0xc027, 0x009f, 0x009e, 0x006b, 0x0067}
	// libssl 3.0's DEFAULT (ssl/ssl_ciph.c), as s_client and curl send it.
	openSSLDefaultPrefix = []uint16{0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f, 0x009e}
)

// tls12Suites is the offer without TLS 1.3 suites and the SCSV.
func (h *hello) tls12Suites() []uint16 {
	var out []uint16
	for _, s := range h.suites {
		if !isTLS13Suite(s) && s != suiteRenegotiationSCSV {
			out = append(out, s)
		}
	}
	return out
}

// openSSLApp tells the application on libssl where its settings show.
func openSSLApp(h *hello, ev string) (App, string) {
	suites := h.tls12Suites()
	switch {
	case hasPrefix(suites, nodePrefix):
		return AppNode, ev + "; Node's default cipher list"
	case slices.Equal(suites, pythonSuites):
		return AppPython, ev + "; CPython's default cipher string"
	case len(suites) > 0 && !hasPrefix(suites, openSSLDefaultPrefix):
		return "", ev
	}
	// libssl's default list: curl enables post-handshake authentication
	// (lib/vtls/openssl.c, SSL_CTX_set_post_handshake_auth), turns session
	// tickets off (SSL_OP_NO_TICKET) and offers ALPN h2 (built with
	// nghttp2) and http/1.1. post_handshake_auth goes only with TLS 1.3.
	if (h.has(tlsparse.ExtPostHandshakeAuth) || !h.tls13) && !h.has(tlsparse.ExtSessionTicket) && slices.Contains(h.alpn, "h2") {
		return AppCurl, ev + "; post_handshake_auth, no session_ticket, ALPN h2: curl"
	}
	// s_client sets none of SSL_OP_ALL (no padding extension), offers no
	// ALPN unless asked, and keeps tickets on.
	if len(h.alpn) == 0 && !h.has(tlsparse.ExtPostHandshakeAuth) && !h.has(tlsparse.ExtPadding) && h.has(tlsparse.ExtSessionTicket) {
		return AppSClient, ev + "; libssl's defaults (no ALPN, no padding, session_ticket): openssl s_client or an application that changes nothing"
	}
	return "", ev
}

func hasPrefix(s, prefix []uint16) bool {
	return len(s) >= len(prefix) && slices.Equal(s[:len(prefix)], prefix)
}
