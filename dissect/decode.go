package dissect

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// SkipReason is why a frame was not analysed: its text is the key it is
// counted under in Stats.NotDecoded; "" for a frame that was.
type SkipReason string

// Reasons a frame was not analysed.
const (
	SkipLinkType   SkipReason = "unsupported link type"
	SkipNotIP      SkipReason = "not IP"
	SkipNotTCP     SkipReason = "not TCP"
	SkipFragment   SkipReason = "IP fragment"
	SkipMalformed  SkipReason = "malformed header"
	SkipTruncated  SkipReason = "truncated header"
	SkipFiltered   SkipReason = "filtered out"
	SkipZeroLength SkipReason = "zero length"
)

// segment is one decoded TCP segment. Payload aliases the frame.
type segment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    TCPFlags
	window   uint16
	payload  []byte
	missing  int // payload bytes the snapshot length cut off
}

// decodeFrame decodes a link-layer frame down to TCP. It returns the reason
// for skipping the frame, or "" when s holds a TCP segment. It never
// allocates and never reads past data.
func decodeFrame(data []byte, lt layers.LinkType, s *segment) SkipReason {
	var ethType layers.EthernetType
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return SkipTruncated
		}
		ethType = layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
		data = data[14:]
		if ethType < 0x0600 { // 802.3 length field: LLC, not IP
			return SkipNotIP
		}
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return SkipTruncated
		}
		ethType = layers.EthernetType(binary.BigEndian.Uint16(data[14:16]))
		data = data[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return SkipTruncated
		}
		ethType = layers.EthernetType(binary.BigEndian.Uint16(data[0:2]))
		data = data[20:]
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) < 4 {
			return SkipTruncated
		}
		// The address family is in host byte order of the capturing
		// machine (DLT_NULL) or network order (DLT_LOOP): accept both.
		fam := binary.LittleEndian.Uint32(data[0:4])
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data[0:4])
		}
		data = data[4:]
		if fam > 0xff {
			return SkipNotIP
		}
		switch layers.ProtocolFamily(fam) {
		case layers.ProtocolFamilyIPv4:
			ethType = layers.EthernetTypeIPv4
		case layers.ProtocolFamilyIPv6Linux, layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin:
			ethType = layers.EthernetTypeIPv6
		default:
			return SkipNotIP
		}
	case layers.LinkTypeRaw, linkTypeDLTRaw, linkTypeDLTRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		var why SkipReason
		if ethType, why = ipVersion(data); why != "" {
			return why
		}
	default:
		return SkipLinkType
	}
	var proto layers.IPProtocol
	var ipPayloadLen int
	// Tunnels (IP in IP, GRE, VXLAN, PPPoE, MPLS) are followed to the
	// inner packet, a few levels deep.
	for depth := 0; ; depth++ {
		if depth > 4 {
			return SkipMalformed
		}
		// VLAN tags: 802.1Q, 802.1ad (QinQ) and the old 0x9100, any depth.
		for ethType == layers.EthernetTypeDot1Q || ethType == layers.EthernetTypeQinQ || ethType == ethTypeVLANOld {
			if len(data) < 4 {
				return SkipTruncated
			}
			ethType = layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
			data = data[4:]
		}
		switch ethType {
		case layers.EthernetTypePPPoESession: // PPPoE session stage (RFC 2516): 6-byte header, PPP protocol
			if len(data) < 8 {
				return SkipTruncated
			}
			switch layers.PPPType(binary.BigEndian.Uint16(data[6:8])) {
			case layers.PPPTypeIPv4:
				ethType = layers.EthernetTypeIPv4
			case layers.PPPTypeIPv6:
				ethType = layers.EthernetTypeIPv6
			default:
				return SkipNotIP
			}
			data = data[8:]
		case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast: // MPLS label stack (RFC 3032), then IP
			for {
				if len(data) < 4 {
					return SkipTruncated
				}
				bottom := data[2]&1 != 0
				data = data[4:]
				if bottom {
					break
				}
			}
			var why SkipReason
			if ethType, why = ipVersion(data); why != "" {
				return why
			}
		}
		switch ethType {
		case layers.EthernetTypeIPv4:
			if len(data) < 20 {
				return SkipTruncated
			}
			if data[0]>>4 != 4 {
				return SkipMalformed
			}
			ihl := int(data[0]&0x0f) * 4
			total := int(binary.BigEndian.Uint16(data[2:4]))
			if total == 0 { // TCP segmentation offload captures may carry 0
				total = len(data)
			}
			if ihl < 20 || total < ihl {
				return SkipMalformed
			}
			if len(data) < ihl {
				return SkipTruncated
			}
			if fo := binary.BigEndian.Uint16(data[6:8]); fo&0x3fff != 0 {
				return SkipFragment
			}
			proto = layers.IPProtocol(data[9])
			src, _ := netip.AddrFromSlice(data[12:16])
			dst, _ := netip.AddrFromSlice(data[16:20])
			s.src = netip.AddrPortFrom(src, 0)
			s.dst = netip.AddrPortFrom(dst, 0)
			ipPayloadLen = total - ihl
			data = data[ihl:]
		case layers.EthernetTypeIPv6:
			if len(data) < 40 {
				return SkipTruncated
			}
			if data[0]>>4 != 6 {
				return SkipMalformed
			}
			plen := int(binary.BigEndian.Uint16(data[4:6]))
			next := layers.IPProtocol(data[6])
			var src16, dst16 [16]byte
			copy(src16[:], data[8:24])
			copy(dst16[:], data[24:40])
			s.src = netip.AddrPortFrom(netip.AddrFrom16(src16), 0)
			s.dst = netip.AddrPortFrom(netip.AddrFrom16(dst16), 0)
			data = data[40:]
			if plen == 0 { // jumbogram or TSO
				plen = len(data)
			}
			// Skip extension headers (RFC 8200, Section 4).
			for i := 0; ; i++ {
				if i > 8 {
					return SkipMalformed
				}
				if !ipv6ExtHeader(next) {
					break
				}
				if len(data) < 8 {
					return SkipTruncated
				}
				if next == layers.IPProtocolIPv6Fragment { // only a first fragment with no more to come is whole
					if off := binary.BigEndian.Uint16(data[2:4]); off&0xfff9 != 0 {
						return SkipFragment
					}
				}
				n := ipv6ExtLen(next, data)
				if len(data) < n || plen < n {
					return SkipTruncated
				}
				next = layers.IPProtocol(data[0])
				data = data[n:]
				plen -= n
			}
			proto = next
			ipPayloadLen = plen
		default:
			return SkipNotIP
		}
		if len(data) > ipPayloadLen {
			data = data[:ipPayloadLen] // link-layer padding
		}
		var why SkipReason
		tcp := false
		switch proto {
		case layers.IPProtocolTCP:
			tcp = true
		case layers.IPProtocolIPv4: // IPv4 in IP
			ethType = layers.EthernetTypeIPv4
		case layers.IPProtocolIPv6: // IPv6 in IP
			ethType = layers.EthernetTypeIPv6
		case layers.IPProtocolGRE:
			ethType, data, why = gre(data)
		case layers.IPProtocolUDP:
			ethType, data, why = vxlan(data)
		default:
			why = SkipNotTCP
		}
		if tcp {
			break
		}
		if why != "" {
			return why
		}
	}
	if proto != layers.IPProtocolTCP {
		return SkipNotTCP
	}
	if len(data) < 20 {
		return SkipTruncated
	}
	off := int(data[12]>>4) * 4
	if off < 20 || ipPayloadLen < off {
		return SkipMalformed
	}
	if len(data) < off {
		return SkipTruncated
	}
	s.src = netip.AddrPortFrom(s.src.Addr(), binary.BigEndian.Uint16(data[0:2]))
	s.dst = netip.AddrPortFrom(s.dst.Addr(), binary.BigEndian.Uint16(data[2:4]))
	s.seq = binary.BigEndian.Uint32(data[4:8])
	s.ack = binary.BigEndian.Uint32(data[8:12])
	s.flags = TCPFlags(data[13])
	s.window = binary.BigEndian.Uint16(data[14:16])
	payloadLen := ipPayloadLen - off
	p := data[off:]
	s.missing = 0
	if len(p) > payloadLen {
		p = p[:payloadLen] // Ethernet padding
	} else if len(p) < payloadLen {
		s.missing = payloadLen - len(p)
	}
	s.payload = p
	return ""
}

