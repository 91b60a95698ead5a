package pcaptest

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var (
	pkiOnce sync.Once
	testPKI *PKI
	pkiErr  error
)

func pki(t *testing.T) *PKI {
	t.Helper()
	pkiOnce.Do(func() { testPKI, pkiErr = NewPKI(PKIOptions{CAKey: RSA2048}) })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return testPKI
}

func otherPool(t *testing.T) TLSOptions {
	other, _, err := NewOtherRoot(DefaultStart)
	if err != nil {
		t.Fatal(err)
	}
	return TLSOptions{PKI: pki(t), MaxVersion: tls.VersionTLS12, ClientRoots: PoolOf(other)}
}

// readBack writes pkts as pcap in variant o and reads them with pcapgo.
func readBack(t *testing.T, lt layers.LinkType, pkts []Packet, o PcapOptions) []Packet {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePcapOptions(&buf, lt, pkts, o); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != lt {
		t.Errorf("link type %v, want %v", r.LinkType(), lt)
	}
	var out []Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		out = append(out, Packet{Data: data, CI: ci})
	}
	if len(out) != len(pkts) {
		t.Fatalf("read %d packets, wrote %d", len(out), len(pkts))
	}
	return out
}

type flowBytes struct {
	isn   [2]uint32
	data  [2][]byte
	fin   [2]bool
	rst   [2]bool
	flags []string
}

// reassemble decodes pkts, checks checksums and lengths by re-serializing,
// and places each payload at its sequence offset.
func reassemble(t *testing.T, lt layers.LinkType, pkts []Packet, isn [2]uint32) *flowBytes {
	t.Helper()
	f := &flowBytes{isn: isn}
	for i, p := range pkts {
		pk := gopacket.NewPacket(p.Data, lt, gopacket.Default)
		if el := pk.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: %v", i, el.Error())
		}
		tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("packet %d: no TCP layer: %v", i, pk)
		}
		checkSerialization(t, i, pk, tcp)
		d := ClientToServer
		if tcp.SrcPort == 443 || tcp.SrcPort == 8443 {
			d = ServerToClient
		}
		var fl string
		switch {
		case tcp.SYN:
			fl = "S"
		case tcp.RST:
			fl, f.rst[d] = "R", true
		case tcp.FIN:
			fl, f.fin[d] = "F", true
		case len(tcp.Payload) > 0:
			fl = "D"
		default:
			continue
		}
		f.flags = append(f.flags, d.String()[:1]+fl)
		if len(tcp.Payload) == 0 {
			continue
		}
		off := int(tcp.Seq - isn[d] - 1)
		if need := off + len(tcp.Payload); need > len(f.data[d]) {
			f.data[d] = append(f.data[d], make([]byte, need-len(f.data[d]))...)
		}
		copy(f.data[d][off:], tcp.Payload)
	}
	return f
}

func checkSerialization(t *testing.T, i int, pk gopacket.Packet, tcp *layers.TCP) {
	t.Helper()
	nl := pk.NetworkLayer()
	var ip gopacket.SerializableLayer
	switch l := nl.(type) {
	case *layers.IPv4:
		c := *l
		ip = &c
	case *layers.IPv6:
		c := *l
		ip = &c
	default:
		t.Fatalf("packet %d: network layer %T", i, nl)
	}
	tc := *tcp
	tc.SetNetworkLayerForChecksum(nl)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, ip, &tc, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte(nil), nl.LayerContents()...), nl.LayerPayload()...); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("packet %d: IP/TCP bytes differ after recomputing checksums and lengths", i)
	}
}

