//go:build !pcap

package filter

import (
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Expr is a parsed filter expression, ready to be compiled for a link type.
// It is immutable and safe for concurrent use.
type Expr struct {
	text string
	root node // nil for the empty expression
}

// KernelCooked is the pseudo link type of a Linux SOCK_DGRAM packet socket:
// the data starts at the network header, and the program reads the
// protocol from the kernel's ancillary data (SKF_AD_PROTOCOL). Only the
// kernel runs such programs, not Matcher.
const KernelCooked layers.LinkType = 0xfffe

// Parse parses a pcap-filter(7) expression. The empty expression matches
// every frame.
//
// This build parses the subset of the syntax people use with tcpdump: the
// primitives host, net (address/length or "net X mask Y"), port and
// portrange with src/dst qualifiers, the protocols ip, ip6, arp, rarp, tcp,
// udp, sctp, icmp and icmp6, the operators and/&&, or/||, not/! and
// parentheses, and tcpdump's shorthand "port 443 or 8443". Addresses are
// IPv4 or IPv6 literals; names are not resolved. Errors are *Error values
// giving the offset of the offending word; valid libpcap syntax outside the
// subset gives an error wrapping ErrUnsupported. The pcap build (go build
// -tags pcap) compiles the full syntax with libpcap.
func Parse(text string) (*Expr, error) {
	root, err := parse(text)
	if err != nil {
		return nil, err
	}
	return &Expr{text: text, root: root}, nil
}

// Compile compiles e to a classic BPF program for frames of link type lt,
// as libpcap's pcap_compile would for the supported subset. The program
// returns snaplen (DefaultSnaplen if snaplen <= 0) for a matching frame and
// 0 otherwise.
//
// Supported link types are Ethernet, Linux cooked (SLL and SLL2), raw IP,
// BSD loopback and KernelCooked. As in libpcap, nothing matches inside
// 802.1Q VLAN tags (libpcap needs "vlan" for that, which this build lacks).
func (e *Expr) Compile(lt layers.LinkType, snaplen int) ([]bpf.Instruction, error) {
	return compileBPF(e.root, lt, snaplen)
}