// DLT_RAW, as some writers put it in a pcap file instead of LINKTYPE_RAW
// (101): 12 on most systems, 14 on OpenBSD (pcap-linktype(7)).
const (
	linkTypeDLTRaw        layers.LinkType = 12
	linkTypeDLTRawOpenBSD layers.LinkType = 14
)

// ethTypeVLANOld is the VLAN tag ethertype of pre-802.1ad QinQ gear,
// which gopacket does not name.
const ethTypeVLANOld layers.EthernetType = 0x9100

// ipVersion is the ethertype of the IP packet data starts with, told by
// its version: for links and labels that do not say (raw IP, MPLS).
func ipVersion(data []byte) (layers.EthernetType, SkipReason) {
	if len(data) < 1 {
		return 0, SkipTruncated
	}
	switch data[0] >> 4 {
	case 4:
		return layers.EthernetTypeIPv4, ""
	case 6:
		return layers.EthernetTypeIPv6, ""
	}
	return 0, SkipNotIP
}

// gre skips a GRE header (RFC 2784, RFC 2890) and returns the protocol it
// carries: IP, or Ethernet (transparent bridging, 0x6558) whose header it
// skips too.
func gre(data []byte) (layers.EthernetType, []byte, SkipReason) {
	if len(data) < 4 {
		return 0, nil, SkipTruncated
	}
	flags := binary.BigEndian.Uint16(data[0:2])
	if flags&7 != 0 { // version 1 is PPTP's enhanced GRE
		return 0, nil, SkipNotIP
	}
	n := 4
	for _, bit := range []uint16{0x8000, 0x2000, 0x1000} { // checksum, key, sequence
		if flags&bit != 0 {
			n += 4
		}
	}
	if len(data) < n {
		return 0, nil, SkipTruncated
	}
	ethType := layers.EthernetType(binary.BigEndian.Uint16(data[2:4]))
	data = data[n:]
	if ethType == layers.EthernetTypeTransparentEthernetBridging {
		return innerEthernet(data)
	}
	return ethType, data, ""
}

