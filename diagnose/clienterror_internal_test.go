package diagnose

import (
	"testing"

	"github.com/tlstriage/tlstriage/dissect"
)

// TestClientErrorWithoutChain: every profile and cause, on a connection
// with no chain seen (TLS 1.3, a cut capture) and with or without an
// alert, gives a line or none, never a panic.
func TestClientErrorWithoutChain(t *testing.T) {
	causes := []Cause{CauseTruststoreMissingRoot, CauseTruststoreMissingIntermediate, CauseUntrustedRoot, CauseIncompleteChain,
		CauseHostnameMismatch, CauseExpired, CauseNotYetValid, CauseSelfSigned, CauseWeakCertificate, CauseClientCertRequired,
		CauseProtocolMismatch, CauseNotTLS, CauseSNIRequired, CauseUnknown}
	verdicts := []Verdict{VerdictClientRejectedCertificate, VerdictServerAlert, VerdictServerReset, VerdictNoServerResponse, VerdictNotTLS}
	alerts := []*Alert{nil, {From: dissect.Server, Level: "fatal", Description: "handshake_failure", Code: 40}, {From: dissect.Client, Encrypted: true, Code: -1}}
	c := &dissect.Conn{}
	for _, p := range append(profiles, defaultProfile) {
		for _, cause := range causes {
			for _, v := range verdicts {
				for _, a := range alerts {
					r := &Result{Wire: Wire{Verdict: v, Alert: a}, Failed: true, Cause: cause, Profile: p, Host: "10.0.0.2"}
					_ = clientError(r, c)
				}
			}
		}
	}
}
