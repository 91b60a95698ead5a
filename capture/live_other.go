//go:build !linux && !pcap

package capture

import "errors"

// errNeedPcap is what live capture says outside Linux in the pure-Go build.
var errNeedPcap = errors.New("capture: live capture on this system needs the pcap build (go build -tags pcap)")

// OpenLive is not available in this build: live capture outside Linux needs
// libpcap. Build with -tags pcap.
func OpenLive(iface string, o LiveOptions) (Source, error) {
	return nil, errNeedPcap
}

// Interfaces is not available in this build: live capture outside Linux
// needs libpcap. Build with -tags pcap.
func Interfaces() ([]Interface, error) {
	return nil, errNeedPcap
}
