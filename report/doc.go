// Package report renders diagnosed connections as text for people or as
// NDJSON for scripts, one connection at a time, and a summary at the end.
// It writes only to the io.Writer it is given. Every string that came from
// the wire is escaped before it reaches a terminal.
package report
