package dissect

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsdecrypt"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// keyed records a conversation with the client's key log and analyses its
// packets with that key log (or with keys, when given).
func keyed(t *testing.T, o pcaptest.TLSOptions, keys func(log []byte) KeySource) (*Conn, *pcaptest.Conversation) {
	t.Helper()
	o.KeyLog = true
	conv, err := pcaptest.Record(o)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ks KeySource
	if keys != nil {
		ks = keys(conv.KeyLog)
	} else {
		ks = parseKeyLog(t, conv.KeyLog)
	}
	var conns []*Conn
	a := NewAnalyzer(Options{Keys: ks}, func(c *Conn) { conns = append(conns, c) })
	for _, p := range pkts {
		a.Packet(p.Data, p.CI, pcaptest.Ethernet.LinkType())
	}
	a.Flush()
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	return conns[0], conv
}

func parseKeyLog(t *testing.T, b []byte) *tlsdecrypt.KeyLog {
	t.Helper()
	var k tlsdecrypt.KeyLog
	res, err := k.Parse(bytes.NewReader(b))
	if err != nil || res.Skipped != 0 || res.Secrets == 0 {
		t.Fatalf("key log %q: %+v %v", b, res, err)
	}
	return &k
}

// timeline renders the events as "side:Kind[detail]*" (* when decrypted),
// without the TCP ones.
func timeline(c *Conn) string {
	var parts []string
	for _, e := range c.Events {
		switch e.Kind {
		case EvSYN, EvFIN, EvRST:
			continue
		}
		s := e.From.String()[:1] + ":" + e.Kind.String()
		switch e.Kind {
		case EvAlert:
			s += "[" + e.Alert.Description.String() + "]"
		case EvHandshakeOther:
			s += "[" + e.Detail + "]"
		}
		if e.Decrypted {
			s += "*"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func leafName(c *Conn) string {
	if len(c.Chain) == 0 || c.Chain[0].Cert == nil {
		return ""
	}
	return c.Chain[0].Cert.Subject.CommonName
}

// TestDecryptTLS13 decrypts real crypto/tls TLS 1.3 handshakes with the
// client's key log: the server's encrypted flight gives the chain as in
// TLS 1.2, the client's records its Certificate, Finished and alerts.
func TestDecryptTLS13(t *testing.T) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	serverFlight := `s:ServerHello s:ChangeCipherSpec s:Encrypted handshake s:Handshake\[encrypted_extensions\]\* ` +
		`(s:CertificateRequest\* )?s:Certificate\* s:CertificateVerify\* s:Handshake\[finished\]\*`
	for _, tc := range []struct {
		name string
		o    pcaptest.TLSOptions
		want string // regexp of the timeline
		// what else must hold
		chain       int
		clientAlert string
		records     [2]int
	}{
		{
			name:    "ok",
			o:       pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, AppData: true, Chain: pcaptest.ChainFull},
			want:    `^c:ClientHello ` + serverFlight + ` c:ChangeCipherSpec c:Encrypted handshake c:Handshake\[finished\]\* c:Application data s:Application data s:Alert\[close_notify\]\* c:Alert\[close_notify\]\*$`,
			chain:   3,
			records: [2]int{3, 6}, // no tickets: the client has no session cache
		},
		{
			name:        "client rejects the chain",
			o:           pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), Close: pcaptest.CloseClientFirst},
			want:        `^c:ClientHello ` + serverFlight + ` c:ChangeCipherSpec c:Alert\[bad_certificate\]\*$`,
			chain:       2,
			clientAlert: "bad_certificate",
			records:     [2]int{1, 4},
		},
		{
			name:        "hostname mismatch",
			o:           pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, ServerName: "other.example.test", Close: pcaptest.CloseClientFirst},
			want:        `^c:ClientHello ` + serverFlight + ` c:ChangeCipherSpec c:Alert\[bad_certificate\]\*$`,
			chain:       2,
			clientAlert: "bad_certificate",
			records:     [2]int{1, 4},
		},
		{
			name: "client certificate required",
			o: pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, ClientAuth: tls.RequireAnyClientCert,
				NoSessionTickets: true, Close: pcaptest.CloseServerFirst},
			want:    `^c:ClientHello ` + serverFlight + ` c:ChangeCipherSpec c:Encrypted handshake c:Certificate\* c:Handshake\[finished\]\* s:Alert\[certificate_required\]\*$`,
			chain:   2,
			records: [2]int{2, 6},
		},
		{
			name: "HelloRetryRequest",
			o: pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(),
				ServerCurves: []tls.CurveID{tls.CurveP256}, Close: pcaptest.CloseClientFirst},
			want:        `^c:ClientHello s:HelloRetryRequest s:ChangeCipherSpec c:ChangeCipherSpec c:ClientHello s:ServerHello s:Encrypted handshake s:Handshake\[encrypted_extensions\]\* s:Certificate\* s:CertificateVerify\* s:Handshake\[finished\]\* c:Alert\[bad_certificate\]\*$`,
			chain:       2,
			clientAlert: "bad_certificate",
			records:     [2]int{1, 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, conv := keyed(t, tc.o, nil)
			got := timeline(c)
			if !regexp.MustCompile(tc.want).MatchString(got) {
				t.Errorf("timeline\n %s\nwant\n %s", got, tc.want)
			}
			if c.ChainHidden || len(c.Chain) != tc.chain || leafName(c) != "backend.example.test" {
				t.Errorf("chain hidden %v, %d certificates (leaf %q), want %d", c.ChainHidden, len(c.Chain), leafName(c), tc.chain)
			}
			for i, ci := range c.Chain {
				if want := pki.Chain(pcaptest.ChainFull)[i]; !bytes.Equal(ci.Raw, want) {
					t.Errorf("certificate %d is not the one the server sent", i)
				}
			}
			d := c.Decryption
			if d == nil || !d.Keys || d.Records != tc.records || d.Mismatch != [2]bool{} || d.Failed != [2]string{} {
				t.Errorf("decryption %+v, want records %v", d, tc.records)
			}
			if tc.clientAlert != "" {
				e := c.First(Client, EvAlert)
				if e == nil || e.Alert.Description.String() != tc.clientAlert || e.Alert.Level != tlsparse.AlertFatal || e.Detail != decryptedNote {
					t.Errorf("client alert %+v, want fatal %s", e, tc.clientAlert)
				}
				if conv.ClientAlert == nil {
					t.Error("the client did not reject")
				}
			}
			if tc.o.ClientAuth != 0 && (c.CertRequest == nil || !c.ClientSentCertificate || len(c.ClientChain) != 0) {
				t.Errorf("certificate request %v, client certificate sent %v with %d certificates", c.CertRequest, c.ClientSentCertificate, len(c.ClientChain))
			}
			if c.Sides[Client].Encrypted == 0 || c.Sides[Server].Encrypted == 0 {
				t.Errorf("encrypted records %d/%d", c.Sides[Client].Encrypted, c.Sides[Server].Encrypted)
			}
		})
	}
}

