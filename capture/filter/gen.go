//go:build !pcap

package filter

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// This file lowers a parsed filter to predicates on packet bytes for one
// link type, and generates a classic BPF program from them. The code has the
// same meaning as libpcap's for the supported subset (checked against
// libpcap in the pcap-tagged tests); it is not optimised as libpcap's is.

// dltRaw is DLT_RAW as libpcap defines it on Linux and most systems (14
// on OpenBSD), the raw IP link type of a live handle; files say
// LINKTYPE_RAW (101) (pcap-linktype(7)).
const dltRaw layers.LinkType = 12

// etherRARP is the Ethernet type of RARP, which gopacket does not name.
const etherRARP layers.EthernetType = 0x8035

// maxInstructions is the kernel's BPF_MAXINSNS.
const maxInstructions = 4096

// pred is a predicate on a packet.
type pred interface{}

type (
	pConst bool
	pAnd   struct{ a, b pred }
	pOr    struct{ a, b pred }
	pNot   struct{ a pred }
	// pCmp loads a value, masks it when mask != 0, and compares it.
	pCmp struct {
		pre  []bpf.Instruction // e.g. ldx for the IPv4 header length
		load bpf.Instruction
		mask uint32
		cond bpf.JumpTest // JumpEqual, JumpGreaterThan or JumpGreaterOrEqual
		val  uint32
	}
)

func and(a, b pred) pred {
	if c, ok := a.(pConst); ok {
		if !c {
			return a
		}
		return b
	}
	if c, ok := b.(pConst); ok {
		if !c {
			return b
		}
		return a
	}
	return pAnd{a, b}
}

func or(a, b pred) pred {
	if c, ok := a.(pConst); ok {
		if c {
			return a
		}
		return b
	}
	if c, ok := b.(pConst); ok {
		if c {
			return b
		}
		return a
	}
	return pOr{a, b}
}

func not(a pred) pred {
	if c, ok := a.(pConst); ok {
		return !c
	}
	if n, ok := a.(pNot); ok {
		return n.a
	}
	return pNot{a}
}

// linkLayer says where the network layer starts and how to test its type.
type linkLayer struct {
	// proto tests the network protocol (an Ethernet type).
	proto func(etherType layers.EthernetType) pred
	nh    uint32 // offset of the network header
}

func eq(load bpf.Instruction, val uint32) pred {
	return pCmp{load: load, cond: bpf.JumpEqual, val: val}
}

func ldb(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 1} }
func ldh(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 2} }
func ldw(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 4} }

// bsdAF tests a 4-byte address family of DLT_NULL (host byte order of the
// capturing machine, so either order) or DLT_LOOP (network byte order).
func bsdAF(families []layers.ProtocolFamily, bothOrders bool) pred {
	var p pred = pConst(false)
	for _, f := range families {
		p = or(p, eq(ldw(0), uint32(f)))
		if bothOrders {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(f))
			p = or(p, eq(ldw(0), binary.BigEndian.Uint32(b[:])))
		}
	}
	return p
}

func linkFor(lt layers.LinkType) (linkLayer, bool) {
	ethAt := func(off uint32) func(layers.EthernetType) pred {
		return func(t layers.EthernetType) pred { return eq(ldh(off), uint32(t)) }
	}
	switch lt {
	case layers.LinkTypeEthernet:
		return linkLayer{proto: ethAt(12), nh: 14}, true
	case layers.LinkTypeLinuxSLL:
		return linkLayer{proto: ethAt(14), nh: 16}, true
	case layers.LinkTypeLinuxSLL2:
		return linkLayer{proto: ethAt(0), nh: 20}, true
	case KernelCooked:
		return linkLayer{proto: func(t layers.EthernetType) pred {
			return eq(bpf.LoadExtension{Num: bpf.ExtProto}, uint32(t))
		}, nh: 0}, true
	case layers.LinkTypeRaw, dltRaw:
		return linkLayer{proto: func(t layers.EthernetType) pred {
			switch t {
			case layers.EthernetTypeIPv4:
				return pCmp{load: ldb(0), mask: 0xf0, cond: bpf.JumpEqual, val: 0x40}
			case layers.EthernetTypeIPv6:
				return pCmp{load: ldb(0), mask: 0xf0, cond: bpf.JumpEqual, val: 0x60}
			}
			return pConst(false)
		}, nh: 0}, true
	case layers.LinkTypeIPv4:
		return linkLayer{proto: func(t layers.EthernetType) pred { return pConst(t == layers.EthernetTypeIPv4) }}, true
	case layers.LinkTypeIPv6:
		return linkLayer{proto: func(t layers.EthernetType) pred { return pConst(t == layers.EthernetTypeIPv6) }}, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		both := lt == layers.LinkTypeNull
		return linkLayer{proto: func(t layers.EthernetType) pred {
			switch t {
			case layers.EthernetTypeIPv4:
				return bsdAF([]layers.ProtocolFamily{layers.ProtocolFamilyIPv4}, both)
			case layers.EthernetTypeIPv6: // NetBSD/OpenBSD, FreeBSD, Darwin
				return bsdAF([]layers.ProtocolFamily{layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin}, both)
			}
			return pConst(false)
		}, nh: 4}, true
	}
	return linkLayer{}, false
}

