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
	for _, tc := range []struct {
		i    Interface
		want string
	}{
		{Interface{Name: "down0"}, ""},
		{Interface{Name: "up0", Up: true}, "Up"},
		{Interface{Name: "lo", Up: true, Running: true, Loopback: true}, "Up, Running, Loopback"},
	} {
		if got := tc.i.Flags(); got != tc.want {
			t.Errorf("%s: Flags() = %q, want %q", tc.i.Name, got, tc.want)
		}
	}
}