// TestDecryptWrongKeys: secrets that do not belong to the connection fail
// the AEAD tag check and are reported as a mismatch; nothing is guessed and
// the connection reads as without a key log. A key log without the
// connection's client random changes nothing.
func TestDecryptWrongKeys(t *testing.T) {
	o := pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), Close: pcaptest.CloseClientFirst}
	// The secrets of the right random, with every secret byte flipped.
	wrong := func(log []byte) KeySource {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
			f := strings.Fields(line)
			b := []byte(f[2])
			for i := range b {
				if b[i] == '0' {
					b[i] = '1'
				} else {
					b[i] = '0'
				}
			}
			out = append(out, f[0]+" "+f[1]+" "+string(b))
		}
		return parseKeyLog(t, []byte(strings.Join(out, "\n")))
	}
	c, _ := keyed(t, o, wrong)
	d := c.Decryption
	if d == nil || !d.Keys || d.Mismatch != [2]bool{true, true} || d.Records != [2]int{} || !strings.Contains(d.Failed[Server], "failed authentication") {
		t.Fatalf("decryption %+v, want a mismatch on both sides", d)
	}
	if !c.ChainHidden || len(c.Chain) != 0 || c.Has(Client, EvAlert) || !c.Has(Client, EvEncryptedAlert) {
		t.Errorf("with wrong keys: chain hidden %v, %d certificates, timeline %s", c.ChainHidden, len(c.Chain), timeline(c))
	}
	// Another connection's secrets.
	other := func([]byte) KeySource {
		return parseKeyLog(t, []byte("CLIENT_HANDSHAKE_TRAFFIC_SECRET "+strings.Repeat("00", 32)+" "+strings.Repeat("11", 32)))
	}
	c, _ = keyed(t, o, other)
	if d := c.Decryption; d == nil || d.Keys || d.ClientRandom != fmt.Sprintf("%x", c.ClientHello.Random) {
		t.Errorf("decryption without the connection's secrets: %+v", d)
	}
	if !c.ChainHidden || !c.Has(Client, EvEncryptedAlert) {
		t.Errorf("without the connection's secrets: timeline %s", timeline(c))
	}
}

// TestDecryptServerSecretOnly: a key log with only the server's handshake
// secret (what some tools log) reveals the chain; the client's records stay
// encrypted and the missing secret is named.
func TestDecryptServerSecretOnly(t *testing.T) {
	o := pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), Close: pcaptest.CloseClientFirst}
	serverOnly := func(log []byte) KeySource {
		var keep []string
		for _, line := range strings.Split(string(log), "\n") {
			if strings.HasPrefix(line, tlsdecrypt.LabelServerHandshakeTraffic+" ") {
				keep = append(keep, line)
			}
		}
		return parseKeyLog(t, []byte(strings.Join(keep, "\n")))
	}
	c, _ := keyed(t, o, serverOnly)
	d := c.Decryption
	if c.ChainHidden || len(c.Chain) != 2 || d == nil || d.Records != [2]int{0, 4} ||
		len(d.Missing) != 2 || d.Missing[0] != tlsdecrypt.LabelServerTraffic0 && d.Missing[0] != tlsdecrypt.LabelClientHandshakeTraffic {
		t.Errorf("chain hidden %v, %d certificates, decryption %+v", c.ChainHidden, len(c.Chain), d)
	}
	if !c.Has(Client, EvEncryptedAlert) {
		t.Errorf("the client's alert should stay encrypted: %s", timeline(c))
	}
}

