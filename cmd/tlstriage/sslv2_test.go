package main

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// SSL 2.0 handshakes (draft-hickman-netscape-ssl-00), built by hand: no
// stack the tests can run speaks SSL 2.0. The certificate is a real one of
// the test PKI.

// v2rec frames msg in an SSL 2.0 record with a 2-byte header.
func v2rec(msg ...[]byte) []byte {
	m := bytes.Join(msg, nil)
	return append([]byte{0x80 | byte(len(m)>>8), byte(len(m))}, m...)
}

// v2padded frames n encrypted bytes in an SSL 2.0 record with a 3-byte
// header and pad bytes of padding, as a block cipher's records are.
func v2padded(n, pad int) []byte {
	return append([]byte{byte((n + pad) >> 8), byte(n + pad), byte(pad)}, bytes.Repeat([]byte{0xe7}, n+pad)...)
}

func u16(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }

// v2ClientHello is an SSL 2.0 CLIENT-HELLO offering version (0x0002, or
// 0x0303 for the SSLv2-compatible hello of a TLS 1.2 client).
func v2ClientHello(version int) []byte {
	specs := []byte{0x07, 0x00, 0xc0, 0x01, 0x00, 0x80}
	if version != 2 {
		specs = append(specs, 0x00, 0x00, 0x2f) // TLS_RSA_WITH_AES_128_CBC_SHA
	}
	return v2rec([]byte{1}, u16(version), u16(len(specs)), u16(0), u16(16), specs, bytes.Repeat([]byte{0xc4}, 16))
}

// v2ServerHello is a SERVER-HELLO carrying cert.
func v2ServerHello(cert []byte) []byte {
	specs := []byte{0x07, 0x00, 0xc0, 0x01, 0x00, 0x80}
	return v2rec([]byte{4, 0, 1}, u16(2), u16(len(cert)), u16(len(specs)), u16(16), cert, specs, bytes.Repeat([]byte{0x1d}, 16))
}

// sslv2Capture writes a capture of the conversation whose events are
// given, after the TCP handshake.
func sslv2Capture(t *testing.T, name string, events []pcaptest.Event) string {
	t.Helper()
	pkts, err := pcaptest.Frame(&pcaptest.Conversation{Events: events}, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcap(&b, pcaptest.Ethernet.LinkType(), pkts); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, name, b.Bytes())
}

func TestSSLv2(t *testing.T) {
	p, err := pcaptest.NewPKI(pcaptest.PKIOptions{Leaf: pcaptest.LeafOptions{Key: pcaptest.RSA2048}})
	if err != nil {
		t.Fatal(err)
	}
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	data := func(d pcaptest.Dir, b []byte) pcaptest.Event {
		return pcaptest.Event{Dir: d, Kind: pcaptest.Data, Data: b, Delay: 2 * time.Millisecond}
	}
	masterKey := v2rec([]byte{2, 0x07, 0x00, 0xc0}, u16(0), u16(256), u16(8), bytes.Repeat([]byte{0x5a}, 256+8))
	fin := func(d pcaptest.Dir) pcaptest.Event {
		return pcaptest.Event{Dir: d, Kind: pcaptest.FIN, Delay: 40 * time.Millisecond}
	}
	subject := p.Leaf.Subject.String()

	for _, tt := range []struct {
		name                 string
		events               []pcaptest.Event
		code                 int
		verdict, cause       string
		version, cipher      string
		severity             string // of the obsolete_protocol finding
		chain                bool
		inFix, inCauseDetail string
	}{{
		name: "completed",
		events: []pcaptest.Event{
			data(c2s, v2ClientHello(2)), data(s2c, v2ServerHello(p.Leaf.Raw)), data(c2s, masterKey),
			data(s2c, v2padded(33, 7)), data(c2s, v2padded(33, 7)), data(s2c, v2padded(33, 7)),
			data(c2s, v2rec(bytes.Repeat([]byte{0xab}, 25))), data(s2c, v2rec(bytes.Repeat([]byte{0xba}, 328))),
			fin(s2c), fin(c2s),
		},
		code: exitOK, verdict: "ok", version: "SSL 2.0", cipher: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5", severity: "warning", chain: true,
	}, {
		// A TLS 1.2 client's SSLv2-compatible hello, answered in SSL 2.0:
		// the client hangs up.
		name: "tls client hangs up",
		events: []pcaptest.Event{
			data(c2s, v2ClientHello(0x0303)), data(s2c, v2ServerHello(p.Leaf.Raw)), fin(c2s), fin(s2c),
		},
		code: exitFailed, verdict: "client_rejected_certificate", cause: "protocol_mismatch", version: "SSL 2.0", severity: "error", chain: true,
		inFix: "disable SSL 2.0 on the server", inCauseDetail: "the server speaks SSL 2.0 only",
	}, {
		// An SSL 2.0 server with no cipher in common: ERROR NO-CIPHER-ERROR.
		name: "no cipher",
		events: []pcaptest.Event{
			data(c2s, v2ClientHello(2)), data(s2c, v2rec([]byte{0, 0, 1})), fin(s2c), fin(c2s),
		},
		code: exitFailed, verdict: "server_alert", cause: "protocol_mismatch",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			path := sslv2Capture(t, strings.ReplaceAll(tt.name, " ", "-")+".pcap", tt.events)
			r := tlstriage(t, nil, "-r", path, "--json")
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			recs := ndjson(t, r.stdout)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1:\n%s", len(recs), r.stdout)
			}
			rec := recs[0]
			for k, want := range map[string]string{"verdict": tt.verdict, "cause": tt.cause, "version": tt.version, "cipher": tt.cipher} {
				if got := str(t, rec, k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(str(t, rec, "fix"), tt.inFix) || !strings.Contains(str(t, rec, "cause_detail"), tt.inCauseDetail) {
				t.Errorf("fix %q, cause_detail %q: want %q, %q in them", str(t, rec, "fix"), str(t, rec, "cause_detail"), tt.inFix, tt.inCauseDetail)
			}
			if strings.Contains(str(t, rec, "fix"), "http://") {
				t.Errorf("fix %q: an SSL 2.0 server is no plaintext one", str(t, rec, "fix"))
			}
			chain := array(t, rec, "chain")
			if tt.chain && (len(chain) != 1 || str(t, chain[0], "subject") != subject) {
				t.Errorf("chain %v, want the leaf %q", chain, subject)
			}
			if !tt.chain && len(chain) != 0 {
				t.Errorf("chain %v, want none", chain)
			}
			var sev string
			for _, f := range array(t, rec, "findings") {
				if str(t, f, "code") == "obsolete_protocol" {
					sev = str(t, f, "severity")
				}
			}
			if sev != tt.severity {
				t.Errorf("obsolete_protocol finding severity %q, want %q", sev, tt.severity)
			}

			// The text report and the JSON one say the same.
			text := tlstriage(t, nil, "-r", path, "-v")
			for _, want := range []string{"Verdict: " + tt.verdict, tt.version} {
				if !strings.Contains(text.stdout, want) {
					t.Errorf("the text report lacks %q:\n%s", want, text.stdout)
				}
			}
		})
	}
}
