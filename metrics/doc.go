// Package metrics counts judged TLS connections and the capture's counters
// for Prometheus.
//
// A Metrics holds its own registry: the handshakes diagnose judged (by
// verdict, cause, server, SNI and client stack), their durations, the leaf
// certificates seen with their expiry, the capture's counters (packets,
// drops, evictions, limits reached) and the process's own Go and process
// metrics. Handler serves them in the Prometheus exposition format;
// WriteText writes them once, at the end of a file run.
//
// The names and labels are a stable contract, documented in
// docs/metrics.md. Every label whose values come from the wire or the
// network is bounded: beyond Options.MaxServers servers and
// Options.MaxSNIs names, new values are counted under "other"; beyond
// Options.MaxSeries label sets of tlstriage_handshakes_total, new ones are
// counted with server and SNI "other"; beyond Options.MaxCertificates
// leaves, the least recently seen is dropped. Each of these is counted, so
// memory stays flat over a long live capture and the loss shows.
package metrics
