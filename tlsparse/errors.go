package tlsparse

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNeedMore is returned by framing functions when the input is a valid
// prefix that is too short to decide.
var ErrNeedMore = errors.New("tlsparse: need more bytes")

// ParseError reports malformed input. Msg names what was being parsed
// ("ClientHello", "record header", ...), Data holds the offending bytes
// (it may alias the input) and Err, when set, gives details.
type ParseError struct {
	Msg  string
	Data []byte
	Err  error
}

// maxErrorData is how many bytes of Data Error prints.
const maxErrorData = 16

// Error returns "tlsparse: malformed <Msg>[: <Err>] (<n> bytes: xx xx ...)".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("tlsparse: malformed ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if len(e.Data) > 0 {
		d := e.Data
		more := ""
		if len(d) > maxErrorData {
			d = d[:maxErrorData]
			more = " ..."
		}
		fmt.Fprintf(&b, " (%d bytes: % x%s)", len(e.Data), d, more)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(msg string, data []byte) error {
	return &ParseError{Msg: msg, Data: data}
}
