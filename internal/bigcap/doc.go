// Package bigcap writes big packet captures for benchmarks: thousands to
// millions of TLS connections made from a few real crypto/tls handshakes.
//
// NewTemplates records a small set of conversations with internal/pcaptest
// (real crypto/tls clients and servers, four server PKIs, successes,
// rejections, aborts, HelloRetry-free TLS 1.2 and 1.3, IPv4 and IPv6, a
// server that never answers, a peer that is not TLS, connections left open)
// and frames each once into packets. Write then replays them: every session
// takes a template chosen by weight, gets its own client address and port,
// server address, initial sequence numbers and start time, and its packets
// are merged by timestamp with those of the sessions running at the same
// time. Checksums are updated incrementally, so the output stays valid for
// other tools (tshark, tcpdump).
//
// Two kinds of capture are made:
//
//   - Bulk: connections that move bulk application data after the
//     handshake (downloads and uploads of BulkBytes, with reordered and
//     retransmitted segments in some), about 100 KB each: 20,000 sessions
//     make about 2 GB.
//   - Handshake: short connections (a handshake, a request and a small
//     response, or a failure), about 6 KB each: 200,000 make about 1.2 GB.
//
// Application data records carry pseudo-random bytes: an analyser cannot
// tell them from ciphertext and must skip them by length anyway. Keys are
// random, so the bytes of the handshakes differ between runs; the sequence
// of templates, addresses, ports and times depends only on Options.Seed.
//
// The command internal/cmd/bigcap writes the files; the benchmarks of
// dissect and cmd/tlstriage use this package to build small captures in
// memory.
package bigcap
