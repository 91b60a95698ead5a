//go:build !pcap

package capture

import "github.com/gopacket/gopacket/layers"

// CompileFilter compiles a pcap-filter(7) expression for frames of link type
// lt; matching frames are kept up to snaplen bytes (DefaultSnaplen if
// snaplen <= 0). The empty expression matches every frame.
//
// This build compiles the subset of the syntax people use with tcpdump: the
// primitives host, net (address/length or "net X mask Y"), port and
// portrange with src/dst qualifiers, the protocols ip, ip6, arp, rarp, tcp,
// udp, sctp, icmp and icmp6, the operators and/&&, or/||, not/! and
// parentheses, and tcpdump's shorthand "port 443 or 8443". Addresses are
// IPv4 or IPv6 literals; names are not resolved. Supported link types are
// Ethernet, Linux cooked (SLL and SLL2), raw IP and BSD loopback. As in
// libpcap, nothing matches inside 802.1Q VLAN tags (libpcap needs "vlan"
// for that, which this build lacks). Anything else is an error wrapping
// ErrFilterUnsupported; the pcap build (go build -tags pcap) compiles the
// full syntax with libpcap.
func CompileFilter(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	return compileBuiltin(expr, lt, snaplen)
}
