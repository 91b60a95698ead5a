//go:build !pcap

package filter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

func compileOrFatal(t *testing.T, expr string, lt layers.LinkType) []bpf.Instruction {
	t.Helper()
	e, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := e.Compile(lt, 0)
	if err != nil {
		t.Fatalf("%q for %v: %v", expr, lt, err)
	}
	return prog
}

// TestCompileLongJumps checks an expression whose jumps go past the 255
// instructions a conditional jump can skip.
func TestCompileLongJumps(t *testing.T) {
	var hosts []string
	for i := range 100 {
		hosts = append(hosts, fmt.Sprintf("192.168.%d.%d", i/250, 1+i%250))
	}
	expr := "tcp and (ip host " + strings.Join(hosts, " or ") + " or 10.0.0.2)"
	prog := compileOrFatal(t, expr, layers.LinkTypeEthernet)
	far := false
	for _, in := range prog {
		if j, ok := in.(bpf.Jump); ok && j.Skip > 255 {
			far = true
		}
	}
	if !far {
		t.Fatalf("%d instructions and no far jump: make the expression longer", len(prog))
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range testFrames(t) {
		if f.lt != layers.LinkTypeEthernet {
			continue
		}
		n, err := vm.Run(f.data)
		want := f.name == "tcp4" || f.name == "tcp4-short" || f.name == "frag4"
		if err != nil || (n > 0) != want {
			t.Errorf("%s: program returns %d, %v; want a match %v", f.name, n, err, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	var ports []string
	for i := range 2000 {
		ports = append(ports, fmt.Sprint(i))
	}
	e, err := Parse("port " + strings.Join(ports, " or "))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Compile(layers.LinkTypeEthernet, 0); err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Errorf("2000 ports: %v, want a too complex error", err)
	}
	if _, err := NewSet(e); err == nil {
		t.Error("NewSet accepted an expression too long to compile")
	}
	e, err = Parse("tcp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Compile(layers.LinkTypeFDDI, 0); err == nil || !strings.Contains(err.Error(), pcapHint) {
		t.Errorf("FDDI: %v, want an unsupported link type error", err)
	}
}

// TestKernelCooked checks the program for a SOCK_DGRAM packet socket: the
// protocol comes from the kernel, the network header is at offset 0.
func TestKernelCooked(t *testing.T) {
	prog := compileOrFatal(t, "ip6 and tcp port 443", KernelCooked)
	want := bpf.LoadExtension{Num: bpf.ExtProto}
	found := false
	for _, in := range prog {
		if in == want {
			found = true
		}
		if ld, ok := in.(bpf.LoadAbsolute); ok && ld.Off > 40+2 {
			t.Errorf("%v: reads past the IPv6 ports with the network header at 0", ld)
		}
	}
	if !found {
		t.Errorf("program %v does not load the protocol from the kernel", prog)
	}
	e, _ := Parse("tcp")
	if _, err := e.Matcher(KernelCooked); err == nil {
		t.Error("a KernelCooked program runs in process")
	}
}
