//go:build !pcap

package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// This file parses the subset of the pcap-filter(7) language that the
// built-in compiler supports. The grammar follows libpcap's:
//
//	expr    = term { ("and" | "&&" | "or" | "||") term }   // equal precedence, left to right
//	term    = ("not" | "!") term | "(" expr ")" | primitive
//	primitive = proto | [proto] [dir] [type] id
//	proto   = "ip" | "ip6" | "arp" | "rarp" | "tcp" | "udp" | "sctp" | "icmp" | "icmp6"
//	dir     = "src" | "dst" | "src or dst" | "src and dst" (or dst first)
//	type    = "host" | "net" | "port" | "portrange"
//
// As in tcpdump, a bare id takes the qualifiers of the last primitive that
// had an id ("port 443 or 8443" is "port 443 or port 8443"), and with no
// earlier qualifiers it is a host, or a net when it has a prefix length.

type token struct {
	s   string
	pos int
}

// tokenize splits expr into words and the operators ( ) ! && ||.
func tokenize(expr string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '!':
			if c == '!' && i+1 < len(expr) && expr[i+1] == '=' {
				return nil, &Error{Expr: expr, Pos: i, Msg: `unsupported operator "!="`, Unsupported: true}
			}
			toks = append(toks, token{expr[i : i+1], i})
			i++
		case c == '&' || c == '|':
			if i+1 < len(expr) && expr[i+1] == c {
				toks = append(toks, token{expr[i : i+2], i})
				i += 2
				continue
			}
			return nil, &Error{Expr: expr, Pos: i, Msg: fmt.Sprintf("unsupported operator %q (packet data arithmetic)", string(c)), Unsupported: true}
		default:
			j := i
			for j < len(expr) && !strings.ContainsRune(" \t\n\r()!&|", rune(expr[j])) {
				j++
			}
			toks = append(toks, token{expr[i:j], i})
			i = j
		}
	}
	return toks, nil
}

// Directions of a host, net or port primitive.
type direction uint8

const (
	dirEither direction = iota // src or dst (the default)
	dirSrc
	dirDst
	dirBoth // src and dst
)

// AST nodes.
type (
	nodeAnd   struct{ l, r node }
	nodeOr    struct{ l, r node }
	nodeNot   struct{ x node }
	nodeProto struct{ proto protoWord }
	nodeHost  struct {
		proto protoWord // anyProto, wordIP or wordIP6
		dir   direction
		addr  netip.Addr
	}
	nodeNet struct {
		proto  protoWord // anyProto, wordIP or wordIP6
		dir    direction
		prefix netip.Prefix
	}
	nodePort struct {
		proto  protoWord // anyProto, wordTCP, wordUDP or wordSCTP
		dir    direction
		lo, hi uint16
	}
)

type node interface{}

// protoWord is a protocol keyword: a primitive on its own ("tcp") or a
// qualifier ("tcp port 443").
type protoWord uint8

const (
	anyProto protoWord = iota // no protocol qualifier
	wordIP
	wordIP6
	wordARP
	wordRARP
	wordTCP
	wordUDP
	wordSCTP
	wordICMP
	wordICMP6
)

var protoNames = [...]string{
	anyProto: "", wordIP: "ip", wordIP6: "ip6", wordARP: "arp", wordRARP: "rarp",
	wordTCP: "tcp", wordUDP: "udp", wordSCTP: "sctp", wordICMP: "icmp", wordICMP6: "icmp6",
}

// String returns the keyword.
func (w protoWord) String() string { return protoNames[w] }

var protoWords = map[string]protoWord{}

// idType is the type qualifier of a primitive: what its id is.
type idType uint8

const (
	anyType idType = iota // no type qualifier
	typeHost
	typeNet
	typePort
	typePortrange
)

var typeNames = [...]string{anyType: "", typeHost: "host", typeNet: "net", typePort: "port", typePortrange: "portrange"}

// String returns the keyword.
func (t idType) String() string { return typeNames[t] }

var typeWords = map[string]idType{}

func init() {
	for w, s := range protoNames {
		if s != "" {
			protoWords[s] = protoWord(w)
		}
	}
	for t, s := range typeNames {
		if s != "" {
			typeWords[s] = idType(t)
		}
	}
}

