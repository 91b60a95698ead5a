package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// trust names the truststore a generated client had: a file of pki/.
type trust string

// Truststores of the generated clients. The first two are written to pki/
// with the captures; the others exist only for the scenarios of testOnly.
const (
	trustRoot         trust = "pki/truststore-root.pem"         // tlstriage Test Root CA
	trustOther        trust = "pki/truststore-other.pem"        // Other Root CA only
	trustLookalike    trust = "pki/truststore-lookalike.pem"    // a root named tlstriage Test Root CA, with another key
	trustIntermediate trust = "pki/truststore-intermediate.pem" // tlstriage Test Issuing CA 1 only
)

// expect is what tlstriage must report for one connection of a capture when
// it is given the truststore the client had (and host as --host).
type expect struct {
	verdict string
	cause   string // "" when the handshake did not fail
	trust   trust
	host    string // --host, "" for none (the SNI is checked)
}

// capture is one generated file.
type capture struct {
	file string
	how  string // how generated, beyond "pcaptest"
	what string // what it demonstrates
	// conns are the expected diagnoses, one per connection in order of
	// first packet.
	conns []expect
	note  string // says more about the expected cause in the README
	write func(w io.Writer) error
}

// one is the expectation of a capture of one connection.
func one(verdict, cause string, t trust) []expect {
	return []expect{{verdict: verdict, cause: cause, trust: t}}
}

// env is the PKI shared by all captures of one run.
type env struct {
	pki       *pcaptest.PKI
	other     *x509.Certificate
	lookalike *x509.Certificate // same subject as pki.Root, another key
	trustOK   *x509.CertPool
	trustBad  *x509.CertPool
}

const ms = time.Millisecond

// Verdicts the expectations use (values of package diagnose).
const (
	okVerdict = "ok"
	rejected  = "client_rejected_certificate"
	aborted   = "client_aborted_after_server_flight"
)

func newEnv() (*env, error) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{
		CAKey:           pcaptest.RSA2048,
		IntermediateAIA: "http://pki.example.test/root.crt",
		Leaf:            pcaptest.LeafOptions{AIA: "http://pki.example.test/issuing-ca-1.crt"},
	})
	if err != nil {
		return nil, err
	}
	other, _, err := pcaptest.NewOtherRoot(pki.Now)
	if err != nil {
		return nil, err
	}
	// Same names, other keys: what a client has when the CA was re-keyed,
	// or when it trusts the test PKI of another environment.
	twin, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: pki.Now})
	if err != nil {
		return nil, err
	}
	return &env{pki: pki, other: other, lookalike: twin.Root, trustOK: pki.RootPool(), trustBad: pcaptest.PoolOf(other)}, nil
}

// trustCerts returns the certificates of truststore t.
func (e *env) trustCerts(t trust) []*x509.Certificate {
	switch t {
	case trustRoot:
		return []*x509.Certificate{e.pki.Root}
	case trustOther:
		return []*x509.Certificate{e.other}
	case trustLookalike:
		return []*x509.Certificate{e.lookalike}
	case trustIntermediate:
		return []*x509.Certificate{e.pki.Intermediate}
	}
	panic("gencaptures: unknown truststore " + string(t))
}

// writePKI writes the PKI of the captures to dir/pki; testOnly adds the
// truststores only the scenarios of testOnly use.
func (e *env) writePKI(dir string, testOnly bool) error {
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"root.pem":         pcaptest.PEM(e.pki.Root),
		"intermediate.pem": pcaptest.PEM(e.pki.Intermediate),
		"other-root.pem":   pcaptest.PEM(e.other),
		"leaf.pem":         pcaptest.PEM(e.pki.Leaf),
	}
	stores := []trust{trustRoot, trustOther}
	if testOnly {
		stores = append(stores, trustLookalike, trustIntermediate)
	}
	for _, t := range stores {
		files[filepath.Base(string(t))] = pcaptest.PEM(e.trustCerts(t)...)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, "pki", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func generate(dir string, log io.Writer) error {
	e, err := newEnv()
	if err != nil {
		return err
	}
	if err := e.writePKI(dir, false); err != nil {
		return err
	}
	caps := e.captures()
	total := 0
	for _, c := range caps {
		var buf bytes.Buffer
		if err := c.write(&buf); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.file), buf.Bytes(), 0o644); err != nil {
			return err
		}
		total += buf.Len()
		fmt.Fprintf(log, "%-45s %7d bytes\n", c.file, buf.Len())
	}
	fmt.Fprintf(log, "total %d bytes\n", total)
	return os.WriteFile(filepath.Join(dir, "README.md"), readme(caps), 0o644)
}

