package diagnose

import (
	"net/netip"
	"testing"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// TestCauseRules runs the cause rules on hand-built connections: the
// first rule that applies names the cause.
func TestCauseRules(t *testing.T) {
	modern := &tlsparse.ClientHello{LegacyVersion: tlsparse.VersionTLS12, CipherSuites: []uint16{0x1301, 0xc02f},
		SupportedVersions: []uint16{0x0304, 0x0303}}
	withSNI := *modern
	withSNI.ServerName = "backend.example.test"
	legacyOnly := &tlsparse.ClientHello{LegacyVersion: tlsparse.VersionTLS10, CipherSuites: []uint16{0x002f}}
	tls11 := &tlsparse.ServerHello{LegacyVersion: tlsparse.VersionTLS11}
	serverAlert := func(d tlsparse.AlertDescription) *Alert {
		return &Alert{From: dissect.Server, Level: "fatal", Description: d.String(), Code: int(d)}
	}
	clientAlert := func(d tlsparse.AlertDescription) *Alert {
		return &Alert{From: dissect.Client, Level: "fatal", Description: d.String(), Code: int(d)}
	}
	for _, tc := range []struct {
		name    string
		verdict Verdict
		alert   *Alert
		conn    dissect.Conn
		want    Cause
	}{
		{"STARTTLS refused", VerdictUpgradeRefused, nil, dissect.Conn{Upgrade: "smtp"}, CauseNotTLS},
		{"plaintext answer", VerdictNotTLS, nil, dissect.Conn{}, CauseNotTLS},
		{"unrecognized_name without SNI", VerdictServerAlert, serverAlert(tlsparse.AlertUnrecognizedName), dissect.Conn{ClientHello: modern}, CauseSNIRequired},
		{"handshake_failure to a modern offer without SNI", VerdictServerAlert, serverAlert(tlsparse.AlertHandshakeFailure), dissect.Conn{ClientHello: modern}, CauseSNIRequired},
		{"handshake_failure to an offer with SNI", VerdictServerAlert, serverAlert(tlsparse.AlertHandshakeFailure), dissect.Conn{ClientHello: &withSNI}, CauseProtocolMismatch},
		{"handshake_failure to a TLS 1.0 offer without SNI", VerdictServerAlert, serverAlert(tlsparse.AlertHandshakeFailure), dissect.Conn{ClientHello: legacyOnly}, CauseProtocolMismatch},
		{"unrecognized_name with SNI", VerdictServerAlert, serverAlert(tlsparse.AlertUnrecognizedName), dissect.Conn{ClientHello: &withSNI}, CauseUnknown},
		{"silence", VerdictNoServerResponse, nil, dissect.Conn{ClientHello: &withSNI}, CauseUnknown},
		{"TLS 1.1 chosen, client internal_error", VerdictClientRejectedCertificate, clientAlert(tlsparse.AlertInternalError), dissect.Conn{ClientHello: modern, ServerHello: tls11}, CauseProtocolMismatch},
		{"TLS 1.1 chosen, client unknown_ca", VerdictClientRejectedCertificate, clientAlert(tlsparse.AlertUnknownCa), dissect.Conn{ClientHello: modern, ServerHello: tls11, ChainHidden: true}, CauseUnknown},
		{"TLS 1.1 chosen for a TLS 1.0-1.1 client", VerdictClientRejectedCertificate, clientAlert(tlsparse.AlertInternalError), dissect.Conn{ClientHello: legacyOnly, ServerHello: tls11, ChainHidden: true}, CauseUnknown},
		{"TLS 1.3, chain hidden, plaintext certificate_expired", VerdictClientRejectedCertificate, clientAlert(tlsparse.AlertCertificateExpired), dissect.Conn{ClientHello: modern, ChainHidden: true}, CauseExpired},
		{"TLS 1.3, chain hidden, plaintext unsupported_certificate", VerdictClientRejectedCertificate, clientAlert(tlsparse.AlertUnsupportedCertificate), dissect.Conn{ClientHello: modern, ChainHidden: true}, CauseWeakCertificate},
		{"TLS 1.3, chain hidden, encrypted alert", VerdictClientAbortedAfterFlight, &Alert{From: dissect.Client, Encrypted: true, Code: -1}, dissect.Conn{ClientHello: modern, ChainHidden: true}, CauseUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.conn
			c.Server = netip.MustParseAddrPort("10.0.0.2:443")
			r := &Result{Wire: Wire{Verdict: tc.verdict, Alert: tc.alert, Detail: "detail"}, Failed: true, Profile: ProfileFor(clientstack.Stack{Name: clientstack.OpenSSL, App: clientstack.AppCurl})}
			r.cause(&c, truststore.Mozilla(), Options{})
			if r.Cause != tc.want {
				t.Errorf("cause %s (%s), want %s", r.Cause, r.CauseDetail, tc.want)
			}
			if r.CauseDetail == "" {
				t.Error("no cause detail")
			}
		})
	}
}
