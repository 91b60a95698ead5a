package filter

import (
	"fmt"
	"sync"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// DefaultSnaplen is the snapshot length used when none is given, as in
// tcpdump: a compiled program returns it for a matching frame.
const DefaultSnaplen = 262144

// String returns the expression as given to Parse.
func (e *Expr) String() string { return e.text }

// Matcher runs an expression compiled for one link type in process, as
// the kernel would run it on a socket. It is safe for concurrent use.
type Matcher struct {
	vm *bpf.VM
}

// Matcher compiles e for frames of link type lt, to be run in process.
func (e *Expr) Matcher(lt layers.LinkType) (*Matcher, error) {
	prog, err := e.Compile(lt, DefaultSnaplen)
	if err != nil {
		return nil, err
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("capture: filter %q: %w", e.text, err)
	}
	return &Matcher{vm: vm}, nil
}

// Match reports whether the frame data (starting with the link-layer header
// of the matcher's link type) passes the filter. Truncated frames are
// rejected when the filter needs bytes they lack, as in the kernel.
func (m *Matcher) Match(data []byte) bool {
	n, err := m.vm.Run(data)
	return err == nil && n > 0
}

// Set applies one expression to frames of varying link types (pcapng files
// with several interfaces), compiling it for each link type on first use.
// It is safe for concurrent use.
type Set struct {
	expr     *Expr
	mu       sync.Mutex
	matchers map[layers.LinkType]*Matcher // nil: e cannot be compiled for the link type
}

// NewSet returns a set that compiles e per link type on demand. It
// compiles e for Ethernet at once, so that an expression the compiler
// refuses (one too long for a BPF program, or libpcap's errors in the
// pcap build) is reported here rather than by frames that never match.
func NewSet(e *Expr) (*Set, error) {
	m, err := e.Matcher(layers.LinkTypeEthernet)
	if err != nil {
		return nil, err
	}
	return &Set{expr: e, matchers: map[layers.LinkType]*Matcher{layers.LinkTypeEthernet: m}}, nil
}

// Match reports whether a frame of link type lt passes the filter. Frames
// of a link type the expression cannot be compiled for do not match.
func (s *Set) Match(data []byte, lt layers.LinkType) bool {
	s.mu.Lock()
	m, ok := s.matchers[lt]
	if !ok {
		m, _ = s.expr.Matcher(lt)
		s.matchers[lt] = m
	}
	s.mu.Unlock()
	return m != nil && m.Match(data)
}