// java returns TLS 1.2 options for a Java 17-style client: it rejects with a
// plaintext alert, the server closes, then the client.
func (e *env) java(alert uint8) pcaptest.TLSOptions {
	return pcaptest.TLSOptions{
		PKI:         e.pki,
		MaxVersion:  tls.VersionTLS12,
		ClientRoots: e.trustOK,
		OnReject:    pcaptest.ReplaceAlert,
		RejectAlert: alert,
		Close:       pcaptest.CloseJava,
		Timing:      pcaptest.Timing{ClientReject: 4100 * time.Microsecond},
	}
}

func (e *env) ok(version uint16) pcaptest.TLSOptions {
	return pcaptest.TLSOptions{PKI: e.pki, MaxVersion: version, ClientRoots: e.trustOK, AppData: true, ALPN: []string{"http/1.1"}, Close: pcaptest.CloseClientFirst}
}

func (e *env) playbook() pcaptest.TLSOptions {
	return pcaptest.TLSOptions{PKI: e.pki, MaxVersion: tls.VersionTLS12, ClientRoots: e.trustBad, OnReject: pcaptest.DropAlert, Close: pcaptest.ClosePlaybook}
}

func (e *env) leaf(o pcaptest.LeafOptions) *pcaptest.PKI {
	p, err := e.pki.WithLeaf(o)
	if err != nil {
		panic(err)
	}
	return p
}

func pcap(s pcaptest.Scenario) func(io.Writer) error { return pcapWant(s, "") }

// pcapWant is pcap, and it checks that the client's or server's handshake
// error contains want, so a capture cannot silently show the wrong failure.
func pcapWant(s pcaptest.Scenario, want string) func(io.Writer) error {
	return func(w io.Writer) error {
		conv, err := s.Conversation()
		if err != nil {
			return err
		}
		if want != "" {
			got := fmt.Sprint(conv.ClientErr, " / ", conv.ServerErr)
			if !strings.Contains(got, want) {
				return fmt.Errorf("handshake errors %q do not contain %q", got, want)
			}
		}
		pkts, err := pcaptest.Frame(conv, s.Frame)
		if err != nil {
			return err
		}
		return pcaptest.WritePcap(w, s.Frame.Link.LinkType(), pkts)
	}
}

