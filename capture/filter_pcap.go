//go:build pcap

package capture

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// CompileFilter compiles a pcap-filter(7) expression for frames of link type
// lt; matching frames are kept up to snaplen bytes (DefaultSnaplen if
// snaplen <= 0). The empty expression matches every frame.
//
// This build compiles with libpcap (pcap_compile), so the whole syntax is
// available, host names included (they are resolved when compiling).
// Errors are *FilterError values with libpcap's message.
func CompileFilter(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	insns, err := pcap.CompileBPFFilter(lt, snaplen, expr)
	if rejectsAll(err) {
		return newFilter(expr, lt, snaplen, []bpf.Instruction{bpf.RetConstant{Val: 0}})
	}
	if err != nil {
		return nil, &FilterError{Expr: expr, Pos: -1, Msg: pcapFilterMessage(err)}
	}
	raw := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, &FilterError{Expr: expr, Pos: -1, Msg: "libpcap produced instructions the in-process BPF machine does not run: " + strings.TrimSpace(bpfListing(prog))}
	}
	return newFilter(expr, lt, snaplen, prog)
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
