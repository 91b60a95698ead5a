//go:build linux && !pcap

package capture

import "testing"

// withoutRing makes OpenLive read packet by packet, as when the kernel
// refuses the ring, until the test ends.
func withoutRing(t *testing.T) {
	ringDisabled = true
	t.Cleanup(func() { ringDisabled = false })
}

func TestSortInterfaces(t *testing.T) {
	list := []Interface{
		{Name: "down0"},
		{Name: "lo", Up: true, Running: true, Loopback: true},
		{Name: "eth0", Up: true, Running: true},
		{Name: "up0", Up: true},
	}
	sortInterfaces(list)
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	if got := names; got[0] != "eth0" || got[1] != "lo" || got[2] != "up0" || got[3] != "down0" {
		t.Errorf("sorted %v, want eth0 lo up0 down0", got)
	}
}