func (e *env) captures() []capture {
	java := e.java
	missingRoot := java(pcaptest.AlertCertificateUnknown)
	missingRoot.ClientRoots = e.trustBad
	okRoot := one(okVerdict, "", trustRoot)
	missingRootWant := one(rejected, "truststore_missing_root", trustOther)

	caps := []capture{
		{file: "tls12-ok.pcap", what: "TLS 1.2 handshake, HTTP request/response, close_notify both ways, client FIN then server FIN",
			conns: okRoot, write: pcap(pcaptest.Scenario{TLS: e.ok(tls.VersionTLS12)})},
		{file: "tls13-ok.pcap", what: "TLS 1.3 handshake (encrypted Certificate), HTTP exchange, close_notify, FINs",
			conns: okRoot, write: pcap(pcaptest.Scenario{TLS: e.ok(tls.VersionTLS13)})},
		{file: "tls12-playbook-fin-rst-after-cert.pcap", what: "THE playbook: client trusts only Other Root CA; right after ServerHello+Certificate+ServerKeyExchange+ServerHelloDone it sends FIN,ACK then RST,ACK, no alert",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: e.playbook()})},
		{file: "tls12-playbook-fin-rst-after-cert.pcap.gz", how: "gzip of the scenario above (new handshake)", what: "gzip-compressed pcap input",
			conns: missingRootWant, write: func(w io.Writer) error {
				return pcaptest.Gzip(w, pcap(pcaptest.Scenario{TLS: e.playbook()}))
			}},
		{file: "tls12-alert-bad-certificate.pcap", what: "Go crypto/tls client rejects (unknown authority) with its real alert bad_certificate(42), then client FIN, server FIN",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: func() pcaptest.TLSOptions {
				o := e.playbook()
				o.OnReject, o.Close = pcaptest.KeepAlert, pcaptest.CloseClientFirst
				return o
			}()})},
		{file: "tls12-alert-unknown-ca.pcap", what: "OpenSSL/curl-style rejection: alert unknown_ca(48), server FIN, client RST,ACK",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: func() pcaptest.TLSOptions {
				o := e.playbook()
				o.OnReject, o.RejectAlert, o.Close = pcaptest.ReplaceAlert, pcaptest.AlertUnknownCA, pcaptest.CloseCurl
				return o
			}()})},
		{file: "tls12-alert-certificate-unknown.pcap", what: "Java 17-style rejection: alert certificate_unknown(46), server FIN, client FIN, no RST",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: missingRoot})},
		{file: "tls12-server-handshake-failure.pcap", what: "client offers only TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, server accepts only ECDSA GCM suites: server alert handshake_failure(40) after ClientHello",
			conns: one("server_alert", "protocol_mismatch", trustRoot), write: pcap(pcaptest.Scenario{TLS: pcaptest.TLSOptions{
				PKI: e.pki, MaxVersion: tls.VersionTLS12, ClientRoots: e.trustOK,
				ClientCipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
				ServerCipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
				Close:              pcaptest.CloseServerFirst}})},
		{file: "tls13-client-abort.pcap", what: "TLS 1.3 Go client rejects (unknown authority): CCS + encrypted alert (code not visible), client FIN, server FIN",
			conns: one(aborted, "unknown", trustOther), note: "TLS 1.3: Certificate and alert are encrypted",
			write: pcap(pcaptest.Scenario{TLS: func() pcaptest.TLSOptions {
				o := e.playbook()
				o.MaxVersion, o.OnReject, o.Close = tls.VersionTLS13, pcaptest.KeepAlert, pcaptest.CloseClientFirst
				return o
			}()})},
		{file: "not-tls.pcap", what: "server answers the ClientHello with `HTTP/1.1 400 Bad Request` and FIN; client sends alert unexpected_message(10); server RST (no ACK)",
			conns: one("not_tls", "not_tls", trustRoot), write: pcap(pcaptest.Scenario{TLS: pcaptest.TLSOptions{
				Kind: pcaptest.NotTLS, PKI: e.pki, MaxVersion: tls.VersionTLS12,
				Close: []pcaptest.Event{
					{Dir: pcaptest.ServerToClient, Kind: pcaptest.FIN, Delay: 60 * time.Microsecond},
					{Dir: pcaptest.ClientToServer, Kind: pcaptest.Data, Data: pcaptest.AlertRecord(pcaptest.AlertUnexpectedMessage), Delay: 8900 * time.Microsecond},
					{Dir: pcaptest.ServerToClient, Kind: pcaptest.RST, NoAck: true, Delay: 110 * time.Microsecond},
				}}})},
		{file: "no-server-response.pcap", what: "ClientHello acknowledged but never answered; the client resets after a 10 s read timeout",
			conns: one("no_server_response", "unknown", trustRoot), note: "no server message to judge",
			write: pcap(pcaptest.Scenario{TLS: pcaptest.TLSOptions{
				Kind: pcaptest.NoServerResponse, PKI: e.pki, MaxVersion: tls.VersionTLS12,
				Close: []pcaptest.Event{{Dir: pcaptest.ClientToServer, Kind: pcaptest.RST, Delay: 10 * time.Second}}}})},
		{file: "midstream.pcap", how: "FrameOptions.MidStream=2", what: "capture starts at the ServerHello: no SYNs, no ClientHello; then a successful TLS 1.2 session",
			conns: one("incomplete", "", trustRoot), note: "not a failure: the capture lacks the start",
			write: pcap(pcaptest.Scenario{TLS: e.ok(tls.VersionTLS12), Frame: pcaptest.FrameOptions{MidStream: 2}})},
		{file: "reordered-retransmitted.pcap", how: "FrameOptions.Reorder+Retransmit, full chain, MSS 960 (3 server segments)", what: "server flight segments 2 and 3 swapped, segment 1 retransmitted, an overlapping partial retransmission; Java-style certificate_unknown rejection",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: func() pcaptest.TLSOptions {
				o := missingRoot
				o.Chain = pcaptest.ChainFull
				return o
			}(), Frame: pcaptest.FrameOptions{Reorder: true, Retransmit: true, MSS: 960}})},
		{file: "cert-split-records.pcap", how: "FrameOptions.RecordSize=100, MSS 536", what: "server flight re-framed into 100-byte handshake records: the Certificate spans many records and segments; Java-style rejection",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: missingRoot, Frame: pcaptest.FrameOptions{RecordSize: 100, MSS: 536}})},
		{file: "lost-segment.pcap", how: "FrameOptions.Drop=2, full chain, MSS 960", what: "the 2nd server segment (middle of the Certificate) is missing from the capture (the client ACKs cover it): a gap; Java-style certificate_unknown alert still visible",
			conns: one(rejected, "unknown", trustOther), note: "Certificate not reassembled",
			write: pcap(pcaptest.Scenario{TLS: func() pcaptest.TLSOptions {
				o := missingRoot
				o.Chain = pcaptest.ChainFull
				return o
			}(), Frame: pcaptest.FrameOptions{Drop: 2, MSS: 960}})},
		{file: "ipv6.pcap", what: "the playbook over IPv6 ([2001:db8::1]:43210 -> [2001:db8::2]:443)",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: e.playbook(), Frame: pcaptest.FrameOptions{IPv6: true}})},
		{file: "vlan.pcap", what: "Java-style missing-root rejection, Ethernet with 802.1Q VLAN 100",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: missingRoot, Frame: pcaptest.FrameOptions{Link: pcaptest.EthernetVLAN}})},
		{file: "qinq.pcap", what: "TLS 1.2 ok, Ethernet with 802.1ad S-tag 200 and 802.1Q C-tag 100",
			conns: okRoot, write: pcap(pcaptest.Scenario{TLS: e.ok(tls.VersionTLS12), Frame: pcaptest.FrameOptions{Link: pcaptest.EthernetQinQ}})},
		{file: "sll2-any.pcap", what: "the playbook, Linux cooked v2 (`tcpdump -i any`), captured on the client host",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: e.playbook(), Frame: pcaptest.FrameOptions{Link: pcaptest.LinuxSLL2}})},
		{file: "sll.pcap", what: "Java-style missing-root rejection, Linux cooked v1",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: missingRoot, Frame: pcaptest.FrameOptions{Link: pcaptest.LinuxSLL}})},
		{file: "rawip.pcap", what: "TLS 1.3 ok, raw IP (LINKTYPE_RAW 101)",
			conns: okRoot, write: pcap(pcaptest.Scenario{TLS: e.ok(tls.VersionTLS13), Frame: pcaptest.FrameOptions{Link: pcaptest.RawIP}})},
		{file: "null-loopback.pcap", what: "the playbook, BSD loopback (LINKTYPE_NULL, AF_INET little-endian)",
			conns: missingRootWant, write: pcap(pcaptest.Scenario{TLS: e.playbook(), Frame: pcaptest.FrameOptions{Link: pcaptest.Null}})},
		{file: "nanosecond-bigendian.pcap", how: "WritePcapOptions{Nanosecond, BigEndian}", what: "TLS 1.2 ok in a big-endian, nanosecond-resolution pcap (magic a1 b2 3c 4d)",
			conns: okRoot, write: func(w io.Writer) error {
				pkts, err := pcaptest.Scenario{TLS: e.ok(tls.VersionTLS12), Frame: pcaptest.FrameOptions{Start: pcaptest.DefaultStart.Add(123456789)}}.Packets()
				if err != nil {
					return err
				}
				return pcaptest.WritePcapOptions(w, layers.LinkTypeEthernet, pkts, pcaptest.PcapOptions{Nanosecond: true, BigEndian: true})
			}},
		{file: "two-interfaces.pcapng", how: "WritePcapng, 2 interfaces", what: "pcapng: eth0 (Ethernet) carries a TLS 1.2 ok connection, any (Linux SLL2) carries the playbook to 10.0.0.3:8443",
			conns: []expect{okRoot[0], missingRootWant[0]}, write: func(w io.Writer) error {
				a, err := pcaptest.Scenario{TLS: e.ok(tls.VersionTLS12)}.Packets()
				if err != nil {
					return err
				}
				b, err := pcaptest.Scenario{TLS: e.playbook(), Frame: pcaptest.FrameOptions{Link: pcaptest.LinuxSLL2, Client: netip.MustParseAddrPort("10.0.0.1:43310"), Server: netip.MustParseAddrPort("10.0.0.3:8443"), Start: pcaptest.DefaultStart.Add(7 * ms)}}.Packets()
				if err != nil {
					return err
				}
				return pcaptest.WritePcapng(w, []pcaptest.Interface{{Name: "eth0", LinkType: layers.LinkTypeEthernet, Packets: a}, {Name: "any", LinkType: layers.LinkTypeLinuxSLL2, Packets: b}})
			}},
	}
	caps = append(caps, e.causes()...)
	caps = append(caps, e.many())
	return caps
}

