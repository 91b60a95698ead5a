package capture

import (
	"errors"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/capture/filter"
)

// DefaultSnaplen is the snapshot length used when none is given, as in
// tcpdump.
const DefaultSnaplen = filter.DefaultSnaplen

// LiveOptions configures a live capture.
type LiveOptions struct {
	// Snaplen is the most bytes kept of each frame, link-layer header
	// included; DefaultSnaplen if <= 0.
	Snaplen int
	// Promisc puts the interface in promiscuous mode (not for "any").
	Promisc bool
	// Filter is a pcap-filter(7) expression; empty captures everything.
	Filter string
	// BufferSize is the size in bytes of the kernel's capture buffer: the
	// AF_PACKET source's packet ring (blocks of 1 MiB, or at least 8
	// blocks of at least 128 KiB), or libpcap's buffer. DefaultBufferSize
	// if <= 0.
	BufferSize int
	// Timeout is how long the kernel may keep packets before handing over
	// a partly filled buffer (the ring's block retire timeout, libpcap's
	// packet buffer timeout): on a quiet interface packets are delivered
	// up to Timeout after they arrived. It also bounds how long Close
	// waits for a pending read in the pcap build. DefaultTimeout if <= 0.
	Timeout time.Duration
}

// Defaults for LiveOptions. At 200,000 packets/s, 32 MiB of ring holds
// about half a second of traffic of a few hundred bytes per packet.
const (
	DefaultBufferSize = 32 << 20
	DefaultTimeout    = 100 * time.Millisecond
)

// AnyInterface is the pseudo-interface that captures on all interfaces,
// giving Linux cooked frames (SLL2 in the default build, SLL or SLL2 from
// libpcap), as with tcpdump -i any.
const AnyInterface = "any"

// ErrPermission is wrapped by OpenLive errors when the process may not
// capture.
var ErrPermission = errors.New("capture: permission denied")

// ErrNoInterface is wrapped by OpenLive errors for an unknown interface.
var ErrNoInterface = errors.New("capture: no such interface")

// permissionHint says how to get the right to capture.
const permissionHint = "run as root or grant CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip $(which tlstriage))"

// liveError is an error about one interface that wraps a sentinel, such as
// "capture: eth0: permission denied: run as root ...".
type liveError struct {
	iface    string
	sentinel error
	detail   string
}

func (e *liveError) Error() string {
	s := "capture: " + e.iface + ": " + strings.TrimPrefix(e.sentinel.Error(), "capture: ")
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func (e *liveError) Unwrap() error { return e.sentinel }

func (o LiveOptions) withDefaults() LiveOptions {
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Interface is a network interface live capture can use.
type Interface struct {
	Name        string
	Description string // "" when the system has none
	Up          bool
	Running     bool
	Loopback    bool
}

// Flags returns the interface's state as tcpdump -D prints it, such as
// "Up, Running, Loopback".
func (i Interface) Flags() string {
	var f []string
	if i.Up {
		f = append(f, "Up")
	}
	if i.Running {
		f = append(f, "Running")
	}
	if i.Loopback {
		f = append(f, "Loopback")
	}
	return strings.Join(f, ", ")
}
