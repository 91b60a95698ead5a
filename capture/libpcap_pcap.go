//go:build pcap

package capture

// Libpcap reports whether this build links libpcap (the pcap build tag):
// live capture and filters go through it.
const Libpcap = true