// causes returns one TLS 1.2 Java-style capture per diagnosis cause.
func (e *env) causes() []capture {
	var out []capture
	add := func(file, what, cause string, t trust, o pcaptest.TLSOptions, wantErr string) {
		out = append(out, capture{file: file, what: what, conns: one(rejected, cause, t), write: pcapWant(pcaptest.Scenario{TLS: o}, wantErr)})
	}
	o := e.java(pcaptest.AlertCertificateUnknown)
	o.Chain, o.ClientRoots = pcaptest.ChainFull, e.trustBad
	add("cause-missing-root.pcap", "server sends leaf+intermediate+root; the client trusts only Other Root CA; Java alert certificate_unknown, server FIN, client FIN",
		"truststore_missing_root", trustOther, o, "unknown authority")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.Chain = pcaptest.ChainLeafOnly
	add("incomplete-chain.pcap", "server sends the leaf only; the client trusts the root but never gets the intermediate",
		"incomplete_chain", trustRoot, o, "unknown authority")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.PKI = e.leaf(pcaptest.LeafOptions{DNSNames: []string{"other.example.test"}})
	add("hostname-mismatch.pcap", "SNI backend.example.test, certificate for other.example.test only",
		"hostname_mismatch", trustRoot, o, "not backend.example.test")

	o = e.java(pcaptest.AlertCertificateExpired)
	o.PKI = e.leaf(pcaptest.LeafOptions{NotBefore: e.pki.Now.AddDate(-1, 0, 0), NotAfter: e.pki.Now.AddDate(0, 0, -3)})
	add("expired.pcap", "leaf expired 3 days before the capture (2026-02-27); Java alert certificate_expired(45)",
		"expired", trustRoot, o, "has expired")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.PKI = e.leaf(pcaptest.LeafOptions{NotBefore: e.pki.Now.AddDate(0, 0, 2), NotAfter: e.pki.Now.AddDate(0, 3, 0)})
	add("not-yet-valid.pcap", "leaf valid only from 2026-03-04 (2 days after the capture); Java alert certificate_unknown",
		"not_yet_valid", trustRoot, o, "is not yet valid")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.PKI = e.leaf(pcaptest.LeafOptions{SelfSigned: true})
	add("self-signed.pcap", "server sends a self-signed leaf for backend.example.test",
		"self_signed", trustRoot, o, "unknown authority")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.PKI = e.leaf(pcaptest.LeafOptions{Key: pcaptest.RSA1024})
	o.ClientCheck = func(chains [][]*x509.Certificate) error {
		if k, ok := chains[0][0].PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is below policy", k.N.BitLen())
		}
		return nil
	}
	add("weak-key.pcap", "leaf has an RSA 1024-bit key; the client's policy requires 2048 (Java-style certificate_unknown)",
		"weak_certificate", trustRoot, o, "below policy")

	out = append(out, capture{file: "client-cert-required.pcap", what: "server requires a client certificate (crypto/tls RequireAnyClientCert); client sends an empty Certificate; crypto/tls server alert handshake_failure(40); server FIN, client FIN",
		conns: one("client_cert_rejected", "client_cert_required", trustRoot), write: pcapWant(pcaptest.Scenario{TLS: pcaptest.TLSOptions{
			PKI: e.pki, MaxVersion: tls.VersionTLS12, ClientRoots: e.trustOK, ClientAuth: tls.RequireAnyClientCert, Close: pcaptest.CloseServerFirst}}, "didn't provide a certificate")})

	out = append(out, capture{file: "protocol-mismatch.pcap", what: "client offers only TLS 1.0/1.1, server requires 1.2+: server alert protocol_version(70), server FIN, client FIN",
		conns: one("server_alert", "protocol_mismatch", trustRoot), write: pcapWant(pcaptest.Scenario{TLS: pcaptest.TLSOptions{
			PKI: e.pki, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, ServerMinVersion: tls.VersionTLS12, ClientRoots: e.trustOK, Close: pcaptest.CloseServerFirst}}, "protocol version")})
	return out
}

