//go:build !pcap

package filter

import (
	"errors"
	"testing"
)

// TestParseErrors checks the built-in parser's messages and offsets.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		expr, want  string
		unsupported bool
	}{
		{"tcp port", `capture: filter "tcp port": at offset 8: missing address or port after "port"`, false},
		{"( tcp port 443", `capture: filter "( tcp port 443": at offset 0: unbalanced "("`, false},
		{"tcp port 443 )", `capture: filter "tcp port 443 )": at offset 13: unbalanced ")"`, false},
		{"tcp tcp", `capture: filter "tcp tcp": at offset 4: expected "and" or "or" before "tcp"`, false},
		{"tcp and", `capture: filter "tcp and": at offset 7: unexpected end of expression`, false},
		{"and tcp", `capture: filter "and tcp": at offset 0: unexpected "and"`, false},
		{"port 70000", `capture: filter "port 70000": at offset 5: port 70000 out of range (0-65535)`, false},
		{"port 4:4", `capture: filter "port 4:4": at offset 5: "4:4" is not a port`, false},
		{"portrange 10", `capture: filter "portrange 10": at offset 10: "10" is not a port range (want low-high)`, false},
		{"ip host ::1", `capture: filter "ip host ::1": at offset 8: "::1" is not an IPv4 address (qualifier ip)`, false},
		{"ip6 host 10.0.0.1", `capture: filter "ip6 host 10.0.0.1": at offset 9: "10.0.0.1" is not an IPv6 address (qualifier ip6)`, false},
		{"tcp host 10.0.0.1", `capture: filter "tcp host 10.0.0.1": at offset 9: "tcp" qualifier applied to host`, false},
		{"icmp port 1", `capture: filter "icmp port 1": at offset 10: "icmp" qualifier applied to port`, false},
		{"host 300.1.1.1", `capture: filter "host 300.1.1.1": at offset 5: "300.1.1.1" is not an IP address`, false},
		{"net 10.0.0.1/8", `capture: filter "net 10.0.0.1/8": at offset 4: non-network bits set in "10.0.0.1/8"`, false},
		{"port tcp", `capture: filter "port tcp": at offset 5: unexpected "tcp" (qualifiers go in the order proto, dir, type: "tcp src port 443")`, false},
		{"host and", `capture: filter "host and": at offset 5: expected an address or port, found "and"`, false},

		{"vlan and tcp", `capture: filter "vlan and tcp": at offset 0: unsupported word "vlan"; ` + pcapHint, true},
		{"host example.com", `capture: filter "host example.com": at offset 5: host name "example.com": the built-in compiler does not resolve names; use an IP address; ` + pcapHint, true},
		{"tcp[13] & 2 != 0", `capture: filter "tcp[13] & 2 != 0": at offset 8: unsupported operator "&" (packet data arithmetic); ` + pcapHint, true},
		{"len != 0", `capture: filter "len != 0": at offset 4: unsupported operator "!="; ` + pcapHint, true},
		{"port gopher", `capture: filter "port gopher": at offset 5: unknown service name "gopher"; use a port number; ` + pcapHint, true},
		{"ip port 443", `capture: filter "ip port 443": at offset 8: "ip" qualifier applied to port; ` + pcapHint, true},
		{"net 10.0.0.0 mask 255.0.255.0", `capture: filter "net 10.0.0.0 mask 255.0.255.0": at offset 18: non-contiguous netmask "255.0.255.0"; ` + pcapHint, true},
	} {
		e, err := Parse(tc.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tc.expr, e)
			continue
		}
		if e != nil {
			t.Errorf("Parse(%q) returned an Expr with its error", tc.expr)
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.expr, err, tc.want)
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Expr != tc.expr {
			t.Errorf("Parse(%q): %T %v, want an *Error for the expression", tc.expr, err, err)
		}
		if got := errors.Is(err, ErrUnsupported); got != tc.unsupported {
			t.Errorf("Parse(%q): errors.Is(err, ErrUnsupported) = %v, want %v", tc.expr, got, tc.unsupported)
		}
	}
}

// TestParseLenient checks what the built-in parser accepts beyond
// libpcap: a first primitive that is a bare address or network, with no
// qualifier (libpcap says "syntax error").
func TestParseLenient(t *testing.T) {
	for _, tc := range []struct{ expr, same string }{
		{"10.0.0.2", "host 10.0.0.2"},
		{"10.0.0.0/30", "net 10.0.0.0/30"},
		{"2001:db8::2 or 10.0.0.2", "host 2001:db8::2 or host 10.0.0.2"},
	} {
		for _, lt := range testLinkTypes {
			got := compileOrFatal(t, tc.expr, lt)
			want := compileOrFatal(t, tc.same, lt)
			if len(got) != len(want) {
				t.Errorf("%q for %v: %d instructions, %q has %d", tc.expr, lt, len(got), tc.same, len(want))
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%q for %v: instruction %d is %v, in %q %v", tc.expr, lt, i, got[i], tc.same, want[i])
				}
			}
		}
	}
}