// lower turns n into a predicate for link layer l.
func lower(n node, l linkLayer) pred {
	switch n := n.(type) {
	case nil:
		return pConst(true)
	case nodeAnd:
		return and(lower(n.l, l), lower(n.r, l))
	case nodeOr:
		return or(lower(n.l, l), lower(n.r, l))
	case nodeNot:
		return not(lower(n.x, l))
	case nodeProto:
		switch n.proto {
		case wordIP:
			return l.proto(layers.EthernetTypeIPv4)
		case wordIP6:
			return l.proto(layers.EthernetTypeIPv6)
		case wordARP:
			return l.proto(layers.EthernetTypeARP)
		case wordRARP:
			return l.proto(etherRARP)
		case wordTCP:
			return or(ip4Proto(l, layers.IPProtocolTCP), ip6Proto(l, layers.IPProtocolTCP))
		case wordUDP:
			return or(ip4Proto(l, layers.IPProtocolUDP), ip6Proto(l, layers.IPProtocolUDP))
		case wordSCTP:
			return or(ip4Proto(l, layers.IPProtocolSCTP), ip6Proto(l, layers.IPProtocolSCTP))
		case wordICMP:
			return ip4Proto(l, layers.IPProtocolICMPv4)
		case wordICMP6:
			return ip6Proto(l, layers.IPProtocolICMPv6)
		}
	case nodeHost:
		bits := 32
		if !n.addr.Is4() {
			bits = 128
		}
		return lowerNet(l, n.proto, n.dir, netip.PrefixFrom(n.addr, bits))
	case nodeNet:
		return lowerNet(l, n.proto, n.dir, n.prefix)
	case nodePort:
		protos := []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolSCTP}
		switch n.proto {
		case wordTCP:
			protos = []layers.IPProtocol{layers.IPProtocolTCP}
		case wordUDP:
			protos = []layers.IPProtocol{layers.IPProtocolUDP}
		case wordSCTP:
			protos = []layers.IPProtocol{layers.IPProtocolSCTP}
		}
		var v4, v6 pred = pConst(false), pConst(false)
		for _, pr := range protos {
			// IPv4: not a non-first fragment; ports after the IHL-sized header.
			msh := []bpf.Instruction{bpf.LoadMemShift{Off: l.nh}}
			portAt := func(off uint32) pred {
				return portCmp(msh, bpf.LoadIndirect{Off: l.nh + off, Size: 2}, n.lo, n.hi)
			}
			v4 = or(v4, and(and(eq(ldb(l.nh+9), uint32(pr)), pCmp{load: ldh(l.nh + 6), mask: 0x1fff, cond: bpf.JumpEqual, val: 0}),
				withDir(n.dir, portAt(0), portAt(2))))
			portAt6 := func(off uint32) pred { return portCmp(nil, ldh(l.nh+40+off), n.lo, n.hi) }
			v6 = or(v6, and(eq(ldb(l.nh+6), uint32(pr)), withDir(n.dir, portAt6(0), portAt6(2))))
		}
		return or(and(l.proto(layers.EthernetTypeIPv4), v4), and(l.proto(layers.EthernetTypeIPv6), v6))
	}
	panic(fmt.Sprintf("capture: unknown filter node %T", n))
}