// testOnly returns scenarios that only the tests run: they need truststores
// or tlstriage options that the committed captures and pki/ do not have, so
// they are never written to testdata/pcap.
func (e *env) testOnly() []capture {
	var out []capture
	add := func(file, what string, want expect, o pcaptest.TLSOptions, wantErr string) {
		out = append(out, capture{file: file, what: what, conns: []expect{want}, write: pcapWant(pcaptest.Scenario{TLS: o}, wantErr)})
	}
	o := e.java(pcaptest.AlertCertificateUnknown)
	o.ClientRoots = pcaptest.PoolOf(e.lookalike)
	add("untrusted-root.pcap", "server sends leaf+intermediate; the client trusts a root named tlstriage Test Root CA with another key (a re-keyed CA, or another environment's PKI)",
		expect{verdict: rejected, cause: "untrusted_root", trust: trustLookalike}, o, "unknown authority")

	o.Chain = pcaptest.ChainFull
	add("untrusted-root-sent.pcap", "as untrusted-root.pcap, but the server also sends its root",
		expect{verdict: rejected, cause: "untrusted_root", trust: trustLookalike}, o, "unknown authority")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.Chain = pcaptest.ChainLeafRoot
	add("missing-intermediate.pcap", "server sends leaf+root, leaving out the intermediate; the client trusts that root but lacks the intermediate",
		expect{verdict: rejected, cause: "truststore_missing_intermediate", trust: trustRoot}, o, "unknown authority")

	o = e.java(pcaptest.AlertCertificateUnknown)
	o.NoSNI, o.ServerName = true, "10.0.0.2"
	add("host-ip.pcap", "the target URL names the server by address (https://10.0.0.2/): a Java client sends no SNI and checks 10.0.0.2, which the certificate does not name",
		expect{verdict: rejected, cause: "hostname_mismatch", trust: trustRoot, host: "10.0.0.2"}, o, "10.0.0.2")

	add("sni-required.pcap", "the client connects by address and sends no SNI; the server has name-based virtual hosts and no default certificate, and answers unrecognized_name (nginx's ssl_reject_handshake)",
		expect{verdict: "server_alert", cause: "sni_required", trust: trustRoot}, pcaptest.TLSOptions{PKI: e.pki, MaxVersion: tls.VersionTLS12, NoSNI: true, ServerName: "10.0.0.2", NoServerName: true, Close: pcaptest.CloseServerFirst}, "unrecognized name")

	o = e.ok(tls.VersionTLS12)
	o.ClientRoots = pcaptest.PoolOf(e.pki.Intermediate)
	add("intermediate-anchor.pcap", "the client trusts only the intermediate (Java PKIX anchors a path at any truststore certificate): the handshake completes",
		expect{verdict: okVerdict, trust: trustIntermediate}, o, "")
	return out
}

