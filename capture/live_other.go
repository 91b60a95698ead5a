//go:build !linux && !pcap

package capture

import "errors"

// OpenLive is not available in this build: live capture outside Linux needs
// libpcap. Build with -tags pcap.
func OpenLive(iface string, o LiveOptions) (Source, error) {
	return nil, errors.New("capture: live capture on this system needs the pcap build (go build -tags pcap)")
}
