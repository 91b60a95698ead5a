package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestSTARTTLSExpired: a mail client's STARTTLS handshake that fails on an
// expired certificate shows the SMTP upgrade, the chain and the cause, as
// for TLS on its own port.
func TestSTARTTLSExpired(t *testing.T) {
	p := newPipeline(t)
	e := p.env
	o := e.java(pcaptest.AlertCertificateExpired)
	o.PKI = e.leaf(pcaptest.LeafOptions{NotBefore: e.pki.Now.AddDate(-1, 0, 0), NotAfter: e.pki.Now.AddDate(0, 0, -3)})
	conv, err := pcaptest.Record(o)
	if err != nil {
		t.Fatal(err)
	}
	smtpSession(conv, "250-mail.example.test\r\n250 STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n")
	cs := framedConns(t, "smtp-starttls-expired.pcap", conv, pcaptest.FrameOptions{})
	if len(cs) != 1 {
		t.Fatalf("%d connections", len(cs))
	}
	c := cs[0]
	r := diagnose.Diagnose(c, diagnose.Options{Trust: p.stores[trustRoot]})
	if c.Upgrade != "smtp" || r.Verdict != diagnose.VerdictClientRejectedCertificate || r.Cause != diagnose.CauseExpired {
		t.Errorf("upgrade %q, verdict %q, cause %q (%s)", c.Upgrade, r.Verdict, r.Cause, r.CauseDetail)
	}
	if r.Chain == nil || len(r.Chain.Certs) == 0 || r.Alert == nil || r.Alert.Description != "certificate_expired" {
		t.Errorf("chain %v, alert %v", r.Chain != nil, r.Alert)
	}
}

// TestConnectRefused: an HTTP proxy that refuses the client's CONNECT (a
// 502 here) is an upgrade refused, reported without --all (the command
// reports every UpgradeRefused connection), quoting the request line and
// the proxy's status line.
func TestConnectRefused(t *testing.T) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	conv := &pcaptest.Conversation{Events: []pcaptest.Event{
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("CONNECT backend.example.test:443 HTTP/1.1\r\nHost: backend.example.test:443\r\nUser-Agent: curl/8.5.0\r\n\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\nproxy error\r\n")},
		{Dir: s2c, Kind: pcaptest.FIN},
		{Dir: c2s, Kind: pcaptest.FIN},
	}}
	cs := framedConns(t, "connect-refused.pcap", conv, pcaptest.FrameOptions{Server: netip.MustParseAddrPort("10.0.0.2:3128")})
	if len(cs) != 1 || !cs[0].UpgradeRefused || cs[0].Upgrade != "http-connect" {
		t.Fatalf("%d connections, %+v", len(cs), cs)
	}
	r := diagnose.Diagnose(cs[0], diagnose.Options{})
	if r.Verdict != diagnose.VerdictUpgradeRefused || !r.Failed || r.Cause != diagnose.CauseNotTLS ||
		!strings.Contains(r.Detail, `"CONNECT backend.example.test:443 HTTP/1.1"`) || !strings.Contains(r.Detail, `"HTTP/1.1 502 Bad Gateway"`) || !strings.Contains(r.Fix, "10.0.0.2:3128") {
		t.Errorf("%s/%s failed %v: %s; fix %s", r.Verdict, r.Cause, r.Failed, r.Detail, r.Fix)
	}
}

// TestSTARTTLSIgnoredRefusal: the server refuses STARTTLS (454), the client
// sends its ClientHello anyway, and the server answers it in plaintext:
// not_tls, with the STARTTLS fix, not "the server closed".
func TestSTARTTLSIgnoredRefusal(t *testing.T) {
	p := newPipeline(t)
	conv, err := pcaptest.Record(pcaptest.TLSOptions{Kind: pcaptest.NotTLS, PKI: p.env.pki})
	if err != nil {
		t.Fatal(err)
	}
	smtpSession(conv, "250 mail.example.test\r\n", "454 4.7.0 TLS not available\r\n")
	cs := framedConns(t, "smtp-refused-ignored.pcap", conv, pcaptest.FrameOptions{Server: netip.MustParseAddrPort("10.0.0.2:25")})
	if len(cs) != 1 {
		t.Fatalf("%d connections", len(cs))
	}
	r := diagnose.Diagnose(cs[0], diagnose.Options{})
	if cs[0].Upgrade != "smtp" || r.Verdict != diagnose.VerdictNotTLS || r.Cause != diagnose.CauseNotTLS || !strings.Contains(r.Fix, "enable STARTTLS (smtp)") {
		t.Errorf("upgrade %q: %s/%s: %s; fix %s", cs[0].Upgrade, r.Verdict, r.Cause, r.Detail, r.Fix)
	}
}

// TestSTARTTLSHiddenChainFix: a TLS 1.3 rejection inside SMTP hides the
// chain; the fix offers the caller's command to fetch it, for the SMTP
// connection (cmd/tlstriage's fetchChainCommand speaks STARTTLS there).
func TestSTARTTLSHiddenChainFix(t *testing.T) {
	p := newPipeline(t)
	o := p.env.java(pcaptest.AlertCertificateUnknown)
	o.MaxVersion = tls.VersionTLS13
	o.ClientRoots = x509.NewCertPool() // trusts nothing: rejects the chain
	conv, err := pcaptest.Record(o)
	if err != nil {
		t.Fatal(err)
	}
	smtpSession(conv, "250-mail.example.test\r\n250 STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n")
	cs := framedConns(t, "smtp-tls13-rejected.pcap", conv, pcaptest.FrameOptions{Server: netip.MustParseAddrPort("10.0.0.2:25")})
	fetch := func(c *dissect.Conn) string { return "fetch " + string(c.Upgrade) + " " + c.Server.String() }
	r := diagnose.Diagnose(cs[0], diagnose.Options{ProbeCommand: fetch})
	if !cs[0].ChainHidden || !r.Failed || !strings.Contains(r.Fix, "`fetch smtp 10.0.0.2:25`") {
		t.Errorf("hidden %v, %s: fix %s", cs[0].ChainHidden, r.Verdict, r.Fix)
	}
}

// smtpSession puts an SMTP dialogue before conv: the greeting, EHLO, the
// server's capabilities (caps), STARTTLS and the server's reply to it.
func smtpSession(conv *pcaptest.Conversation, caps, reply string) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	smtp := []pcaptest.Event{
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("220 mail.example.test ESMTP\r\n")},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("EHLO proxy.example.test\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte(caps)},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("STARTTLS\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte(reply)},
	}
	conv.Events = slices.Concat(smtp, conv.Events)
}

// framedConns frames conv with fo, writes it as the pcap name and returns
// the connections dissect makes of it.
func framedConns(t *testing.T, name string, conv *pcaptest.Conversation, fo pcaptest.FrameOptions) []*dissect.Conn {
	t.Helper()
	pkts, err := pcaptest.Frame(conv, fo)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.Ethernet.LinkType(), pkts); err != nil {
		t.Fatal(err)
	}
	return conns(t, name, buf.Bytes())
}
