//go:build linux && !pcap

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// sll2Len is the length of a Linux cooked v2 header.
const sll2Len = 20

// ARPHRD types that need no cooked header.
const (
	arphrdEther    = 1
	arphrdIEEE802  = 6
	arphrdRawIP    = 519
	arphrdLoopback = 772
	arphrdNone     = 0xfffe
)

// OpenLive starts capturing on the named interface, or on every interface
// with AnyInterface ("any").
//
// This build uses a Linux AF_PACKET socket and needs neither cgo nor
// libpcap. Ethernet and loopback interfaces give Ethernet frames, tun-like
// interfaces raw IP, and "any" or other hardware types Linux cooked v2
// (SLL2) frames, as tcpdump does. The filter is compiled with CompileFilter
// and attached to the socket; if the kernel refuses it, it is applied in
// process instead. On the loopback interface the kernel shows every packet
// twice (once outgoing); like libpcap, the outgoing copy is dropped. VLAN
// tags removed by the NIC are not put back into the frames.
//
// ReadPacketData blocks until a frame arrives; after Close it returns
// io.EOF, and a pending call returns at once. The returned Source also
// implements StatsSource. Errors wrap ErrPermission when the process lacks
// CAP_NET_RAW and ErrNoInterface for an unknown interface.
func OpenLive(iface string, o LiveOptions) (Source, error) {
	o = o.withDefaults()
	ifindex := 0
	if iface != AnyInterface {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, &liveError{iface: iface, sentinel: ErrNoInterface}
		}
		ifindex = ifi.Index
	}
	node, err := parseFilter(o.Filter)
	if err != nil {
		return nil, err
	}

	fd, err := packetSocket(iface, unix.SOCK_RAW)
	if err != nil {
		return nil, err
	}
	lt := layers.LinkTypeLinuxSLL2
	cooked := true
	if ifindex != 0 {
		switch hatype, err := hardwareType(fd, iface); {
		case err != nil:
			unix.Close(fd)
			return nil, err
		case hatype == arphrdEther || hatype == arphrdLoopback || hatype == arphrdIEEE802:
			lt, cooked = layers.LinkTypeEthernet, false
		case hatype == arphrdNone || hatype == arphrdRawIP:
			lt, cooked = layers.LinkTypeRaw, false
		}
	}
	if cooked {
		unix.Close(fd)
		if fd, err = packetSocket(iface, unix.SOCK_DGRAM); err != nil {
			return nil, err
		}
	}
	s := &afPacket{iface: iface, lt: lt, cooked: cooked, snaplen: o.Snaplen, loIndex: loopbackIndex()}
	if err := s.setup(fd, ifindex, node, o); err != nil {
		unix.Close(fd)
		return nil, err
	}
	s.f = os.NewFile(uintptr(fd), "packet:"+iface)
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		return nil, fmt.Errorf("capture: %s: %w", iface, err)
	}
	hdr := 0
	if cooked {
		hdr = sll2Len
	}
	s.buf = make([]byte, max(o.Snaplen, hdr+1))
	s.oob = make([]byte, unix.CmsgSpace(16))
	return s, nil
}

// Interfaces lists the interfaces OpenLive can capture on: those of the
// system, up ones first, and the "any" pseudo-device, as tcpdump -D does.
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	list := make([]Interface, 0, len(ifs)+1)
	for _, ifi := range ifs {
		list = append(list, Interface{
			Name:     ifi.Name,
			Up:       ifi.Flags&net.FlagUp != 0,
			Running:  ifi.Flags&net.FlagRunning != 0,
			Loopback: ifi.Flags&net.FlagLoopback != 0,
		})
	}
	list = append(list, Interface{Name: AnyInterface, Description: anyDescription, Up: true, Running: true})
	sortInterfaces(list)
	return list, nil
}

// packetSocket opens an AF_PACKET socket that receives nothing until bound.
func packetSocket(iface string, typ int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return -1, &liveError{iface: iface, sentinel: ErrPermission, detail: permissionHint}
	}
	if err != nil {
		return -1, fmt.Errorf("capture: %s: packet socket: %w", iface, err)
	}
	return fd, nil
}

// hardwareType returns the ARPHRD type of the interface.
func hardwareType(fd int, iface string) (uint16, error) {
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, fmt.Errorf("capture: %s: %w", iface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("capture: %s: hardware type: %w", iface, err)
	}
	return ifr.Uint16(), nil
}

// loopbackIndex returns the index of the loopback interface, or 0.
func loopbackIndex() int {
	if ifi, err := net.InterfaceByName("lo"); err == nil {
		return ifi.Index
	}
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Index
		}
	}
	return 0
}

// afPacket is a live source on an AF_PACKET socket.
type afPacket struct {
	iface   string
	f       *os.File
	rc      syscall.RawConn
	lt      layers.LinkType
	cooked  bool    // SOCK_DGRAM socket: frames get an SLL2 header
	loIndex int     // outgoing packets on this interface are dropped
	filter  *Filter // applied in process when the kernel has no filter
	snaplen int
	buf     []byte
	oob     []byte
	closed  atomic.Bool

	mu    sync.Mutex // guards stats
	stats Stats
}

