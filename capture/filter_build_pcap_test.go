//go:build pcap

package capture

// pcapBuild reports whether this is the libpcap build.
const pcapBuild = true