func TestRoundTripAllLinks(t *testing.T) {
	conv, err := Record(TLSOptions{PKI: pki(t), MaxVersion: tls.VersionTLS12, AppData: true, Close: CloseClientFirst})
	if err != nil {
		t.Fatal(err)
	}
	if conv.ClientErr != nil || conv.ServerErr != nil || conv.Version != tls.VersionTLS12 {
		t.Fatalf("handshake: client %v, server %v, version %x", conv.ClientErr, conv.ServerErr, conv.Version)
	}
	for _, link := range []Link{Ethernet, EthernetVLAN, EthernetQinQ, LinuxSLL, LinuxSLL2, RawIP, Null} {
		for _, v6 := range []bool{false, true} {
			o := FrameOptions{Link: link, IPv6: v6}
			pkts, err := Frame(conv, o)
			if err != nil {
				t.Fatal(err)
			}
			got := readBack(t, link.LinkType(), pkts, PcapOptions{})
			f := reassemble(t, link.LinkType(), got, [2]uint32{defaultClientIS, defaultServerIS})
			for _, d := range []Dir{ClientToServer, ServerToClient} {
				if !bytes.Equal(f.data[d], conv.Bytes(d)) {
					t.Errorf("link %d v6 %v: %v bytes differ from what crypto/tls wrote", link, v6, d)
				}
				if !f.fin[d] {
					t.Errorf("link %d: no %v FIN", link, d)
				}
			}
			if link == EthernetQinQ {
				pk := gopacket.NewPacket(got[0].Data, layers.LinkTypeEthernet, gopacket.Default)
				var tags int
				for _, l := range pk.Layers() {
					if l.LayerType() == layers.LayerTypeDot1Q {
						tags++
					}
				}
				if tags != 2 {
					t.Errorf("QinQ: %d Dot1Q layers, want 2", tags)
				}
			}
		}
	}
}

func TestSequenceContinuity(t *testing.T) {
	conv, err := Record(TLSOptions{PKI: pki(t), AppData: true, Close: CloseClientFirst})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := Frame(conv, FrameOptions{MSS: 500})
	if err != nil {
		t.Fatal(err)
	}
	next := map[layers.TCPPort]uint32{}
	var last time.Time
	for i, p := range pkts {
		if p.CI.Timestamp.Before(last) {
			t.Errorf("packet %d: time goes backwards", i)
		}
		last = p.CI.Timestamp
		tcp := gopacket.NewPacket(p.Data, layers.LinkTypeEthernet, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
		if len(tcp.Payload) > 500 {
			t.Errorf("packet %d: payload %d > MSS", i, len(tcp.Payload))
		}
		if n, ok := next[tcp.SrcPort]; ok && tcp.Seq != n {
			t.Errorf("packet %d: seq %d, want %d", i, tcp.Seq, n)
		}
		n := tcp.Seq + uint32(len(tcp.Payload))
		if tcp.SYN || tcp.FIN {
			n++
		}
		next[tcp.SrcPort] = n
	}
}

func TestRejectActions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		action  RejectAction
		alert   uint8
		wantEnd []byte
		close   []Event
		flags   string
	}{
		{"keep", KeepAlert, 0, AlertRecord(AlertBadCertificate), CloseClientFirst, "cF sF"},
		{"replace", ReplaceAlert, AlertCertificateUnknown, AlertRecord(AlertCertificateUnknown), CloseJava, "sF cF"},
		{"drop", DropAlert, 0, nil, ClosePlaybook, "cF cR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := otherPool(t)
			o.OnReject, o.RejectAlert, o.Close = tc.action, tc.alert, tc.close
			conv, err := Record(o)
			if err != nil {
				t.Fatal(err)
			}
			if conv.ClientErr == nil || !strings.Contains(conv.ClientErr.Error(), "unknown authority") {
				t.Fatalf("client error %v, want unknown authority", conv.ClientErr)
			}
			if !bytes.Equal(conv.ClientAlert, AlertRecord(AlertBadCertificate)) {
				t.Errorf("crypto/tls alert % x, want bad_certificate", conv.ClientAlert)
			}
			pkts, err := Frame(conv, FrameOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f := reassemble(t, layers.LinkTypeEthernet, readBack(t, layers.LinkTypeEthernet, pkts, PcapOptions{}), [2]uint32{defaultClientIS, defaultServerIS})
			cb := f.data[ClientToServer]
			if !bytes.Equal(cb, conv.Bytes(ClientToServer)) {
				t.Error("client bytes differ")
			}
			if tc.wantEnd != nil && !bytes.HasSuffix(cb, tc.wantEnd) {
				t.Errorf("client bytes end % x, want % x", cb[len(cb)-7:], tc.wantEnd)
			}
			if tc.wantEnd == nil && bytes.Contains(cb, []byte{0x15, 0x03, 0x03, 0x00, 0x02}) {
				t.Error("dropped alert is still on the wire")
			}
			// The server's flight holds the Certificate, and nothing follows it but the close.
			if !bytes.Contains(f.data[ServerToClient], pki(t).Leaf.Raw) {
				t.Error("server flight lacks the leaf certificate")
			}
			closing := strings.Join(f.flags[len(f.flags)-2:], " ")
			if closing != tc.flags {
				t.Errorf("close sequence %q, want %q (all: %v)", closing, tc.flags, f.flags)
			}
		})
	}
}

