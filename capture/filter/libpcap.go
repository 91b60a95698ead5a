//go:build pcap

package filter

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// Expr is a filter expression checked by libpcap, ready to be compiled for
// a link type. It is immutable and safe for concurrent use.
type Expr struct {
	text string
}

// bpfRetK is the opcode of "ret #k" (BPF_RET|BPF_K).
const bpfRetK = 0x06

// Parse checks a pcap-filter(7) expression. The empty expression matches
// every frame.
//
// This build checks the expression with libpcap (pcap_compile for
// Ethernet, as libpcap has no parser on its own), so the whole syntax is
// available, host names included (they are resolved when compiling).
// Errors are *Error values with libpcap's message.
func Parse(text string) (*Expr, error) {
	if _, err := compileLibpcap(text, layers.LinkTypeEthernet, DefaultSnaplen); err != nil {
		return nil, err
	}
	return &Expr{text: text}, nil
}

// Compile compiles e to a classic BPF program for frames of link type lt
// with libpcap (pcap_compile). The program returns snaplen
// (DefaultSnaplen if snaplen <= 0) for a matching frame and 0 otherwise.
// An expression that matches nothing ("tcp and udp") gives a program that
// rejects every frame. It is an error if libpcap produces instructions that
// golang.org/x/net/bpf cannot decode.
func (e *Expr) Compile(lt layers.LinkType, snaplen int) ([]bpf.Instruction, error) {
	return compileLibpcap(e.text, lt, snaplen)
}

func compileLibpcap(expr string, lt layers.LinkType, snaplen int) ([]bpf.Instruction, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	insns, err := pcap.CompileBPFFilter(dltOf(lt), snaplen, expr)
	if rejectsAll(err) {
		return []bpf.Instruction{bpf.RetConstant{Val: 0}}, nil
	}
	if err != nil {
		return nil, libpcapError(expr, err)
	}
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, &Error{Expr: expr, Pos: -1, Msg: "libpcap produced instructions the in-process BPF machine does not run: " + strings.TrimSpace(bpfListing(prog))}
	}
	return prog, nil
}

// dltOf is the DLT_ value libpcap's compiler takes (pcap_open_dead) for
// link type lt. Files and gopacket give LINKTYPE_ values, which are the
// same number except for a few (pcap-linktype(7); libpcap's
// linktype_to_dlt): LINKTYPE_RAW (101) is DLT_RAW (12, 14 on OpenBSD),
// LINKTYPE_ATM_RFC1483 (100) is DLT_ATM_RFC1483 (11), and on OpenBSD
// LINKTYPE_LOOP (108) is DLT_LOOP (12). A DLT_ value, such as a live
// handle's, is passed through: none of these three is one.
func dltOf(lt layers.LinkType) layers.LinkType {
	openBSD := runtime.GOOS == "openbsd"
	switch {
	case lt == layers.LinkTypeRaw && openBSD:
		return 14
	case lt == layers.LinkTypeRaw:
		return 12
	case lt == layers.LinkTypeATM_RFC1483:
		return 11
	case lt == layers.LinkTypeLoop && openBSD:
		return 12
	}
	return lt
}

// SetLive compiles expr with libpcap for the live handle h, as tcpdump
// does (primitives such as "ip broadcast" and "inbound" depend on the
// interface), and makes it h's filter. Errors are *Error values with
// libpcap's message.
func SetLive(h *pcap.Handle, expr string) error {
	err := h.SetBPFFilter(expr)
	if rejectsAll(err) {
		err = h.SetBPFInstructionFilter([]pcap.BPFInstruction{{Code: bpfRetK}})
	}
	if err != nil {
		return libpcapError(expr, err)
	}
	return nil
}

// libpcapError wraps libpcap's message about expr.
func libpcapError(expr string, err error) error {
	return &Error{Expr: expr, Pos: -1, Msg: strings.TrimSpace(err.Error())}
}

// bpfListing lists the instructions that could not be decoded.
func bpfListing(prog []bpf.Instruction) string {
	var b strings.Builder
	for _, in := range prog {
		if r, ok := in.(bpf.RawInstruction); ok {
			fmt.Fprintf(&b, " {op %#x k %#x}", r.Op, r.K)
		}
	}
	return b.String()
}

// rejectsAll reports whether libpcap refused a valid expression because it
// matches nothing ("tcp and udp"); such a filter is kept, as a program
// that rejects every frame, rather than treated as an error.
func rejectsAll(err error) bool {
	return err != nil && strings.Contains(err.Error(), "expression rejects all packets")
}