// ip4Proto tests for IPv4 with the given protocol.
func ip4Proto(l linkLayer, p layers.IPProtocol) pred {
	return and(l.proto(layers.EthernetTypeIPv4), eq(ldb(l.nh+9), uint32(p)))
}

// ip6Proto tests for IPv6 with the given next header, directly or after one
// fragment header, as libpcap does.
func ip6Proto(l linkLayer, p layers.IPProtocol) pred {
	direct := eq(ldb(l.nh+6), uint32(p))
	frag := and(eq(ldb(l.nh+6), uint32(layers.IPProtocolIPv6Fragment)), eq(ldb(l.nh+40), uint32(p)))
	return and(l.proto(layers.EthernetTypeIPv6), or(direct, frag))
}

func portCmp(pre []bpf.Instruction, load bpf.Instruction, lo, hi uint16) pred {
	if lo == hi {
		return pCmp{pre: pre, load: load, cond: bpf.JumpEqual, val: uint32(lo)}
	}
	return and(pCmp{pre: pre, load: load, cond: bpf.JumpGreaterOrEqual, val: uint32(lo)},
		not(pCmp{pre: pre, load: load, cond: bpf.JumpGreaterThan, val: uint32(hi)}))
}

func withDir(d direction, src, dst pred) pred {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and(src, dst)
	}
	return or(src, dst)
}

// lowerNet tests addresses against prefix; a host is a full-length prefix.
// With no protocol qualifier an IPv4 address also matches ARP and RARP
// sender and target addresses, as in libpcap.
func lowerNet(l linkLayer, proto protoWord, d direction, prefix netip.Prefix) pred {
	if prefix.Addr().Is4() {
		ip := and(l.proto(layers.EthernetTypeIPv4), withDir(d, prefixCmp(l.nh+12, prefix), prefixCmp(l.nh+16, prefix)))
		if proto == wordIP {
			return ip
		}
		arp := withDir(d, prefixCmp(l.nh+14, prefix), prefixCmp(l.nh+24, prefix))
		return or(or(ip, and(l.proto(layers.EthernetTypeARP), arp)), and(l.proto(etherRARP), arp))
	}
	return and(l.proto(layers.EthernetTypeIPv6), withDir(d, prefixCmp(l.nh+8, prefix), prefixCmp(l.nh+24, prefix)))
}

// prefixCmp compares the address at off with prefix, one word at a time.
func prefixCmp(off uint32, prefix netip.Prefix) pred {
	addr := prefix.Addr().AsSlice()
	var p pred = pConst(true)
	bits := prefix.Bits()
	for w := 0; w*32 < bits; w++ {
		n := min(bits-w*32, 32)
		mask := uint32(0xffffffff) << (32 - n)
		val := binary.BigEndian.Uint32(addr[4*w:])
		c := pCmp{load: ldw(off + uint32(4*w)), cond: bpf.JumpEqual, val: val & mask}
		if mask != 0xffffffff {
			c.mask = mask
		}
		p = and(p, c)
	}
	return p
}

// Code generation. Conditional jumps go to labels and are resolved at the
// end; classic BPF jumps only forward, and conditional ones at most 255
// instructions, so far targets go through an unconditional jump.

type asmOp struct {
	ins   bpf.Instruction // nil for jumps and labels
	cond  *bpf.JumpIf     // conditional jump to labels t and f
	ja    bool            // unconditional jump to label t
	t, f  int
	label int // >= 0: this op is a label
	far   bool
}

type codegen struct {
	ops    []asmOp
	labels int
}

func (g *codegen) newLabel() int { g.labels++; return g.labels - 1 }

func (g *codegen) place(l int) { g.ops = append(g.ops, asmOp{label: l}) }

func (g *codegen) emit(ins bpf.Instruction) { g.ops = append(g.ops, asmOp{ins: ins, label: -1}) }

