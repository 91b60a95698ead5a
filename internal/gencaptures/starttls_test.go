package main

import (
	"bytes"
	"slices"
	"testing"

	"github.com/tlstriage/tlstriage/diagnose"
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
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	smtp := []pcaptest.Event{
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("220 mail.example.test ESMTP\r\n")},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("EHLO proxy.example.test\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("250-mail.example.test\r\n250 STARTTLS\r\n")},
		{Dir: c2s, Kind: pcaptest.Data, Data: []byte("STARTTLS\r\n")},
		{Dir: s2c, Kind: pcaptest.Data, Data: []byte("220 2.0.0 Ready to start TLS\r\n")},
	}
	conv.Events = slices.Concat(smtp, conv.Events)
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.Ethernet.LinkType(), pkts); err != nil {
		t.Fatal(err)
	}
	cs := conns(t, "smtp-starttls-expired.pcap", buf.Bytes())
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