// TestDecryptTLS12 decrypts real crypto/tls TLS 1.2 handshakes of each kind
// of suite with the CLIENT_RANDOM master secret: both Finished and the
// close_notify alerts after the ChangeCipherSpec.
func TestDecryptTLS12(t *testing.T) {
	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	} {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			o := pcaptest.TLSOptions{MaxVersion: tls.VersionTLS12, ClientCipherSuites: []uint16{suite}, ServerCipherSuites: []uint16{suite},
				CloseNotify: true, Close: pcaptest.CloseClientFirst}
			c, _ := keyed(t, o, nil)
			if uint16(c.ServerHello.CipherSuite) != suite {
				t.Fatalf("negotiated %v", c.ServerHello.CipherSuite)
			}
			want := `^c:ClientHello s:ServerHello s:Certificate s:ServerKeyExchange s:ServerHelloDone c:ClientKeyExchange c:ChangeCipherSpec c:Encrypted handshake c:Handshake[finished]* s:ChangeCipherSpec s:Encrypted handshake s:Handshake[finished]* c:Alert[close_notify]* s:Alert[close_notify]*$`
			if got := timeline(c); got != want[1:len(want)-1] {
				t.Errorf("timeline\n %s\nwant\n %s", got, want)
			}
			if d := c.Decryption; d == nil || d.Records != [2]int{2, 2} || d.Failed != [2]string{} {
				t.Errorf("decryption %+v", d)
			}
		})
	}
}

// keyedRejection is a recorded TLS 1.3 handshake whose client rejects the
// chain, with the client's key log.
var keyedRejection = sync.OnceValues(func() (*pcaptest.Conversation, error) {
	return pcaptest.Record(pcaptest.TLSOptions{MaxVersion: tls.VersionTLS13, ClientRoots: x509.NewCertPool(), KeyLog: true})
})

// TestDecryptSegmentation decrypts the same handshake cut into segments of
// every size: record bodies are kept across segments.
func TestDecryptSegmentation(t *testing.T) {
	conv, err := keyedRejection()
	if err != nil {
		t.Fatal(err)
	}
	keys := parseKeyLog(t, conv.KeyLog)
	var want string
	for _, cut := range []func(int, []byte) [][]byte{whole, sizes(1), sizes(3, 700, 5), sizes(1400)} {
		conns, _ := analyze(t, Options{Keys: keys}, stream{cut: cut}.segments(conv))
		c := only(t, conns)
		got := timeline(c)
		if want == "" {
			want = got
		}
		if got != want || len(c.Chain) != 2 || c.Decryption.Records != [2]int{1, 4} || !strings.Contains(got, "c:Alert[bad_certificate]*") {
			t.Errorf("timeline %s, %d certificates, decryption %+v; want\n %s", got, len(c.Chain), c.Decryption, want)
		}
	}
}

// FuzzDecrypt replaces the server's encrypted flight of a real handshake
// with arbitrary bytes, with the key log of the real one: never a panic,
// never a certificate that was not decrypted, and any failure is reported.
func FuzzDecrypt(f *testing.F) {
	conv, err := keyedRejection()
	if err != nil {
		f.Fatal(err)
	}
	server := conv.Bytes(pcaptest.ServerToClient)
	h, err := tlsparse.ReadRecordHeader(server)
	if err != nil {
		f.Fatal(err)
	}
	hello := server[:tlsparse.RecordHeaderLen+h.Length] // the ServerHello record
	f.Add(server[len(hello):])
	f.Add([]byte{0x17, 0x03, 0x03, 0x00, 0x11, 1, 2, 3})
	f.Add(append([]byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01}, server[len(hello)+6:]...))
	var k tlsdecrypt.KeyLog
	if _, err := k.Parse(bytes.NewReader(conv.KeyLog)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rest []byte) {
		fc := &pcaptest.Conversation{Events: []pcaptest.Event{
			{Dir: pcaptest.ClientToServer, Data: conv.Bytes(pcaptest.ClientToServer)},
			{Dir: pcaptest.ServerToClient, Data: append(bytes.Clone(hello), rest...)},
		}}
		conns, _ := analyze(t, Options{Keys: &k}, stream{cut: sizes(1000)}.segments(fc))
		for _, c := range conns {
			d := c.Decryption
			if len(c.Chain) > 0 && (d == nil || d.Records[Server] == 0) {
				t.Fatalf("a chain without a decrypted server record: %+v", d)
			}
			if d != nil && d.Mismatch[Server] && d.Records[Server] != 0 {
				t.Fatalf("a mismatch after records were decrypted: %+v", d)
			}
			for _, e := range c.Events {
				if e.Decrypted && (d == nil || d.Records[e.From] == 0) {
					t.Fatalf("a decrypted event without a decrypted record: %+v", e)
				}
			}
		}
	})
}