func (g *codegen) gen(p pred, t, f int) {
	switch p := p.(type) {
	case pConst:
		target := f
		if p {
			target = t
		}
		g.ops = append(g.ops, asmOp{ja: true, t: target, label: -1})
	case pAnd:
		m := g.newLabel()
		g.gen(p.a, m, f)
		g.place(m)
		g.gen(p.b, t, f)
	case pOr:
		m := g.newLabel()
		g.gen(p.a, t, m)
		g.place(m)
		g.gen(p.b, t, f)
	case pNot:
		g.gen(p.a, f, t)
	case pCmp:
		for _, ins := range p.pre {
			g.emit(ins)
		}
		g.emit(p.load)
		if p.mask != 0 {
			g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: p.mask})
		}
		g.ops = append(g.ops, asmOp{cond: &bpf.JumpIf{Cond: p.cond, Val: p.val}, t: t, f: f, label: -1})
	default:
		panic(fmt.Sprintf("capture: unknown predicate %T", p))
	}
}

// assemble resolves labels into a program.
func (g *codegen) assemble() ([]bpf.Instruction, error) {
	for {
		pos := make([]int, g.labels)
		n := 0
		for _, op := range g.ops {
			switch {
			case op.label >= 0:
				pos[op.label] = n
			case op.cond != nil && op.far:
				n += 3
			default:
				n++
			}
		}
		if n > maxInstructions {
			return nil, fmt.Errorf("capture: filter too complex: %d instructions (limit %d)", n, maxInstructions)
		}
		prog := make([]bpf.Instruction, 0, n)
		retry := false
		for i := range g.ops {
			op := &g.ops[i]
			here := len(prog)
			switch {
			case op.label >= 0:
			case op.ins != nil:
				prog = append(prog, op.ins)
			case op.ja:
				prog = append(prog, bpf.Jump{Skip: uint32(pos[op.t] - here - 1)})
			case op.far:
				prog = append(prog,
					bpf.JumpIf{Cond: op.cond.Cond, Val: op.cond.Val, SkipTrue: 0, SkipFalse: 1},
					bpf.Jump{Skip: uint32(pos[op.t] - here - 2)},
					bpf.Jump{Skip: uint32(pos[op.f] - here - 3)})
			default:
				st, sf := pos[op.t]-here-1, pos[op.f]-here-1
				if st > 255 || sf > 255 {
					op.far = true
					retry = true
					prog = append(prog, nil)
					continue
				}
				prog = append(prog, bpf.JumpIf{Cond: op.cond.Cond, Val: op.cond.Val, SkipTrue: uint8(st), SkipFalse: uint8(sf)})
			}
		}
		if !retry {
			return prog, nil
		}
	}
}

// removeNopJumps drops unconditional jumps to the op right after them.
func (g *codegen) removeNopJumps() {
	out := g.ops[:0]
	for i, op := range g.ops {
		if op.ja {
			next := true
			for _, o := range g.ops[i+1:] {
				if o.label < 0 {
					next = false
					break
				}
				if o.label == op.t {
					break
				}
			}
			if next {
				// Every op up to the target is a label: the jump is a no-op.
				continue
			}
		}
		out = append(out, op)
	}
	g.ops = out
}

// compileBPF compiles a parsed expression for link type lt. The program
// returns snaplen for a match and 0 otherwise.
func compileBPF(n node, lt layers.LinkType, snaplen int) ([]bpf.Instruction, error) {
	l, ok := linkFor(lt)
	if !ok {
		return nil, fmt.Errorf("capture: filter: link type %s (%d) not supported by the built-in compiler; %s", lt, int(lt), pcapHint)
	}
	p := lower(n, l)
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	if c, ok := p.(pConst); ok {
		if c {
			return []bpf.Instruction{bpf.RetConstant{Val: uint32(snaplen)}}, nil
		}
		return []bpf.Instruction{bpf.RetConstant{Val: 0}}, nil
	}
	g := &codegen{}
	accept, reject := g.newLabel(), g.newLabel()
	g.gen(p, accept, reject)
	g.place(accept)
	g.emit(bpf.RetConstant{Val: uint32(snaplen)})
	g.place(reject)
	g.emit(bpf.RetConstant{Val: 0})
	g.removeNopJumps()
	return g.assemble()
}
