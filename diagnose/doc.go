// Package diagnose turns what dissect recorded of a connection into a
// verdict (what the wire shows), a cause (why, from the certificate chain,
// the client's truststore, the names and validity at capture time, and the
// alerts), the findings that support it and the fix.
//
// Its rules are pure functions of a *dissect.Conn and the truststore; they
// never read the clock: certificate validity is judged at the capture's
// timestamps.
package diagnose
