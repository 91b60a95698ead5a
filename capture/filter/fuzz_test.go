//go:build !pcap

package filter

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// FuzzParse checks that Parse never panics, that an error comes with no
// Expr, and that whatever parses compiles to a program the BPF machine
// accepts for every supported link type.
func FuzzParse(f *testing.F) {
	for _, tc := range matchTests {
		f.Add(tc.expr)
	}
	f.Add("tcp port")
	f.Add("net 10.0.0.0 mask 255.255.255.0 or ip6 src net 2001:db8::/32")
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Parse(expr)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse(%q) returned an Expr with error %v", expr, err)
			}
			return
		}
		for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull, KernelCooked} {
			prog, err := e.Compile(lt, 0)
			if err != nil {
				continue // too complex
			}
			if _, err := bpf.Assemble(prog); err != nil {
				t.Fatalf("%q for %v: %v", expr, lt, err)
			}
			if lt == KernelCooked {
				continue
			}
			if _, err := bpf.NewVM(prog); err != nil {
				t.Fatalf("%q for %v: %v", expr, lt, err)
			}
		}
	})
}