// libpcapWords are pcap-filter keywords the built-in compiler does not
// implement; naming them gives a better error than "not an address".
var libpcapWords = map[string]bool{
	"ether": true, "fddi": true, "tr": true, "wlan": true, "ppp": true, "slip": true, "link": true,
	"vlan": true, "mpls": true, "pppoed": true, "pppoes": true, "geneve": true, "vxlan": true,
	"gateway": true, "broadcast": true, "multicast": true, "less": true, "greater": true, "len": true,
	"proto": true, "protochain": true, "atalk": true, "aarp": true, "decnet": true, "iso": true,
	"stp": true, "ipx": true, "netbeui": true, "lat": true, "sca": true, "moprc": true, "mopdl": true,
	"esis": true, "isis": true, "clnp": true, "l1": true, "l2": true, "iih": true, "lsp": true,
	"snp": true, "csnp": true, "psnp": true, "igmp": true, "igrp": true, "pim": true, "ah": true,
	"esp": true, "vrrp": true, "carp": true, "radio": true, "inbound": true, "outbound": true,
	"ifindex": true, "ifname": true, "on": true, "rnr": true, "rulenum": true, "reason": true,
	"rset": true, "ruleset": true, "srnr": true, "subrulenum": true, "action": true, "type": true,
	"subtype": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true, "ta": true,
	"llc": true, "hdpr": true, "lane": true, "oam": true, "oamf4": true, "oamf4ec": true,
	"oamf4sc": true, "metac": true, "bcc": true, "sc": true, "ilmic": true, "connectmsg": true,
	"metaconnect": true, "vpi": true, "vci": true, "fisu": true, "lssu": true, "msu": true,
	"sio": true, "opc": true, "dpc": true, "sls": true, "hfisu": true, "hlssu": true, "hmsu": true,
	"hsio": true, "hopc": true, "hdpc": true, "hsls": true, "gateway6": true, "mask6": true,
}

// servicePorts are the service names accepted for port and portrange.
var servicePorts = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80,
	"pop3": 110, "imap": 143, "ldap": 389, "https": 443, "submissions": 465, "submission": 587,
	"ldaps": 636, "imaps": 993, "pop3s": 995, "http-alt": 8080,
}

type qualifiers struct {
	proto protoWord
	dir   direction
	typ   idType
}

type parser struct {
	expr string
	toks []token
	i    int
	last *qualifiers // qualifiers of the last primitive with an id
}

// parse parses expr. The empty expression yields a nil node, which
// matches every packet.
func parse(expr string) (node, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{expr: expr, toks: toks}
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.s == ")" {
			return nil, p.errf(t.pos, "unbalanced %q", ")")
		}
		return nil, p.errf(t.pos, "expected \"and\" or \"or\" before %q", t.s)
	}
	return n, nil
}

func (p *parser) errf(pos int, format string, args ...any) error {
	return &Error{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unsupported(pos int, format string, args ...any) error {
	return &Error{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...), Unsupported: true}
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{pos: len(p.expr)}, false
}

func (p *parser) peekAt(k int) string {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k].s
	}
	return ""
}

func (p *parser) parseExpr() (node, error) {
	n, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok {
			return n, nil
		}
		switch t.s {
		case "and", "&&":
			p.i++
			r, err := p.parseTerm()
			if err != nil {
				return nil, err
			}
			n = nodeAnd{n, r}
		case "or", "||":
			p.i++
			r, err := p.parseTerm()
			if err != nil {
				return nil, err
			}
			n = nodeOr{n, r}
		default:
			return n, nil
		}
	}
}

func (p *parser) parseTerm() (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errf(t.pos, "unexpected end of expression")
	}
	switch t.s {
	case "not", "!":
		p.i++
		x, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		return nodeNot{x}, nil
	case "(":
		p.i++
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c, ok := p.peek()
		if !ok || c.s != ")" {
			return nil, p.errf(t.pos, "unbalanced %q", "(")
		}
		p.i++
		return n, nil
	case ")", "and", "&&", "or", "||":
		return nil, p.errf(t.pos, "unexpected %q", t.s)
	}
	return p.parsePrimitive()
}