// vxlan skips a UDP header and a VXLAN header (RFC 7348) on the IANA port
// 4789 or Linux's 8472, and the inner Ethernet header. Other UDP is not TCP.
func vxlan(data []byte) (layers.EthernetType, []byte, SkipReason) {
	if len(data) < 8 {
		return 0, nil, SkipTruncated
	}
	if port := binary.BigEndian.Uint16(data[2:4]); port != 4789 && port != 8472 {
		return 0, nil, SkipNotTCP
	}
	data = data[8:]
	if len(data) < 8 {
		return 0, nil, SkipTruncated
	}
	if data[0]&0x08 == 0 { // the VNI-valid flag
		return 0, nil, SkipMalformed
	}
	return innerEthernet(data[8:])
}

func innerEthernet(data []byte) (layers.EthernetType, []byte, SkipReason) {
	if len(data) < 14 {
		return 0, nil, SkipTruncated
	}
	return layers.EthernetType(binary.BigEndian.Uint16(data[12:14])), data[14:], ""
}

// ipv6ExtHeader reports whether next is an IPv6 extension header tlstriage
// skips: hop-by-hop, routing, fragment, destination options, AH, mobility,
// HIP, shim6 (RFC 8200, Section 4).
func ipv6ExtHeader(next layers.IPProtocol) bool {
	switch next {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment,
		layers.IPProtocolIPv6Destination, layers.IPProtocolAH, ipProtocolMobility, ipProtocolHIP, ipProtocolShim6:
		return true
	}
	return false
}

// IPv6 extension headers gopacket does not name (IANA "Protocol Numbers").
const (
	ipProtocolMobility layers.IPProtocol = 135 // RFC 6275
	ipProtocolHIP      layers.IPProtocol = 139 // RFC 7401
	ipProtocolShim6    layers.IPProtocol = 140 // RFC 5533
)

// ipv6ExtLen is the length of the extension header of type next that data
// starts with (at least 8 bytes): fixed for a fragment header, in 4-byte
// units for AH (RFC 4302), in 8-byte units otherwise.
func ipv6ExtLen(next layers.IPProtocol, data []byte) int {
	switch next {
	case layers.IPProtocolIPv6Fragment:
		return 8
	case layers.IPProtocolAH:
		return (int(data[1]) + 2) * 4
	}
	return (int(data[1]) + 1) * 8
}