// setup configures and binds the socket.
func (s *afPacket) setup(fd, ifindex int, node node, o LiveOptions) error {
	if o.Filter != "" {
		userLT := s.lt
		kernelLT := s.lt
		if s.cooked {
			kernelLT = kernelCooked
		}
		f, err := CompileFilter(o.Filter, userLT, o.Snaplen)
		if err != nil {
			return err
		}
		prog, err := compileBPF(node, kernelLT, o.Snaplen)
		if err == nil {
			err = attachFilter(fd, prog)
		}
		if err != nil {
			s.filter = f
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("capture: %s: timestamps: %w", s.iface, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.BufferSize); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.BufferSize); err != nil {
			return fmt.Errorf("capture: %s: buffer size %d: %w", s.iface, o.BufferSize, err)
		}
	}
	if o.Promisc && ifindex != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("capture: %s: promiscuous mode: %w", s.iface, err)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return &liveError{iface: s.iface, sentinel: ErrNoInterface}
		}
		return fmt.Errorf("capture: %s: bind: %w", s.iface, err)
	}
	return nil
}

// attachFilter attaches a classic BPF program to the socket.
func attachFilter(fd int, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	filters := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filters[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// LinkType implements Source.
func (s *afPacket) LinkType() layers.LinkType { return s.lt }

// ReadPacketData implements Source. It blocks until a frame arrives or the
// source is closed, and then returns io.EOF.
func (s *afPacket) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	hdr := 0
	if s.cooked {
		hdr = sll2Len
	}
	for {
		if s.closed.Load() {
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		var (
			n, oobn int
			from    unix.Sockaddr
			rerr    error
		)
		err := s.rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), s.buf[hdr:], s.oob, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if s.closed.Load() {
				return nil, gopacket.CaptureInfo{}, io.EOF
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, gopacket.CaptureInfo{}, fmt.Errorf("capture: %s: read: %w", s.iface, err)
		}
		sll, _ := from.(*unix.SockaddrLinklayer)
		if sll != nil && sll.Pkttype == unix.PACKET_OUTGOING && s.loIndex != 0 && sll.Ifindex == s.loIndex {
			continue // the loopback interface's outgoing copy
		}
		if s.cooked {
			putSLL2(s.buf[:sll2Len], sll)
		}
		ci := gopacket.CaptureInfo{
			Timestamp:     timestamp(s.oob[:oobn]),
			CaptureLength: hdr + min(n, len(s.buf)-hdr),
			Length:        hdr + n,
		}
		data := s.buf[:ci.CaptureLength]
		if s.filter != nil && !s.filter.Match(data) {
			continue
		}
		return data, ci, nil
	}
}

// putSLL2 writes a Linux cooked v2 header describing the packet.
func putSLL2(h []byte, sll *unix.SockaddrLinklayer) {
	clear(h)
	if sll == nil {
		return
	}
	binary.NativeEndian.PutUint16(h[0:2], sll.Protocol) // already in network order
	binary.BigEndian.PutUint32(h[4:8], uint32(sll.Ifindex))
	binary.BigEndian.PutUint16(h[8:10], sll.Hatype)
	h[10] = sll.Pkttype
	h[11] = sll.Halen
	copy(h[12:20], sll.Addr[:min(int(sll.Halen), 8)])
}

// timestamp returns the kernel receive time from SCM_TIMESTAMPNS.
func timestamp(oob []byte) time.Time {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		oob = rest
		if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMPNS {
			continue
		}
		switch len(data) {
		case 16:
			return time.Unix(int64(binary.NativeEndian.Uint64(data[0:8])), int64(binary.NativeEndian.Uint64(data[8:16])))
		case 8:
			return time.Unix(int64(int32(binary.NativeEndian.Uint32(data[0:4]))), int64(int32(binary.NativeEndian.Uint32(data[4:8]))))
		}
	}
	return time.Time{}
}

// Stats implements StatsSource with the kernel's PACKET_STATISTICS.
// Received counts packets that passed the kernel filter, dropped ones
// included, as libpcap's ps_recv does (on the loopback interface it includes
// the outgoing copies that are not delivered).
func (s *afPacket) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.stats, nil
	}
	return s.stats, s.updateStats()
}

// updateStats adds the kernel's counters (which reset on read); s.mu held.
func (s *afPacket) updateStats() error {
	var serr error
	err := s.rc.Control(func(fd uintptr) {
		var st *unix.TpacketStats
		st, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if serr == nil {
			s.stats.Received += uint64(st.Packets)
			s.stats.KernelDrops += uint64(st.Drops)
			s.stats.Known = true
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("capture: %s: statistics: %w", s.iface, err)
	}
	return nil
}

// Close implements Source. It unblocks a pending ReadPacketData.
func (s *afPacket) Close() error {
	s.mu.Lock()
	if s.closed.Swap(true) {
		s.mu.Unlock()
		return nil
	}
	_ = s.updateStats()
	s.mu.Unlock()
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("capture: %s: %w", s.iface, err)
	}
	return nil
}
