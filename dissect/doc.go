// Package dissect decodes captured frames down to TCP, reassembles each
// connection's byte streams (the first part of them: the handshake), frames
// TLS records and handshake messages, and records per connection what each
// side did and when: a timeline of events with frame numbers and capture
// timestamps, the parsed hellos and certificate chain, alerts, and how each
// side closed.
//
// dissect records facts only; package diagnose turns them into a verdict.
// Analysis streams: each connection is handed to the caller once its story is
// over (closed, idle by capture time, evicted, or end of input), so memory
// does not grow with the size of the capture. The only clock is the capture
// timestamps.
package dissect
