package filter

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported is wrapped by errors about valid pcap-filter(7) syntax that
// the built-in compiler does not implement.
var ErrUnsupported = errors.New("capture: filter not supported by the built-in compiler")

// Error describes an invalid or unsupported filter expression.
type Error struct {
	Expr        string // the whole expression
	Pos         int    // byte offset of the offending token, or -1
	Msg         string // what is wrong
	Unsupported bool   // valid libpcap syntax that only the pcap build compiles
}

// pcapHint is appended to errors about syntax libpcap would accept.
const pcapHint = "the pcap build (go build -tags pcap) supports libpcap's full filter syntax"

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "capture: filter %q: ", e.Expr)
	if e.Pos >= 0 {
		fmt.Fprintf(&b, "at offset %d: ", e.Pos)
	}
	b.WriteString(e.Msg)
	if e.Unsupported {
		b.WriteString("; " + pcapHint)
	}
	return b.String()
}

// Unwrap returns ErrUnsupported for unsupported syntax.
func (e *Error) Unwrap() error {
	if e.Unsupported {
		return ErrUnsupported
	}
	return nil
}
