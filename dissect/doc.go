// Package dissect turns captured frames into facts about each TCP
// connection: what each side sent and when (a timeline of events with
// frame numbers and capture timestamps), the parsed hellos and certificate
// chain, alerts, and how each side closed.
//
// dissect records facts only; package diagnose turns them into a verdict.
// Analysis streams: each connection is handed to the caller once its story is
// over (closed, idle by capture time, evicted, or end of input), so memory
// does not grow with the size of the capture. The only clock is the capture
// timestamps.
//
// # Layers
//
// A frame goes up through layers, each with one job and a small interface
// to the next:
//
//   - decode (decode.go) takes a frame down to a TCP segment: link layers,
//     IP, tunnels.
//   - the Analyzer (analyzer.go) keeps the clock and the flow table, and
//     hands connections over when they are due (expiry.go) or when memory
//     bounds are reached (limits.go).
//   - reassembly (tcp.go) puts each direction's bytes in order and hands
//     them, with the holes in them and the end, to the layer above through
//     streamLayer, as gopacket's reassembly.Stream.
//   - the framer (tls.go; sslv2.go for SSL 2.0) cuts each direction's bytes
//     into TLS records, after any plaintext that upgrades to TLS
//     (upgrade.go).
//   - the record layer (open in record.go, decrypt.go) hands each record up
//     as content: its type and plaintext, in the clear or decrypted with a
//     key log, or sealed.
//   - the dispatcher (dispatch in record.go) says what each content type
//     means for the connection, the same way for plaintext and decrypted
//     records, and records it (events.go) in the Conn (conn.go).
//
// Sharded (parallel.go) runs Analyzers on several cores and hands
// connections over exactly as one Analyzer does.
package dissect
