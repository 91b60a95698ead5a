package dissect

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestDecodeTunnels: TCP inside IP-in-IP, GRE, VXLAN, PPPoE and MPLS is
// found, with the inner addresses.
func TestDecodeTunnels(t *testing.T) {
	inner4 := func() []gopacket.SerializableLayer {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 9, 0, 1}, DstIP: net.IP{10, 9, 0, 2}}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, SYN: true}
		tcp.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{ip, tcp}
	}
	inner6 := func() []gopacket.SerializableLayer {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, SYN: true}
		tcp.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{ip, tcp}
	}
	eth := func(t layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: t}
	}
	outer4 := func(p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: p, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	}
	udp := &layers.UDP{SrcPort: 5555, DstPort: 4789}
	vxOuter := outer4(layers.IPProtocolUDP)
	udp.SetNetworkLayerForChecksum(vxOuter)
	cases := []struct {
		name  string
		outer []gopacket.SerializableLayer
		inner []gopacket.SerializableLayer
		src   string
	}{
		{"4in4", []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolIPv4)}, inner4(), "10.9.0.1:40000"},
		{"6in4", []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolIPv6)}, inner6(), "[2001:db8::1]:40000"},
		{"gre", []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE), &layers.GRE{Protocol: layers.EthernetTypeIPv4, KeyPresent: true, Key: 9}}, inner4(), "10.9.0.1:40000"},
		{"gre-eth", []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE), &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, eth(layers.EthernetTypeIPv6)}, inner6(), "[2001:db8::1]:40000"},
		{"vxlan", []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), vxOuter, udp, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, eth(layers.EthernetTypeIPv4)}, inner4(), "10.9.0.1:40000"},
		{"pppoe", []gopacket.SerializableLayer{eth(layers.EthernetTypePPPoESession), &layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 3}, &layers.PPP{PPPType: layers.PPPTypeIPv4}}, inner4(), "10.9.0.1:40000"},
		{"mpls", []gopacket.SerializableLayer{eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 17, StackBottom: true, TTL: 64}}, inner6(), "[2001:db8::1]:40000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append(tc.outer, tc.inner...)...); err != nil {
				t.Fatal(err)
			}
			var s segment
			if why := decodeFrame(buf.Bytes(), layers.LinkTypeEthernet, &s); why != "" {
				t.Fatalf("skipped: %s", why)
			}
			if s.src.String() != tc.src || s.dst.Port() != 443 || s.flags&FlagSYN == 0 || s.seq != 7 {
				t.Errorf("segment %v -> %v seq %d flags %x", s.src, s.dst, s.seq, s.flags)
			}
		})
	}
}

// TestDecodeIPv6ExtensionHeaders: hop-by-hop options, AH and an atomic
// fragment header are skipped to the TCP header; a later fragment is not
// decoded.
func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, SYN: true, DataOffset: 5}
	tb := gopacket.NewSerializeBuffer()
	if err := tcp.SerializeTo(tb, gopacket.SerializeOptions{}); err != nil {
		t.Fatal(err)
	}
	// build makes an IPv6 packet whose first extension header is of type
	// first; each header's byte 0 names the next.
	build := func(first uint8, exts ...[]byte) []byte {
		var payload []byte
		for _, e := range exts {
			payload = append(payload, e...)
		}
		payload = append(payload, tb.Bytes()...)
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[4], ip[5] = byte(len(payload)>>8), byte(len(payload))
		ip[6] = first
		ip[8], ip[23] = 0x20, 1
		ip[24], ip[39] = 0x20, 2
		return append(ip, payload...)
	}
	hopByHop := []byte{51, 0, 1, 4, 0, 0, 0, 0} // next AH; 8 bytes
	ah := make([]byte, 24)                      // (4+2)*4 bytes
	ah[0], ah[1] = 44, 4                        // next fragment
	atomic := []byte{6, 0, 0, 0, 0, 0, 0, 1}    // next TCP; offset 0, no more fragments
	var s segment
	if why := decodeFrame(build(0, hopByHop, ah, atomic), layers.LinkTypeRaw, &s); why != "" {
		t.Fatalf("skipped: %s", why)
	}
	if s.src.String() != "[2000::1]:40000" || s.dst.Port() != 443 || s.seq != 7 {
		t.Errorf("segment %v -> %v seq %d", s.src, s.dst, s.seq)
	}
	later := []byte{6, 0, 0, 8, 0, 0, 0, 1} // offset 8 bytes
	if why := decodeFrame(build(44, later), layers.LinkTypeRaw, &s); why != SkipFragment {
		t.Errorf("a later fragment: %q, want %q", why, SkipFragment)
	}
	// An AH header claiming more bytes than the packet has.
	bigAH := make([]byte, 8)
	bigAH[0], bigAH[1] = 6, 200
	if why := decodeFrame(build(51, bigAH), layers.LinkTypeRaw, &s); why != SkipTruncated {
		t.Errorf("oversized AH: %q, want %q", why, SkipTruncated)
	}
}
