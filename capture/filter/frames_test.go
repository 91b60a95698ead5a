package filter

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// frame is a test frame of some link type.
type frame struct {
	name string
	lt   layers.LinkType
	data []byte
}

// packet describes the network layer of a test frame.
type packet struct {
	v6                bool
	src, dst          string
	proto             layers.IPProtocol
	sport, dport      uint16
	fragOff           uint16 // IPv4 fragment offset in 8-byte units
	arp               bool   // an ARP request from src for dst instead of IP
	fragHeader        bool   // IPv6: a fragment header before the transport header
	truncateTransport bool   // cut the frame right after the network header
}

// ipLayers serializes p from the network header on, and returns its
// Ethernet type.
func ipLayers(t *testing.T, p packet) ([]byte, layers.EthernetType) {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var ls []gopacket.SerializableLayer
	et := layers.EthernetTypeIPv4
	var netLayer gopacket.NetworkLayer
	switch {
	case p.arp:
		et = layers.EthernetTypeARP
		ls = append(ls, &layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: net.HardwareAddr{2, 0, 0, 0, 0, 1}, SourceProtAddress: net.ParseIP(p.src).To4(),
			DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: net.ParseIP(p.dst).To4(),
		})
	case p.v6:
		et = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p.proto, SrcIP: net.ParseIP(p.src), DstIP: net.ParseIP(p.dst)}
		netLayer = ip
		ls = append(ls, ip)
		if p.fragHeader {
			ip.NextHeader = layers.IPProtocolIPv6Fragment
			ls = append(ls, gopacket.Payload{byte(p.proto), 0, 0, 0, 0, 0, 0, 1}) // offset 0, more fragments, id 1
		}
	default:
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: p.proto, SrcIP: net.ParseIP(p.src).To4(), DstIP: net.ParseIP(p.dst).To4(), FragOffset: p.fragOff}
		netLayer = ip
		ls = append(ls, ip)
	}
	if !p.arp && !p.truncateTransport {
		switch p.proto {
		case layers.IPProtocolTCP:
			tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), SYN: true, Window: 1024}
			tcp.SetNetworkLayerForChecksum(netLayer)
			ls = append(ls, tcp)
		case layers.IPProtocolUDP:
			udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
			udp.SetNetworkLayerForChecksum(netLayer)
			ls = append(ls, udp, gopacket.Payload("hello"))
		case layers.IPProtocolSCTP:
			var h [12]byte
			binary.BigEndian.PutUint16(h[0:], p.sport)
			binary.BigEndian.PutUint16(h[2:], p.dport)
			ls = append(ls, gopacket.Payload(h[:]))
		case layers.IPProtocolICMPv4:
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)})
		case layers.IPProtocolICMPv6:
			ls = append(ls, gopacket.Payload{128, 0, 0, 0, 0, 0, 0, 0})
		}
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), et
}

// onLink puts the network-layer bytes b of Ethernet type et in a frame of
// link type lt.
func onLink(t *testing.T, lt layers.LinkType, et layers.EthernetType, b []byte) []byte {
	t.Helper()
	var h []byte
	switch lt {
	case layers.LinkTypeEthernet:
		h = []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1}
		h = binary.BigEndian.AppendUint16(h, uint16(et))
	case layers.LinkTypeLinuxSLL:
		h = []byte{0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0}
		h = binary.BigEndian.AppendUint16(h, uint16(et))
	case layers.LinkTypeLinuxSLL2:
		h = binary.BigEndian.AppendUint16(nil, uint16(et))
		h = append(h, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0)
	case layers.LinkTypeRaw, linkTypeDLTRaw:
		if et == layers.EthernetTypeARP {
			return nil
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		af := uint32(2) // AF_INET
		switch et {
		case layers.EthernetTypeIPv6:
			af = 24 // AF_INET6 on NetBSD and OpenBSD
		case layers.EthernetTypeARP:
			return nil
		}
		if lt == layers.LinkTypeNull {
			h = binary.LittleEndian.AppendUint32(nil, af)
		} else {
			h = binary.BigEndian.AppendUint32(nil, af)
		}
	default:
		t.Fatalf("no test frames for link type %v", lt)
	}
	return append(h, b...)
}

// vlanFrame is an Ethernet frame with an 802.1Q tag around b.
func vlanFrame(et layers.EthernetType, b []byte) []byte {
	h := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 10}
	h = binary.BigEndian.AppendUint16(h, uint16(et))
	return append(h, b...)
}
