//go:build !pcap

package filter

// libpcapBuild reports whether libpcap compiles the filters (the pcap
// build).
const libpcapBuild = false
