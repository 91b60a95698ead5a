//go:build pcap

package filter

import (
	"errors"
	"slices"
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

// TestLibpcapLinkTypeRaw checks that a LINKTYPE_ value that is not the
// DLT_ value of the same link type is mapped before libpcap compiles:
// LINKTYPE_RAW (101), as raw IP files say, compiles as DLT_RAW and matches
// raw IP frames.
func TestLibpcapLinkTypeRaw(t *testing.T) {
	e, err := Parse("tcp")
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Compile(linkTypeDLTRaw, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Compile(layers.LinkTypeRaw, 0)
	if err != nil {
		t.Fatalf("Compile for LINKTYPE_RAW: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("LINKTYPE_RAW program %v, DLT_RAW program %v", got, want)
	}
	if _, err := e.Compile(layers.LinkTypeATM_RFC1483, 0); err != nil {
		t.Errorf("Compile for LINKTYPE_ATM_RFC1483: %v", err)
	}
	m, err := e.Matcher(layers.LinkTypeRaw)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range testFrames(t) {
		if f.lt != layers.LinkTypeRaw {
			continue
		}
		n++
		if got, want := m.Match(f.data), strings.HasPrefix(f.name, "tcp") || strings.HasPrefix(f.name, "frag"); got != want {
			t.Errorf("tcp on raw IP %s: match %v, want %v", f.name, got, want)
		}
	}
	if n == 0 {
		t.Error("no raw IP test frames")
	}
}
