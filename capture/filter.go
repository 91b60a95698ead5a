package capture

import (
	"fmt"
	"sync"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// DefaultSnaplen is the snapshot length used when none is given, as in
// tcpdump.
const DefaultSnaplen = 262144

// Filter is a capture filter (pcap-filter(7) syntax) compiled to a classic
// BPF program for one link type. It is safe for concurrent use.
type Filter struct {
	expr     string
	linkType layers.LinkType
	snaplen  int
	prog     []bpf.Instruction
	raw      []bpf.RawInstruction
	vm       *bpf.VM
}

// newFilter wraps a compiled program.
func newFilter(expr string, lt layers.LinkType, snaplen int, prog []bpf.Instruction) (*Filter, error) {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("capture: filter %q: %w", expr, err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("capture: filter %q: %w", expr, err)
	}
	return &Filter{expr: expr, linkType: lt, snaplen: snaplen, prog: prog, raw: raw, vm: vm}, nil
}

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }

// LinkType returns the link type the program was compiled for.
func (f *Filter) LinkType() layers.LinkType { return f.linkType }

// Instructions returns the BPF program. The caller must not modify it.
func (f *Filter) Instructions() []bpf.Instruction { return f.prog }

// RawInstructions returns the assembled BPF program, as attached to a
// socket. The caller must not modify it.
func (f *Filter) RawInstructions() []bpf.RawInstruction { return f.raw }

// Match reports whether the frame data (starting with the link-layer header
// of the filter's link type) passes the filter. Truncated frames are
// rejected when the filter needs bytes they lack, as in the kernel.
func (f *Filter) Match(data []byte) bool {
	n, err := f.vm.Run(data)
	return err == nil && n > 0
}

// FilterSet applies one expression to frames of varying link types (pcapng
// files with several interfaces), compiling it for each link type on first
// use. It is safe for concurrent use.
type FilterSet struct {
	expr    string
	mu      sync.Mutex
	filters map[layers.LinkType]*Filter
	errs    map[layers.LinkType]error
}

// NewFilterSet checks expr and returns a set that compiles it per link type
// on demand.
func NewFilterSet(expr string) (*FilterSet, error) {
	if _, err := CompileFilter(expr, layers.LinkTypeEthernet, DefaultSnaplen); err != nil {
		return nil, err
	}
	return &FilterSet{expr: expr, filters: map[layers.LinkType]*Filter{}, errs: map[layers.LinkType]error{}}, nil
}

// String returns the filter expression.
func (s *FilterSet) String() string { return s.expr }

// Filter returns the filter compiled for link type lt.
func (s *FilterSet) Filter(lt layers.LinkType) (*Filter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.filters[lt]; ok {
		return f, nil
	}
	if err, ok := s.errs[lt]; ok {
		return nil, err
	}
	f, err := CompileFilter(s.expr, lt, DefaultSnaplen)
	if err != nil {
		s.errs[lt] = err
		return nil, err
	}
	s.filters[lt] = f
	return f, nil
}

// Match reports whether a frame of link type lt passes the filter. Frames
// of a link type the filter cannot be compiled for do not match; Filter
// returns the reason.
func (s *FilterSet) Match(data []byte, lt layers.LinkType) bool {
	f, err := s.Filter(lt)
	return err == nil && f.Match(data)
}

// compileBuiltin compiles expr with the built-in (pure Go) compiler.
func compileBuiltin(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	n, err := parseFilter(expr)
	if err != nil {
		return nil, err
	}
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	prog, err := compileBPF(n, lt, snaplen)
	if err != nil {
		return nil, err
	}
	return newFilter(expr, lt, snaplen, prog)
}
