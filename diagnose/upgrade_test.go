package diagnose

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/dissect"
)

// TestUpgradeRefused: a server that refuses STARTTLS is a failure with
// cause not_tls, and the detail quotes the refusal.
func TestUpgradeRefused(t *testing.T) {
	c := &dissect.Conn{
		Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.2:25"),
		Upgrade: "smtp", UpgradeRefused: true,
	}
	c.Sides[dissect.Server].PlainHead = []byte("220 mail ESMTP\r\n250 mail\r\n454 4.7.0 TLS not available\r\n")
	r := Diagnose(c, Options{})
	if r.Verdict != VerdictUpgradeRefused || !r.Failed || r.Cause != CauseNotTLS {
		t.Fatalf("verdict %q failed %v cause %q", r.Verdict, r.Failed, r.Cause)
	}
	if !strings.Contains(r.Detail, "454 4.7.0 TLS not available") || !strings.Contains(r.Fix, "STARTTLS") {
		t.Errorf("detail %q fix %q", r.Detail, r.Fix)
	}
}