// many returns a capture of 20 connections to three servers.
func (e *env) many() capture {
	type conn struct {
		o    pcaptest.TLSOptions
		srv  string
		want expect
	}
	missingRoot := e.java(pcaptest.AlertCertificateUnknown)
	missingRoot.ClientRoots = e.trustBad
	leafOnly := e.java(pcaptest.AlertCertificateUnknown)
	leafOnly.Chain = pcaptest.ChainLeafOnly
	expired := e.java(pcaptest.AlertCertificateExpired)
	expired.PKI = e.leaf(pcaptest.LeafOptions{DNSNames: []string{"legacy.example.test"}, NotBefore: e.pki.Now.AddDate(-1, 0, 0), NotAfter: e.pki.Now.AddDate(0, 0, -3)})
	expired.ServerName = "legacy.example.test"
	var (
		ok12, ok13  = e.ok(tls.VersionTLS12), e.ok(tls.VersionTLS13)
		wantOK      = expect{verdict: okVerdict, trust: trustRoot}
		wantMissing = expect{verdict: rejected, cause: "truststore_missing_root", trust: trustOther}
		wantLeaf    = expect{verdict: rejected, cause: "incomplete_chain", trust: trustRoot}
		wantExpired = expect{verdict: rejected, cause: "expired", trust: trustRoot}
	)
	servers := []string{"10.0.0.2:443", "10.0.0.3:443", "10.0.0.4:8443"}
	plan := []conn{
		{ok12, servers[0], wantOK}, {ok13, servers[0], wantOK}, {e.playbook(), servers[1], wantMissing},
		{ok12, servers[0], wantOK}, {missingRoot, servers[1], wantMissing}, {ok13, servers[0], wantOK},
		{e.playbook(), servers[1], wantMissing}, {leafOnly, servers[2], wantLeaf},
		{ok12, servers[0], wantOK}, {expired, servers[2], wantExpired}, {ok13, servers[0], wantOK},
		{e.playbook(), servers[1], wantMissing}, {ok12, servers[0], wantOK},
		{leafOnly, servers[2], wantLeaf}, {ok13, servers[0], wantOK}, {missingRoot, servers[1], wantMissing},
		{ok12, servers[0], wantOK}, {e.playbook(), servers[1], wantMissing}, {ok13, servers[0], wantOK}, {ok12, servers[0], wantOK},
	}
	var conns []expect
	for _, c := range plan {
		conns = append(conns, c.want)
	}
	return capture{file: "many-connections.pcap", how: "20 scenarios merged by time, 150 ms apart, client ports 50000+",
		what:  "summary input: 20 connections from 10.0.0.1 to 10.0.0.2:443 (ok), 10.0.0.3:443 (missing root: playbook and Java alert; these clients trust only Other Root CA), 10.0.0.4:8443 (leaf only, expired legacy.example.test)",
		conns: conns,
		write: func(w io.Writer) error {
			var conns [][]pcaptest.Packet
			for i, c := range plan {
				f := pcaptest.FrameOptions{
					Client:    netip.AddrPortFrom(pcaptest.DefaultClient.Addr(), uint16(50000+i*7)),
					Server:    netip.MustParseAddrPort(c.srv),
					Start:     pcaptest.DefaultStart.Add(time.Duration(i) * 150 * ms),
					ClientISN: uint32(0x10000000 * (i + 1)),
					ServerISN: uint32(0x0a000000*(i+1) + 77),
				}
				pkts, err := pcaptest.Scenario{TLS: c.o, Frame: f}.Packets()
				if err != nil {
					return err
				}
				conns = append(conns, pkts)
			}
			return pcaptest.WritePcap(w, layers.LinkTypeEthernet, pcaptest.Merge(conns...))
		}}
}

