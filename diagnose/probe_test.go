package diagnose_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// probeConn is what tlstriage probe hands to Probe: the chain the server
// sent, the SNI, no wire events.
func probeConn(chain [][]byte, sni string) *dissect.Conn {
	certs := dissect.NewCertCache(0)
	c := &dissect.Conn{ID: 1, Server: netip.MustParseAddrPort("127.0.0.1:8443"), TLS: true,
		ClientHello: &tlsparse.ClientHello{ServerName: sni},
		ServerHello: &tlsparse.ServerHello{SupportedVersion: tlsparse.VersionTLS13, CipherSuite: 0x1301}}
	for _, der := range chain {
		c.Chain = append(c.Chain, certs.Get(der))
	}
	return c
}

// TestProbe judges fetched chains as a client with a truststore would,
// with the causes a capture of the rejection gives.
func TestProbe(t *testing.T) {
	p := getPKI(t)
	expired, err := p.pki.WithLeaf(pcaptest.LeafOptions{NotBefore: p.pki.Now.AddDate(-1, 0, 0), NotAfter: p.pki.Now.AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		chain   [][]byte
		o       diagnose.Options
		sni     string
		at      time.Time
		verdict diagnose.Verdict
		cause   diagnose.Cause
	}{
		{"trusted", p.pki.Chain(pcaptest.ChainLeafIntermediate), diagnose.Options{Trust: store(p.pki.Root)}, "backend.example.test", p.pki.Now, "ok", ""},
		{"missing root", p.pki.Chain(pcaptest.ChainLeafIntermediate), diagnose.Options{Trust: store(p.other)}, "backend.example.test", p.pki.Now, "client_rejected_certificate", "truststore_missing_root"},
		{"leaf only", p.pki.Chain(pcaptest.ChainLeafOnly), diagnose.Options{Trust: store(p.pki.Root)}, "backend.example.test", p.pki.Now, "client_rejected_certificate", "incomplete_chain"},
		{"name from --host", p.pki.Chain(pcaptest.ChainLeafIntermediate), diagnose.Options{Trust: store(p.pki.Root), Host: "api.example.test"}, "backend.example.test", p.pki.Now, "client_rejected_certificate", "hostname_mismatch"},
		{"expired at the probe's time", expired.Chain(pcaptest.ChainLeafIntermediate), diagnose.Options{Trust: store(p.pki.Root)}, "backend.example.test", p.pki.Now, "client_rejected_certificate", "expired"},
		{"valid then, not later", p.pki.Chain(pcaptest.ChainLeafIntermediate), diagnose.Options{Trust: store(p.pki.Root)}, "backend.example.test", p.pki.Now.AddDate(1, 0, 0), "client_rejected_certificate", "expired"},
		{"no certificate", nil, diagnose.Options{Trust: store(p.pki.Root)}, "backend.example.test", p.pki.Now, "client_rejected_certificate", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := diagnose.Probe(probeConn(tc.chain, tc.sni), tc.o, tc.at)
			if r.Verdict != tc.verdict || r.Cause != tc.cause || r.Failed != (tc.cause != "") {
				t.Errorf("verdict %q cause %q failed %v, want %q %q\n  %s\n  %s", r.Verdict, r.Cause, r.Failed, tc.verdict, tc.cause, r.Detail, r.CauseDetail)
			}
			if !strings.HasPrefix(r.Detail, "probe of 127.0.0.1:8443 (SNI "+tc.sni+")") {
				t.Errorf("detail %q", r.Detail)
			}
			if tc.chain != nil && (r.Chain == nil || !r.Chain.At.Equal(tc.at) || len(r.Chain.Certs) != len(tc.chain)) {
				t.Errorf("chain report %+v", r.Chain)
			}
			if r.Failed && r.Fix == "" {
				t.Error("a rejection without a fix")
			}
		})
	}
}