func (p *parser) parsePrimitive() (node, error) {
	start, _ := p.peek()
	var q qualifiers
	explicit := false
	if proto, ok := protoWords[start.s]; ok {
		next := p.peekAt(1)
		if _, typed := typeWords[next]; next != "src" && next != "dst" && !typed {
			p.i++
			p.last = nil
			return nodeProto{proto}, nil
		}
		q.proto = proto
		explicit = true
		p.i++
	}
	if t, _ := p.peek(); t.s == "src" || t.s == "dst" {
		explicit = true
		p.i++
		q.dir = dirSrc
		if t.s == "dst" {
			q.dir = dirDst
		}
		op, other := p.peekAt(0), p.peekAt(1)
		if (op == "or" || op == "and") && (other == "src" || other == "dst") && other != t.s {
			p.i += 2
			q.dir = dirEither
			if op == "and" {
				q.dir = dirBoth
			}
		}
	}
	if t, _ := p.peek(); typeWords[t.s] != anyType {
		explicit = true
		q.typ = typeWords[t.s]
		p.i++
	}
	idTok, ok := p.peek()
	if !ok {
		return nil, p.errf(idTok.pos, "missing address or port after %q", p.toks[p.i-1].s)
	}
	id := idTok.s
	if err := p.checkID(idTok); err != nil {
		return nil, err
	}
	p.i++
	if !explicit {
		if p.last != nil {
			q = *p.last
		}
	}
	if q.typ == anyType {
		q.typ = typeHost
		if strings.Contains(id, "/") {
			q.typ = typeNet
		}
	}
	last := q
	p.last = &last
	switch q.typ {
	case typeHost:
		return p.host(q, idTok)
	case typeNet:
		return p.net(q, idTok)
	default:
		return p.port(q, idTok)
	}
}

// checkID rejects keywords and operators where an id is expected.
func (p *parser) checkID(t token) error {
	switch {
	case t.s == "(" || t.s == ")" || t.s == "!" || t.s == "&&" || t.s == "||" ||
		t.s == "and" || t.s == "or" || t.s == "not":
		return p.errf(t.pos, "expected an address or port, found %q", t.s)
	case protoWords[t.s] != anyProto || typeWords[t.s] != anyType || t.s == "src" || t.s == "dst":
		return p.errf(t.pos, "unexpected %q (qualifiers go in the order proto, dir, type: \"tcp src port 443\")", t.s)
	case libpcapWords[t.s] || strings.ContainsAny(t.s, "[]=<>+*%^") || t.s == "mask":
		return p.unsupported(t.pos, "unsupported word %q", t.s)
	}
	return nil
}

func (p *parser) host(q qualifiers, t token) (node, error) {
	switch q.proto {
	case anyProto, wordIP, wordIP6:
	default:
		return nil, p.errf(t.pos, "%q qualifier applied to host", q.proto)
	}
	addr, err := netip.ParseAddr(t.s)
	if err != nil {
		if looksLikeHostname(t.s) {
			return nil, p.unsupported(t.pos, "host name %q: the built-in compiler does not resolve names; use an IP address", t.s)
		}
		return nil, p.errf(t.pos, "%q is not an IP address", t.s)
	}
	addr = addr.WithZone("")
	if err := p.checkFamily(q.proto, addr, t); err != nil {
		return nil, err
	}
	return nodeHost{proto: q.proto, dir: q.dir, addr: addr}, nil
}

func (p *parser) checkFamily(proto protoWord, addr netip.Addr, t token) error {
	if proto == wordIP && !addr.Is4() {
		return p.errf(t.pos, "%q is not an IPv4 address (qualifier ip)", t.s)
	}
	if proto == wordIP6 && addr.Is4() {
		return p.errf(t.pos, "%q is not an IPv6 address (qualifier ip6)", t.s)
	}
	return nil
}

