package filter

import (
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// testPackets are the network layers of the test frames, by name.
var testPackets = []struct {
	name string
	p    packet
}{
	{"tcp4", packet{src: "10.0.0.1", dst: "10.0.0.2", proto: layers.IPProtocolTCP, sport: 40000, dport: 443}},
	{"tcp4-short", packet{src: "10.0.0.1", dst: "10.0.0.2", proto: layers.IPProtocolTCP, truncateTransport: true}},
	{"frag4", packet{src: "10.0.0.1", dst: "10.0.0.2", proto: layers.IPProtocolTCP, sport: 40000, dport: 443, fragOff: 100}},
	{"udp4", packet{src: "10.0.0.1", dst: "192.168.1.1", proto: layers.IPProtocolUDP, sport: 5353, dport: 53}},
	{"icmp4", packet{src: "10.0.0.1", dst: "10.0.0.2", proto: layers.IPProtocolICMPv4}},
	{"sctp4", packet{src: "10.0.0.1", dst: "10.0.0.2", proto: layers.IPProtocolSCTP, sport: 3868, dport: 3868}},
	{"arp", packet{src: "10.0.0.1", dst: "10.0.0.2", arp: true}},
	{"tcp6", packet{v6: true, src: "2001:db8::1", dst: "2001:db8::2", proto: layers.IPProtocolTCP, sport: 40000, dport: 8443}},
	{"frag6", packet{v6: true, src: "2001:db8::1", dst: "2001:db8::2", proto: layers.IPProtocolTCP, sport: 40000, dport: 8443, fragHeader: true}},
	{"icmp6", packet{v6: true, src: "2001:db8::1", dst: "2001:db8::2", proto: layers.IPProtocolICMPv6}},
}

// linkTypeDLTRaw is DLT_RAW on Linux, the value libpcap compiles raw IP
// for; files say LINKTYPE_RAW (layers.LinkTypeRaw).
const linkTypeDLTRaw layers.LinkType = 12

// testLinkTypes are the link types every test frame is built for.
var testLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeRaw, linkTypeDLTRaw, layers.LinkTypeNull, layers.LinkTypeLoop,
}

// testFrames builds every test packet on every test link type (ARP only
// where the link layer can carry it), and an 802.1Q-tagged "vlan-tcp4" on
// Ethernet.
//
// In the pcap build it leaves out the frames on which libpcap and the
// built-in compiler differ by design: IPv6 over BSD loopback, where libpcap
// compares the address family with the compiling system's AF_INET6 (10 on
// Linux), the built-in compiler with the values BSD and macOS captures hold
// (24, 28, 30).
func testFrames(t *testing.T) []frame {
	t.Helper()
	var frames []frame
	for _, lt := range testLinkTypes {
		for _, tp := range testPackets {
			if libpcapBuild && tp.p.v6 && (lt == layers.LinkTypeNull || lt == layers.LinkTypeLoop) {
				continue
			}
			b, et := ipLayers(t, tp.p)
			if data := onLink(t, lt, et, b); data != nil {
				frames = append(frames, frame{name: tp.name, lt: lt, data: data})
			}
		}
	}
	b, et := ipLayers(t, testPackets[0].p)
	return append(frames, frame{name: "vlan-tcp4", lt: layers.LinkTypeEthernet, data: vlanFrame(et, b)})
}

