//go:build pcap

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/tlstriage/tlstriage/capture/filter"
)

// libpcap's interface flags (pcap/pcap.h).
const (
	pcapIfLoopback = 0x1
	pcapIfUp       = 0x2
	pcapIfRunning  = 0x4
)

// OpenLive starts capturing on the named interface, or on every interface
// with AnyInterface ("any", Linux only).
//
// This build uses libpcap (through gopacket/pcap, with cgo), which compiles
// the full pcap-filter(7) syntax and captures on macOS and the BSDs too.
// The frames have the interface's link type; "any" gives Linux cooked
// frames (SLL, or SLL2 with recent libpcap). libpcap drops the outgoing
// copy of packets on the Linux loopback interface.
//
// ReadPacketData blocks until a frame arrives; after Close it returns
// io.EOF. Close waits at most o.Timeout for a pending read. The returned
// Source also implements StatsSource. Errors wrap ErrPermission when the
// process may not capture and ErrNoInterface for an unknown interface.
func OpenLive(iface string, o LiveOptions) (Source, error) {
	o = o.withDefaults()
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, pcapError(iface, err)
	}
	defer in.CleanUp()
	for _, err := range []error{
		in.SetSnapLen(o.Snaplen),
		in.SetPromisc(o.Promisc && iface != AnyInterface),
		in.SetTimeout(o.Timeout),
		in.SetBufferSize(o.BufferSize),
		// No immediate mode: it makes libpcap use a ring of frames of
		// snaplen bytes each, only eight of them in the default buffer for
		// "any", which drops packets in bursts. Frames come at most
		// o.Timeout late instead.
	} {
		if err != nil {
			return nil, fmt.Errorf("capture: %s: %w", iface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, pcapError(iface, err)
	}
	if o.Filter != "" {
		if err := filter.SetLive(h, o.Filter); err != nil {
			h.Close()
			return nil, err
		}
	}
	return &pcapSource{iface: iface, h: h, lt: h.LinkType()}, nil
}

// pcapError turns libpcap's errors into ErrPermission and ErrNoInterface
// where they mean that.
func pcapError(iface string, err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission") || strings.Contains(low, "not permitted"):
		return &liveError{iface: iface, sentinel: ErrPermission, detail: permissionHint}
	case strings.Contains(low, "no such device"):
		return &liveError{iface: iface, sentinel: ErrNoInterface}
	}
	if iface != AnyInterface {
		if _, ierr := net.InterfaceByName(iface); ierr != nil {
			return &liveError{iface: iface, sentinel: ErrNoInterface, detail: msg}
		}
	}
	return fmt.Errorf("capture: %s: %s", iface, msg)
}

// Interfaces lists the interfaces libpcap can capture on, in its order
// (the order of tcpdump -D).
func Interfaces() ([]Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	list := make([]Interface, 0, len(devs))
	for _, d := range devs {
		list = append(list, Interface{
			Name:        d.Name,
			Description: d.Description,
			Up:          d.Flags&pcapIfUp != 0,
			Running:     d.Flags&pcapIfRunning != 0,
			Loopback:    d.Flags&pcapIfLoopback != 0,
		})
	}
	return list, nil
}

// pcapSource is a live source on a libpcap handle.
type pcapSource struct {
	iface  string
	h      *pcap.Handle
	lt     layers.LinkType
	closed atomic.Bool

	mu    sync.Mutex // guards stats and the handle's Stats against Close
	stats Stats
}

// LinkType implements Source.
func (s *pcapSource) LinkType() layers.LinkType { return s.lt }

// ReadPacketData implements Source. It blocks until a frame arrives or the
// source is closed, and then returns io.EOF. The data is valid until the
// next call.
func (s *pcapSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	for {
		if s.closed.Load() {
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		data, ci, err := s.h.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			return data, ci, nil
		case errors.Is(err, pcap.NextErrorTimeoutExpired):
			continue
		case errors.Is(err, io.EOF) || s.closed.Load():
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		return nil, gopacket.CaptureInfo{}, fmt.Errorf("capture: %s: read: %w", s.iface, err)
	}
}

// Stats implements StatsSource with libpcap's pcap_stats: Received is
// ps_recv, KernelDrops ps_drop and IfaceDrops ps_ifdrop.
func (s *pcapSource) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.stats, nil
	}
	return s.stats, s.updateStats()
}

// updateStats reads libpcap's counters; s.mu held.
func (s *pcapSource) updateStats() error {
	st, err := s.h.Stats()
	if err != nil {
		return fmt.Errorf("capture: %s: statistics: %w", s.iface, err)
	}
	s.stats = Stats{
		Received:    uint64(st.PacketsReceived),
		KernelDrops: uint64(st.PacketsDropped),
		IfaceDrops:  uint64(st.PacketsIfDropped),
		Known:       true,
	}
	return nil
}

// Close implements Source. It unblocks a pending ReadPacketData.
func (s *pcapSource) Close() error {
	s.mu.Lock()
	if s.closed.Swap(true) {
		s.mu.Unlock()
		return nil
	}
	_ = s.updateStats()
	s.mu.Unlock()
	s.h.Close()
	return nil
}
