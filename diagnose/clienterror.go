package diagnose

import "github.com/tlstriage/tlstriage/dissect"

// clientError is the line the client's stack logs for r's cause.
func clientError(r *Result, c *dissect.Conn) string { return "" }
