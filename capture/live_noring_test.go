//go:build !linux || pcap

package capture

import "testing"

// withoutRing skips the test: the packet ring is the AF_PACKET source's,
// which this build does not have.
func withoutRing(t *testing.T) {
	t.Skip("the packet ring is the AF_PACKET source's")
}