// matchTests give, for each expression, the test packets it matches. The
// same table checks the built-in compiler in the default build and libpcap
// in the pcap build, so the two agree on it.
var matchTests = []struct {
	expr string
	want string // names of the matching packets, space-separated; "*" for all
}{
	{"", "*"},
	{"ip", "tcp4 tcp4-short frag4 udp4 icmp4 sctp4"},
	{"ip6", "tcp6 frag6 icmp6"},
	{"arp", "arp"},
	{"rarp", ""},
	{"tcp", "tcp4 tcp4-short frag4 tcp6 frag6"},
	{"udp", "udp4"},
	{"sctp", "sctp4"},
	{"icmp", "icmp4"},
	{"icmp6", "icmp6"},
	{"tcp and udp", ""},
	{"port 443", "tcp4"},
	{"tcp port 443", "tcp4"},
	{"udp port 443", ""},
	{"port domain", "udp4"},
	{"src port 40000", "tcp4 tcp6"},
	{"dst port 40000", ""},
	{"src or dst port 40000", "tcp4 tcp6"},
	{"src and dst port 3868", "sctp4"},
	{"sctp port 3868", "sctp4"},
	{"port 443 or 8443", "tcp4 tcp6"},
	{"tcp port 443 or 8443", "tcp4 tcp6"},
	{"portrange 8000-9000", "tcp6"},
	{"dst portrange 9000-8000", "tcp6"},
	{"tcp and not port 443", "frag4 tcp6 frag6"},
	{"not port 443", "frag4 udp4 icmp4 sctp4 arp tcp6 frag6 icmp6 vlan-tcp4"},
	{"host 10.0.0.2", "tcp4 tcp4-short frag4 icmp4 sctp4 arp"},
	{"ip host 10.0.0.2", "tcp4 tcp4-short frag4 icmp4 sctp4"},
	{"src host 10.0.0.1", "tcp4 tcp4-short frag4 udp4 icmp4 sctp4 arp"},
	{"dst host 10.0.0.1", ""},
	{"host 10.0.0.2 or 192.168.1.1", "tcp4 tcp4-short frag4 udp4 icmp4 sctp4 arp"},
	{"src and dst net 10.0.0.0/8", "tcp4 tcp4-short frag4 icmp4 sctp4 arp"},
	{"net 192.168/16", "udp4"},
	{"net 10.0.0.0/30", "tcp4 tcp4-short frag4 udp4 icmp4 sctp4 arp"},
	{"dst net 10.0.0.0 mask 255.255.255.254", ""},
	{"dst net 10.0.0.2 mask 255.255.255.255", "tcp4 tcp4-short frag4 icmp4 sctp4 arp"},
	{"host 2001:db8::2", "tcp6 frag6 icmp6"},
	{"ip6 src host 2001:db8::1", "tcp6 frag6 icmp6"},
	{"net 2001:db8::/32", "tcp6 frag6 icmp6"},
	{"dst net 2001:db8::/127", ""},
	{"dst net 2001:db8::2/127", "tcp6 frag6 icmp6"},
	{"not tcp", "udp4 icmp4 sctp4 arp icmp6 vlan-tcp4"},
	{"tcp && ! ip6", "tcp4 tcp4-short frag4"},
	{"(tcp or udp) and dst port 53", "udp4"},
	{"tcp or udp and dst port 53", "udp4"},
	{"not (icmp or icmp6) and host 10.0.0.1", "tcp4 tcp4-short frag4 udp4 sctp4 arp"},
}

func TestMatch(t *testing.T) {
	frames := testFrames(t)
	matchers := map[string]map[layers.LinkType]*Matcher{}
	for _, tc := range matchTests {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if e.String() != tc.expr {
			t.Errorf("Parse(%q).String() = %q", tc.expr, e.String())
		}
		matchers[tc.expr] = map[layers.LinkType]*Matcher{}
		for _, lt := range testLinkTypes {
			m, err := e.Matcher(lt)
			if err != nil {
				t.Errorf("%q for %v: %v", tc.expr, lt, err)
				continue
			}
			matchers[tc.expr][lt] = m
		}
	}
	for _, tc := range matchTests {
		want := strings.Fields(tc.want)
		for _, f := range frames {
			m := matchers[tc.expr][f.lt]
			if m == nil {
				continue
			}
			wantMatch := tc.want == "*" || slices.Contains(want, f.name)
			if got := m.Match(f.data); got != wantMatch {
				t.Errorf("%q on %s over %v: match %v, want %v", tc.expr, f.name, f.lt, got, wantMatch)
			}
		}
	}
}

// TestCompileSnaplen checks the value a program returns for a match.
func TestCompileSnaplen(t *testing.T) {
	e, err := Parse("tcp")
	if err != nil {
		t.Fatal(err)
	}
	b, et := ipLayers(t, testPackets[0].p)
	data := onLink(t, layers.LinkTypeEthernet, et, b)
	for _, tc := range []struct{ snaplen, want int }{{0, DefaultSnaplen}, {-1, DefaultSnaplen}, {96, 96}} {
		prog, err := e.Compile(layers.LinkTypeEthernet, tc.snaplen)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := vm.Run(data); err != nil || n != tc.want {
			t.Errorf("snaplen %d: program returns %d, %v; want %d", tc.snaplen, n, err, tc.want)
		}
	}
}

func TestSet(t *testing.T) {
	e, err := Parse("tcp port 443")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range testFrames(t) {
		if got, want := s.Match(f.data, f.lt), f.name == "tcp4"; got != want {
			t.Errorf("%s over %v: match %v, want %v", f.name, f.lt, got, want)
		}
	}
	// A link type neither compiler knows (DLT_USER0) matches nothing, every
	// time.
	for range 2 {
		if s.Match([]byte{0, 1, 2, 3}, layers.LinkType(147)) {
			t.Error("a frame of a link type the filter cannot be compiled for matched")
		}
	}
}