func readme(caps []capture) []byte {
	var b bytes.Buffer
	b.WriteString(`# Generated packet captures

Generated by ` + "`go run ./internal/gencaptures -out testdata/pcap`" + ` (or ` + "`go generate ./internal/gencaptures`" + `).
Do not edit by hand; regenerate. Each connection is a real crypto/tls client and server run in memory
(internal/pcaptest.Record); what each side wrote is framed into TCP/IP packets (pcaptest.Frame) with
documentation addresses (10.0.0.0/24, 2001:db8::/32), a fixed start time 2026-03-02T10:00:00Z and synthetic but
realistic timing (client 1.2 ms to ClientHello, server 450 µs think time, client rejects 3-4 ms after the
Certificate), modelled on real captures of Java 17 and curl clients. Nothing was captured on a real network.
"Java-style" means the client's real crypto/tls alert was replaced by the one Java 17 sends, followed by
Java's close sequence (server FIN, client FIN).

PKI (pki/, regenerated with the captures): ` + "`tlstriage Test Root CA`" + ` (RSA 2048) → ` + "`tlstriage Test Issuing CA 1`" + ` (RSA 2048) →
leaf ` + "`backend.example.test`" + ` (ECDSA P-256, AIA CA Issuers). ` + "`Other Root CA`" + ` is unrelated. Clients verify at the
capture time (2026-03-02), not at the current time. Truststores: ` + "`truststore-root.pem`" + ` (the right root) and
` + "`truststore-other.pem`" + ` (only Other Root CA, what a client that "lacks the root" has).

The expected verdict and cause are what ` + "`tlstriage -r FILE --truststore pki/...`" + ` reports when it is given the
truststore the client had (column "client truststore"; one entry per connection, in order of first packet;
` + "`-`" + ` means the handshake did not fail). Another truststore changes the trust-related causes: with
` + "`truststore-root.pem`" + ` the missing-root captures build a trusted chain and their cause is ` + "`unknown`" + `; with
` + "`truststore-other.pem`" + ` or the built-in Mozilla roots a chain of the test PKI is first ` + "`truststore_missing_root`" + `.
internal/gencaptures' TestPipeline checks every row on freshly generated captures.

| file | how generated | what it demonstrates | client truststore | expected verdict | expected cause |
|---|---|---|---|---|---|
`)
	for _, c := range caps {
		how := "pcaptest"
		if c.how != "" {
			how += "; " + c.how
		}
		truststores, verdicts, causes := expectColumns(c.conns)
		if c.note != "" {
			causes += " (" + c.note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.file, how, c.what, truststores, verdicts, causes)
	}
	return b.Bytes()
}

// expectColumns renders expectations for the README table: the value when
// every connection has the same, one value per connection ("; ") for a few,
// counts ("11× ok, 9× ...") for many.
func expectColumns(conns []expect) (truststores, verdicts, causes string) {
	col := func(f func(expect) string) string {
		var vals, order []string
		counts := map[string]int{}
		for _, c := range conns {
			v := f(c)
			vals = append(vals, v)
			if counts[v] == 0 {
				order = append(order, v)
			}
			counts[v]++
		}
		switch {
		case len(order) == 1:
			return order[0]
		case len(vals) <= 3:
			return strings.Join(vals, "; ")
		}
		parts := make([]string, len(order))
		for i, v := range order {
			parts[i] = fmt.Sprintf("%d× %s", counts[v], v)
		}
		return strings.Join(parts, ", ")
	}
	truststores = col(func(c expect) string { return "`" + string(c.trust) + "`" })
	verdicts = col(func(c expect) string { return c.verdict })
	causes = col(func(c expect) string {
		if c.cause == "" {
			return "-"
		}
		return c.cause
	})
	return truststores, verdicts, causes
}
