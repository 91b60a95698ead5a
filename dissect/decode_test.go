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
			if s.src.String() != tc.src || s.dst.Port() != 443 || s.flags&flagSYN == 0 || s.seq != 7 {
				t.Errorf("segment %v -> %v seq %d flags %x", s.src, s.dst, s.seq, s.flags)
			}
		})
	}
}
