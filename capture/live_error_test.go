package capture

import (
	"errors"
	"testing"
)

func TestLiveErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err      error
		want     string
		sentinel error
	}{
		{
			&liveError{iface: "eth0", sentinel: ErrPermission, detail: permissionHint},
			"capture: eth0: permission denied: run as root or grant CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip $(which tlstriage))",
			ErrPermission,
		},
		{&liveError{iface: "nosuch0", sentinel: ErrNoInterface}, "capture: nosuch0: no such interface", ErrNoInterface},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, tc.sentinel) {
			t.Errorf("%v does not wrap %v", tc.err, tc.sentinel)
		}
	}
}

func TestInterfaceFlags(t *testing.T) {
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
	if got := list[1].Flags(); got != "Up, Running, Loopback" {
		t.Errorf("Flags() = %q", got)
	}
}
