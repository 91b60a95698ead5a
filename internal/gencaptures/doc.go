// Command gencaptures writes the generated packet captures of testdata/pcap
// and their provenance table testdata/pcap/README.md.
//
// Every capture is built by internal/pcaptest from a real crypto/tls
// handshake run in memory, then framed into TCP/IP packets. Keys and
// signatures are random, so each run rewrites every file; the PKI written to
// pki/ always matches the captures of the same run.
//
// Each capture carries the diagnosis tlstriage must give each of its
// connections when given the truststore the client had; the README table is
// written from it, and TestPipeline checks it on captures generated afresh,
// together with test-only scenarios that are never written.
//
// Usage, from the repository root:
//
//	go run ./internal/gencaptures -out testdata/pcap
package main

//go:generate go run . -out ../../testdata/pcap
