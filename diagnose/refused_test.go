package diagnose_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
)

// tcpFrame serializes an Ethernet/IPv4/TCP frame with valid checksums.
func tcpFrame(t *testing.T, src, dst string, sport, dport uint16, seq, ack uint32, syn, rst bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, SYN: syn, RST: rst, ACK: ack != 0, Window: 64240}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRefused: a SYN answered by RST,ACK (nothing listening on the port,
// as the kernel answers) is a refused connection: counted, and with --all
// judged server_reset with a fix about the listener, not "no ClientHello".
// A second SYN after the RST is a new attempt, refused too.
func TestRefused(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	frames := [][]byte{
		tcpFrame(t, "10.0.0.1", "10.0.0.2", 43210, 8443, 1000, 0, true, false),
		tcpFrame(t, "10.0.0.2", "10.0.0.1", 8443, 43210, 0, 1001, false, true),
		tcpFrame(t, "10.0.0.1", "10.0.0.2", 43210, 8443, 1000, 0, true, false),
		tcpFrame(t, "10.0.0.2", "10.0.0.1", 8443, 43210, 0, 1001, false, true),
	}
	var conns []*dissect.Conn
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) { conns = append(conns, c) })
	for i, f := range frames {
		an.Packet(f, gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}, layers.LinkTypeEthernet)
	}
	an.Flush()
	st := an.Stats()
	if len(conns) != 2 || !conns[0].Refused() || !conns[1].Refused() || st.Refused != 2 {
		t.Fatalf("%d connections, %d counted refused; want two, refused", len(conns), st.Refused)
	}
	r := diagnose.Diagnose(conns[0], diagnose.Options{Trust: store()})
	if r.Verdict != diagnose.VerdictServerReset || !r.Failed || !strings.Contains(r.Detail, "refused the connection") || !strings.Contains(r.Fix, "listening on 10.0.0.2:8443") {
		t.Errorf("%s (failed %v): %s; fix %s", r.Verdict, r.Failed, r.Detail, r.Fix)
	}
}