func (p *parser) net(q qualifiers, t token) (node, error) {
	switch q.proto {
	case anyProto, wordIP, wordIP6:
	default:
		return nil, p.errf(t.pos, "%q qualifier applied to net", q.proto)
	}
	var prefix netip.Prefix
	if p.peekAt(0) == "mask" {
		p.i++
		mt, ok := p.peek()
		if !ok {
			return nil, p.errf(mt.pos, "missing netmask after %q", "mask")
		}
		p.i++
		a, err := netip.ParseAddr(t.s)
		if err != nil || !a.Is4() {
			return nil, p.errf(t.pos, "%q is not an IPv4 network (net ... mask ... is IPv4 only)", t.s)
		}
		m, err := netip.ParseAddr(mt.s)
		if err != nil || !m.Is4() {
			return nil, p.errf(mt.pos, "%q is not an IPv4 netmask", mt.s)
		}
		mb := m.As4()
		mask := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		bits := 0
		for bits < 32 && mask&(1<<(31-bits)) != 0 {
			bits++
		}
		if bits < 32 && mask<<bits != 0 {
			return nil, p.unsupported(mt.pos, "non-contiguous netmask %q", mt.s)
		}
		prefix = netip.PrefixFrom(a, bits)
	} else if strings.Contains(t.s, "/") {
		var err error
		prefix, err = netip.ParsePrefix(t.s)
		if err != nil {
			// libpcap also accepts a short IPv4 network before the slash.
			i := strings.IndexByte(t.s, '/')
			_, ok := parsePartialIPv4(t.s[:i])
			bits, berr := strconv.Atoi(t.s[i+1:])
			if !ok || berr != nil || bits < 0 || bits > 32 {
				return nil, p.errf(t.pos, "%q is not a network (want address/length)", t.s)
			}
			prefix = netip.PrefixFrom(expandPartialIPv4(t.s[:i]), bits)
		}
	} else if a, err := netip.ParseAddr(t.s); err == nil {
		if a.Is4() {
			prefix = netip.PrefixFrom(a, 32)
		} else {
			prefix = netip.PrefixFrom(a, 128)
		}
	} else if n, ok := parsePartialIPv4(t.s); ok {
		prefix = netip.PrefixFrom(expandPartialIPv4(t.s), 8*n)
	} else {
		return nil, p.errf(t.pos, "%q is not a network", t.s)
	}
	addr := prefix.Addr().WithZone("")
	prefix = netip.PrefixFrom(addr, prefix.Bits())
	if prefix.Masked() != prefix {
		return nil, p.errf(t.pos, "non-network bits set in %q", t.s)
	}
	if err := p.checkFamily(q.proto, addr, t); err != nil {
		return nil, err
	}
	return nodeNet{proto: q.proto, dir: q.dir, prefix: prefix}, nil
}

func (p *parser) port(q qualifiers, t token) (node, error) {
	switch q.proto {
	case anyProto, wordTCP, wordUDP, wordSCTP:
	default:
		if q.proto == wordIP || q.proto == wordIP6 {
			return nil, p.unsupported(t.pos, "%q qualifier applied to %s", q.proto, q.typ)
		}
		return nil, p.errf(t.pos, "%q qualifier applied to %s", q.proto, q.typ)
	}
	if q.typ == typePort {
		n, err := p.portNumber(t.s, t.pos)
		if err != nil {
			return nil, err
		}
		return nodePort{proto: q.proto, dir: q.dir, lo: n, hi: n}, nil
	}
	a, b, ok := strings.Cut(t.s, "-")
	if !ok {
		return nil, p.errf(t.pos, "%q is not a port range (want low-high)", t.s)
	}
	lo, err := p.portNumber(a, t.pos)
	if err != nil {
		return nil, err
	}
	hi, err := p.portNumber(b, t.pos+len(a)+1)
	if err != nil {
		return nil, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return nodePort{proto: q.proto, dir: q.dir, lo: lo, hi: hi}, nil
}

func (p *parser) portNumber(s string, pos int) (uint16, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), nil
	}
	if n, ok := servicePorts[s]; ok {
		return n, nil
	}
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return 0, p.errf(pos, "port %s out of range (0-65535)", s)
	}
	if looksLikeHostname(s) {
		return 0, p.unsupported(pos, "unknown service name %q; use a port number", s)
	}
	return 0, p.errf(pos, "%q is not a port", s)
}

// parsePartialIPv4 reports whether s is 1 to 4 dotted decimal octets, and
// how many.
func parsePartialIPv4(s string) (int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	for _, part := range parts {
		if n, err := strconv.ParseUint(part, 10, 8); err != nil || (len(part) > 1 && part[0] == '0') || n > 255 {
			return 0, false
		}
	}
	return len(parts), true
}

// expandPartialIPv4 turns "10.1" into 10.1.0.0; s must be valid for
// parsePartialIPv4.
func expandPartialIPv4(s string) netip.Addr {
	var b [4]byte
	for i, part := range strings.Split(s, ".") {
		n, _ := strconv.ParseUint(part, 10, 8)
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b)
}

// looksLikeHostname reports whether s could be a DNS or service name.
func looksLikeHostname(s string) bool {
	if s == "" {
		return false
	}
	hasLetter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			hasLetter = true
		case c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return hasLetter
}
