//go:build pcap

package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

func TestLibpcapParseErrors(t *testing.T) {
	for _, expr := range []string{"tcp port", "( tcp port 443", "port 70000"} {
		_, err := Parse(expr)
		var fe *Error
		if !errors.As(err, &fe) || fe.Expr != expr || fe.Pos != -1 || fe.Msg == "" {
			t.Errorf("Parse(%q): %v, want an *Error with libpcap's message and no offset", expr, err)
		}
		if errors.Is(err, ErrUnsupported) {
			t.Errorf("Parse(%q): %v wraps ErrUnsupported", expr, err)
		}
		if !strings.HasPrefix(err.Error(), "capture: filter ") {
			t.Errorf("Parse(%q): %q", expr, err)
		}
	}
}

// TestLibpcapRejectsAll checks that an expression libpcap finds matches
// nothing is a program that rejects every frame, not an error.
func TestLibpcapRejectsAll(t *testing.T) {
	e, err := Parse("tcp and udp")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := e.Compile(layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) != 1 || prog[0] != (bpf.RetConstant{Val: 0}) {
		t.Errorf("program %v, want ret #0", prog)
	}
}

// TestLibpcapFullSyntax checks syntax only libpcap compiles.
func TestLibpcapFullSyntax(t *testing.T) {
	frames := testFrames(t)
	for _, tc := range []struct{ expr, want string }{
		{"vlan and tcp", "vlan-tcp4"},
		{"tcp[13] & 2 != 0", "tcp4"},
		{"ether src 00:00:00:00:00:01", "*"},
	} {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		m, err := e.Matcher(layers.LinkTypeEthernet)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		for _, f := range frames {
			if f.lt != layers.LinkTypeEthernet {
				continue
			}
			if got, want := m.Match(f.data), tc.want == "*" || f.name == tc.want; got != want {
				t.Errorf("%q on %s: match %v, want %v", tc.expr, f.name, got, want)
			}
		}
	}
}