func TestServerFailures(t *testing.T) {
	base := TLSOptions{PKI: pki(t), MaxVersion: tls.VersionTLS12, Close: CloseServerFirst}
	cipher := base
	cipher.ClientCipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	cipher.ServerCipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	cert := base
	cert.ClientAuth = tls.RequireAnyClientCert
	version := base
	version.MinVersion, version.MaxVersion, version.ServerMinVersion = tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12
	for name, tc := range map[string]struct {
		o     TLSOptions
		alert uint8
	}{
		"cipher":  {cipher, AlertHandshakeFailure},
		"cert":    {cert, 0},
		"version": {version, AlertProtocolVersion},
	} {
		t.Run(name, func(t *testing.T) {
			conv, err := Record(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if conv.ServerErr == nil || len(conv.ServerAlert) != 7 {
				t.Fatalf("server error %v, alert % x", conv.ServerErr, conv.ServerAlert)
			}
			if tc.alert != 0 && conv.ServerAlert[6] != tc.alert {
				t.Errorf("alert %d, want %d", conv.ServerAlert[6], tc.alert)
			}
		})
	}
}

func TestCertificateTimeIsCaptureTime(t *testing.T) {
	p := pki(t)
	expired, err := p.WithLeaf(LeafOptions{NotBefore: p.Now.AddDate(-1, 0, 0), NotAfter: p.Now.AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := Record(TLSOptions{PKI: expired, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if conv.ClientErr == nil || !strings.Contains(conv.ClientErr.Error(), "expired") {
		t.Errorf("client error %v, want expired", conv.ClientErr)
	}
}

func TestNotTLSAndNoResponse(t *testing.T) {
	conv, err := Record(TLSOptions{Kind: NotTLS, PKI: pki(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(conv.Bytes(ServerToClient), []byte("HTTP/1.1 400")) {
		t.Errorf("server bytes %q", conv.Bytes(ServerToClient))
	}
	conv, err = Record(TLSOptions{Kind: NoServerResponse, PKI: pki(t), Close: []Event{{Dir: ClientToServer, Kind: RST, Delay: 10 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.Bytes(ServerToClient)) != 0 || conv.Bytes(ClientToServer)[0] != 0x16 {
		t.Error("want only a ClientHello")
	}
}

func TestMangling(t *testing.T) {
	o := otherPool(t)
	o.Chain, o.OnReject, o.RejectAlert, o.Close = ChainFull, ReplaceAlert, AlertCertificateUnknown, CloseJava
	conv, err := Record(o)
	if err != nil {
		t.Fatal(err)
	}
	isn := [2]uint32{defaultClientIS, defaultServerIS}
	for _, fo := range []FrameOptions{{Reorder: true, Retransmit: true, MSS: 700}, {Reorder: true, MSS: 1448}} {
		pkts, err := Frame(conv, fo)
		if err != nil {
			t.Fatal(err)
		}
		f := reassemble(t, layers.LinkTypeEthernet, pkts, isn)
		if !bytes.Equal(f.data[ServerToClient], conv.Bytes(ServerToClient)) {
			t.Errorf("%+v: server bytes differ after reassembly", fo)
		}
	}
	plain, _ := Frame(conv, FrameOptions{MSS: 700})
	dropped, _ := Frame(conv, FrameOptions{MSS: 700, Drop: 2})
	if len(dropped) != len(plain)-1 {
		t.Errorf("drop: %d packets, want %d", len(dropped), len(plain)-1)
	}
	mid, _ := Frame(conv, FrameOptions{MidStream: 2})
	if tcp := gopacket.NewPacket(mid[0].Data, layers.LinkTypeEthernet, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP); tcp.SYN || tcp.SrcPort != 443 {
		t.Errorf("midstream starts with %v", tcp)
	}
	tiny, _ := Frame(conv, FrameOptions{RecordSize: 64})
	f := reassemble(t, layers.LinkTypeEthernet, tiny, isn)
	recs := records(f.data[ServerToClient])
	if len(recs) < 20 {
		t.Errorf("re-framed flight has %d records", len(recs))
	}
	var joined []byte
	for _, r := range recs {
		if len(r) > 5+64 {
			t.Errorf("record of %d bytes", len(r))
		}
		joined = append(joined, r[5:]...)
	}
	if !bytes.Contains(joined, pki(t).Leaf.Raw) {
		t.Error("re-framed flight lacks the leaf")
	}
}

func TestWriters(t *testing.T) {
	conv, err := Record(TLSOptions{PKI: pki(t), AppData: true, Close: CloseClientFirst})
	if err != nil {
		t.Fatal(err)
	}
	start := DefaultStart.Add(123456789)
	pkts, err := Frame(conv, FrameOptions{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []PcapOptions{{}, {BigEndian: true}, {Nanosecond: true}, {Nanosecond: true, BigEndian: true}} {
		got := readBack(t, layers.LinkTypeEthernet, pkts, o)
		want := start
		if !o.Nanosecond {
			want = want.Truncate(time.Microsecond)
		}
		if !got[0].CI.Timestamp.Equal(want) {
			t.Errorf("%+v: first timestamp %v, want %v", o, got[0].CI.Timestamp, want)
		}
	}
	sll2, _ := Frame(conv, FrameOptions{Link: LinuxSLL2, Start: start.Add(time.Millisecond)})
	var buf bytes.Buffer
	err = Gzip(&buf, func(w io.Writer) error {
		return WritePcapng(w, []Interface{{Name: "eth0", LinkType: layers.LinkTypeEthernet, Packets: pkts}, {Name: "any", LinkType: layers.LinkTypeLinuxSLL2, Packets: sll2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := pcapgo.NewNgReader(zr, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for {
		data, ci, err := ng.ReadPacketData()
		if err != nil {
			break
		}
		lt := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}[ci.InterfaceIndex]
		if gopacket.NewPacket(data, lt, gopacket.Default).Layer(layers.LayerTypeTCP) == nil {
			t.Errorf("interface %d: no TCP", ci.InterfaceIndex)
		}
		count[ci.InterfaceIndex]++
	}
	if count[0] != len(pkts) || count[1] != len(sll2) || ng.NInterfaces() != 2 {
		t.Errorf("pcapng: %v packets on %d interfaces, want %d and %d", count, ng.NInterfaces(), len(pkts), len(sll2))
	}
}

func TestChainKinds(t *testing.T) {
	p := pki(t)
	self, err := p.WithLeaf(LeafOptions{SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    *PKI
		kind ChainKind
		want [][]byte
	}{
		{"leaf+intermediate", p, ChainLeafIntermediate, [][]byte{p.Leaf.Raw, p.Intermediate.Raw}},
		{"full", p, ChainFull, [][]byte{p.Leaf.Raw, p.Intermediate.Raw, p.Root.Raw}},
		{"leaf only", p, ChainLeafOnly, [][]byte{p.Leaf.Raw}},
		{"leaf+root", p, ChainLeafRoot, [][]byte{p.Leaf.Raw, p.Root.Raw}},
		// A self-signed leaf is no CA, so CheckSignatureFrom cannot tell
		// that it signed itself; it is still sent alone.
		{"self-signed, full", self, ChainFull, [][]byte{self.Leaf.Raw}},
		{"self-signed", self, ChainLeafIntermediate, [][]byte{self.Leaf.Raw}},
	}
	for _, tt := range tests {
		got := tt.p.Chain(tt.kind)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d certificates, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], tt.want[i]) {
				t.Errorf("%s: certificate #%d differs", tt.name, i)
			}
		}
	}
}

// TestCloseNotify checks that a client that closes right after a TLS 1.3
// handshake writes one close_notify record (an encrypted 19-byte record)
// and the server answers with one, and nothing else follows the handshake.
func TestCloseNotify(t *testing.T) {
	conv, err := Record(TLSOptions{PKI: pki(t), MaxVersion: tls.VersionTLS13, CloseNotify: true, NoSessionTickets: true})
	if err != nil {
		t.Fatal(err)
	}
	if conv.ClientErr != nil || conv.ServerErr != nil || conv.Version != tls.VersionTLS13 {
		t.Fatalf("handshake: %v / %v, version %x", conv.ClientErr, conv.ServerErr, conv.Version)
	}
	n := len(conv.Events)
	if n < 2 {
		t.Fatalf("%d events", n)
	}
	for i, d := range []Dir{ClientToServer, ServerToClient} {
		e := conv.Events[n-2+i]
		if e.Dir != d || len(e.Data) != 5+19 || e.Data[0] != 0x17 {
			t.Errorf("event %d: %v writes % x, want one 19-byte application_data record from the %v", n-2+i, e.Dir, e.Data, d)
		}
	}
	// The client's Finished comes right before: no session ticket.
	if e := conv.Events[n-3]; e.Dir != ClientToServer {
		t.Errorf("the server wrote %d bytes between the client's Finished and close_notify", len(e.Data))
	}
}
