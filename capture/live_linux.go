//go:build linux && !pcap

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/tlstriage/tlstriage/capture/filter"
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

// Geometry of the TPACKET_V3 ring: LiveOptions.BufferSize in blocks of
// ringBlockSize, or at least ringMinBlocks smaller ones (a ring of two
// blocks drops packets while the reader holds one and the kernel fills the
// other), never below ringMinBlockSize (a 64 KiB loopback frame and its
// headers fit).
const (
	ringBlockSize    = 1 << 20
	ringMinBlocks    = 8
	ringMinBlockSize = 128 << 10
	// ringFrameSize is only for the kernel's checks: TPACKET_V3 packs
	// frames of any size into the blocks.
	ringFrameSize = 2048
)

// ringDisabled makes the AF_PACKET source read one packet per system call,
// as when the kernel refuses the packet ring (tests).
var ringDisabled bool

// Offsets in the ring (linux/if_packet.h).
const (
	// in struct tpacket_block_desc: hdr.bh1.block_status, num_pkts,
	// offset_to_first_pkt
	blockStatusOff  = 8
	blockNumPktsOff = 12
	blockFirstOff   = 16
	// in a frame: struct tpacket3_hdr, then struct sockaddr_ll at
	// TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	frameNextOff    = 0
	frameSecOff     = 4
	frameNsecOff    = 8
	frameSnaplenOff = 12
	frameLenOff     = 16
	frameMacOff     = 24
	frameSLLOff     = 48
	sllLen          = 20 // sizeof(struct sockaddr_ll)
)

// OpenLive starts capturing on the named interface, or on every interface
// with AnyInterface ("any").
//
// This build uses a Linux AF_PACKET socket and needs neither cgo nor
// libpcap. The kernel fills a TPACKET_V3 ring of about o.BufferSize bytes
// mapped into the process, as libpcap does; if it refuses (a kernel without
// TPACKET_V3, not enough memory), the socket is read one packet per system
// call instead and the source's Note says so. Ethernet and loopback
// interfaces give Ethernet frames, tun-like interfaces raw IP, and "any" or
// other hardware types Linux cooked v2 (SLL2) frames, as tcpdump does. The
// filter is compiled with filter.Parse and attached to the socket; if the
// kernel refuses it, it is applied in process instead. On the loopback
// interface the kernel shows every packet twice (once outgoing): the
// outgoing copy is discarded by the kernel (PACKET_IGNORE_OUTGOING for the
// loopback interface, Linux 4.20 and later; a check in front of the filter
// for "any"), or else in process. VLAN tags removed by the NIC are not put
// back into the frames.
//
// ReadPacketData blocks until a frame arrives, at most o.Timeout after the
// kernel received it; after Close it returns io.EOF, and a pending call
// returns at once. The returned Source also implements StatsSource, and
// Block and Hold (see afPacket.ReadPacketData). Errors wrap ErrPermission
// when the process lacks CAP_NET_RAW and ErrNoInterface for an unknown
// interface.
func OpenLive(iface string, o LiveOptions) (Source, error) {
	o = o.withDefaults()
	ifindex, loopback := 0, false
	if iface != AnyInterface {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, &liveError{iface: iface, sentinel: ErrNoInterface}
		}
		ifindex, loopback = ifi.Index, ifi.Flags&net.FlagLoopback != 0
	}
	expr, err := filter.Parse(o.Filter)
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
	s := &afPacket{iface: iface, lt: lt, cooked: cooked, snaplen: o.Snaplen}
	switch {
	case loopback:
		s.loIndex = ifindex
	case ifindex == 0:
		s.loIndex = loopbackIndex()
	}
	if err := s.setup(fd, ifindex, expr, o); err != nil {
		if s.ring != nil {
			s.ring.unmap()
		}
		unix.Close(fd)
		return nil, err
	}
	s.f = os.NewFile(uintptr(fd), "packet:"+iface)
	if s.rc, err = s.f.SyscallConn(); err != nil {
		s.f.Close()
		if s.ring != nil {
			s.ring.unmap()
		}
		return nil, fmt.Errorf("capture: %s: %w", iface, err)
	}
	if s.ring != nil {
		// For a reader that stops without reading the io.EOF that follows
		// Close, which would leave the ring mapped.
		runtime.AddCleanup(s, func(r *ring) { r.unmap() }, s.ring)
		return s, nil
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

// afPacket is a live source on an AF_PACKET socket, read through a
// TPACKET_V3 ring (ring) or else one recvmsg per packet (buf, oob).
type afPacket struct {
	iface   string
	f       *os.File
	rc      syscall.RawConn
	lt      layers.LinkType
	cooked  bool            // SOCK_DGRAM socket: frames get an SLL2 header
	loIndex int             // the loopback interface captured on, or 0
	dropLo  bool            // discard the outgoing packets of loIndex here
	filter  *filter.Matcher // applied in process when the kernel has no filter
	snaplen int
	ring    *ring
	note    string // why there is no ring
	buf     []byte
	oob     []byte
	closed  atomic.Bool

	mu    sync.Mutex // guards stats
	stats Stats
}

// setup configures and binds the socket.
func (s *afPacket) setup(fd, ifindex int, expr *filter.Expr, o LiveOptions) error {
	// The loopback interface's outgoing copies: on lo itself, Linux 4.20
	// and later can leave them out; for "any", a check in front of the
	// filter drops them; failing both, ReadPacketData does.
	wantDrop := s.loIndex != 0
	if wantDrop && ifindex != 0 && unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1) == nil {
		wantDrop = false
	}
	dropped, err := s.attachFilters(fd, expr, o, wantDrop)
	if err != nil {
		return err
	}
	s.dropLo = wantDrop && !dropped
	if err := s.setupRing(fd, o); err != nil {
		s.note = fmt.Sprintf("capture: %s: no packet ring (%v): reading one packet per system call, more likely to drop", s.iface, err)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("capture: %s: timestamps: %w", s.iface, err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.BufferSize); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.BufferSize); err != nil {
				return fmt.Errorf("capture: %s: buffer size %d: %w", s.iface, o.BufferSize, err)
			}
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

// attachFilters attaches the kernel's filter: the expression, and with
// dropLo the loopback check in front of it. A filter the kernel refuses is
// applied in process (s.filter). It reports whether the loopback check is
// attached.
func (s *afPacket) attachFilters(fd int, expr *filter.Expr, o LiveOptions, dropLo bool) (bool, error) {
	var (
		m    *filter.Matcher
		prog []bpf.Instruction // nil: no expression, or one the kernel cannot run
	)
	if o.Filter != "" {
		kernelLT := s.lt
		if s.cooked {
			kernelLT = filter.KernelCooked
		}
		var err error
		if m, err = expr.Matcher(s.lt); err != nil {
			return false, err
		}
		prog, _ = expr.Compile(kernelLT, o.Snaplen)
	}
	if dropLo {
		body := prog
		if body == nil {
			body = []bpf.Instruction{bpf.RetConstant{Val: uint32(o.Snaplen)}}
		}
		if attachFilter(fd, append(loOutgoingCheck(s.loIndex), body...)) == nil {
			if prog == nil {
				s.filter = m
			}
			return true, nil
		}
	}
	if prog == nil || attachFilter(fd, prog) != nil {
		s.filter = m
	}
	return false, nil
}

// loOutgoingCheck is a BPF prologue that rejects the packets the loopback
// interface lo sends (it receives each of them too) and goes on to the next
// instruction with every other packet.
func loOutgoingCheck(lo int) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtInterfaceIndex},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(lo), SkipTrue: 3},
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
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

// ringGeometry returns the block size and count of a ring of about size
// bytes.
func ringGeometry(size int) (blockSize, blocks int) {
	blockSize = ringBlockSize
	for blockSize > ringMinBlockSize && size/blockSize < ringMinBlocks {
		blockSize /= 2
	}
	return blockSize, max(ringMinBlocks, size/blockSize)
}

// setupRing sets up and maps a TPACKET_V3 receive ring; before bind, so
// that no packet is queued outside it.
func (s *afPacket) setupRing(fd int, o LiveOptions) error {
	if ringDisabled {
		return errors.New("disabled")
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("TPACKET_V3: %w", err)
	}
	if s.cooked {
		// Room in front of each packet for the SLL2 header.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_RESERVE, sll2Len); err != nil {
			return fmt.Errorf("PACKET_RESERVE: %w", err)
		}
	}
	size, n := ringGeometry(o.BufferSize)
	tov := uint32(min(max(o.Timeout.Milliseconds(), 1), 60_000))
	var err error
	for {
		req := unix.TpacketReq3{
			Block_size:     uint32(size),
			Block_nr:       uint32(n),
			Frame_size:     ringFrameSize,
			Frame_nr:       uint32(size / ringFrameSize * n),
			Retire_blk_tov: tov,
		}
		err = unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req)
		if !errors.Is(err, unix.ENOMEM) || n/2 < ringMinBlocks {
			break
		}
		n /= 2 // as libpcap does: a smaller ring rather than none
	}
	if err != nil {
		return fmt.Errorf("%d blocks of %d KiB: %w", n, size>>10, err)
	}
	mem, err := unix.Mmap(fd, 0, size*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &unix.TpacketReq3{})
		return fmt.Errorf("mapping %d MiB: %w", size*n>>20, err)
	}
	s.ring = &ring{mem: mem, blockSize: size, blocks: n, refs: make([]atomic.Int32, n)}
	s.ring.users.Store(1) // the source's, until Close
	return nil
}

// ring is a TPACKET_V3 receive ring: the kernel fills its blocks in turn
// and hands each over (TP_STATUS_USER) when it is full or Timeout after its
// first packet; the reader walks the frames of a block and gives it back
// (TP_STATUS_KERNEL) once it has moved on and no Hold keeps it. While the
// kernel finds the next block still in the process's hands, it drops the
// packets (counted in tp_drops).
type ring struct {
	mem       []byte
	blockSize int
	blocks    int
	// refs counts per block the reader, while the block is the one it
	// reads, and each Hold: the last one gives the block back.
	refs []atomic.Int32
	// users counts the source until Close, the reader until it has seen
	// the close, and each Hold: the last one unmaps mem.
	users    atomic.Int32
	unmapped sync.Once

	// The reader's position; only ReadPacketData and Hold use them.
	reader bool   // the reader counts in users
	cur    int    // the block read, or waited for
	in     bool   // cur is in the reader's hands
	left   int    // frames of cur not read yet
	off    int    // offset in cur of the next one
	seq    uint64 // blocks entered so far: the number Block returns
}

func (r *ring) block(b int) []byte { return r.mem[b*r.blockSize : (b+1)*r.blockSize] }

func (r *ring) status(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[b*r.blockSize+blockStatusOff]))
}

// ready reports whether the kernel has handed block b over.
func (r *ring) ready(b int) bool { return atomic.LoadUint32(r.status(b))&unix.TP_STATUS_USER != 0 }

// enter starts reading block cur, which the kernel has handed over.
func (r *ring) enter() {
	b := r.block(r.cur)
	r.refs[r.cur].Store(1)
	r.in = true
	r.seq++
	r.left = int(binary.NativeEndian.Uint32(b[blockNumPktsOff:]))
	r.off = int(binary.NativeEndian.Uint32(b[blockFirstOff:]))
}

// leave moves on from block cur, giving it back unless held.
func (r *ring) leave() {
	r.in = false
	r.unref(r.cur)
	r.cur = (r.cur + 1) % r.blocks
}

// unref drops a reference to block b; the last one gives it back.
func (r *ring) unref(b int) {
	if r.refs[b].Add(-1) == 0 {
		atomic.StoreUint32(r.status(b), unix.TP_STATUS_KERNEL)
	}
}

// use adds a user of the mapping unless it is gone already; it reports
// whether it did.
func (r *ring) use() bool {
	for {
		n := r.users.Load()
		if n <= 0 {
			return false
		}
		if r.users.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// done drops a user of the mapping; the last one unmaps it.
func (r *ring) done() {
	if r.users.Add(-1) == 0 {
		r.unmap()
	}
}

func (r *ring) unmap() { r.unmapped.Do(func() { unix.Munmap(r.mem) }) }

// LinkType implements Source.
func (s *afPacket) LinkType() layers.LinkType { return s.lt }

// ReadPacketData implements Source. It blocks until a frame arrives or the
// source is closed, and then returns io.EOF. It must not be called
// concurrently.
//
// The data points into the kernel's packet ring (zero copy): it stays
// valid until a later call moves on to the next block of the ring, or
// Close, unless Hold keeps its block. Frames that have the same Block
// number lie in the same block. Care must be taken not to keep the data
// longer: copy the bytes, or Hold the block, to use them after that. Each
// call may thus invalidate data returned before; the data is also writable
// memory shared with the kernel, which the caller must not modify. Without
// a ring (see Note), each call reuses one buffer and invalidates the data
// returned by the previous one.
func (s *afPacket) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if s.ring != nil {
		return s.readRing()
	}
	return s.readMsg()
}

// Block is the number of the ring block the frame last returned by
// ReadPacketData lies in, for Hold; 0 when it cannot be held (no ring, or
// before the first frame). Numbers are not reused.
var _ Holder = (*afPacket)(nil) // Queue hands its frames over without a copy

func (s *afPacket) Block() uint64 {
	if s.ring == nil || !s.ring.in {
		return 0
	}
	return s.ring.seq
}

// Hold keeps the block of the frame last returned by ReadPacketData,
// whose Block is not 0, from the kernel until release is called: its frames
// stay valid while ReadPacketData goes on in the next blocks, and after
// Close. release must be called once, and may be called from any
// goroutine. Hold is called by the reading goroutine, between two calls
// of ReadPacketData. Blocks held long make the kernel drop packets once it
// has filled every other block.
func (s *afPacket) Hold() (release func()) {
	r := s.ring
	if r == nil || !r.in {
		return func() {}
	}
	b := r.cur
	r.refs[b].Add(1)
	r.users.Add(1) // the reader is one: the mapping is there
	return func() {
		r.unref(b)
		r.done()
		runtime.KeepAlive(s) // no cleanup unmaps what is held
	}
}

// Note returns why the source reads one packet per system call instead of
// through a packet ring, or "".
func (s *afPacket) Note() string { return s.note }

// readRing is ReadPacketData with a ring.
func (s *afPacket) readRing() ([]byte, gopacket.CaptureInfo, error) {
	r := s.ring
	if !r.reader {
		if s.closed.Load() || !r.use() {
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		r.reader = true
	}
	for {
		if s.closed.Load() {
			r.reader = false
			r.done()
			return nil, gopacket.CaptureInfo{}, io.EOF
		}
		if r.left > 0 {
			if data, ci, ok := s.nextFrame(); ok {
				return data, ci, nil
			}
			continue
		}
		if r.in {
			r.leave()
		}
		if !r.ready(r.cur) {
			var serr error
			err := s.rc.Read(func(fd uintptr) bool {
				if s.closed.Load() || r.ready(r.cur) {
					return true
				}
				// A socket error (the interface went away) wakes the
				// reader too.
				if e, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
					serr = unix.Errno(e)
					return true
				}
				return false
			})
			if err == nil {
				err = serr
			}
			if s.closed.Load() {
				continue
			}
			if err != nil {
				return nil, gopacket.CaptureInfo{}, fmt.Errorf("capture: %s: read: %w", s.iface, err)
			}
		}
		r.enter()
	}
}

// nextFrame takes the next frame of the block read. It reports false when
// the frame is to be skipped: an outgoing copy on the loopback interface,
// one the in-process filter rejects, or one that does not fit in the block
// (never seen: the rest of the block is skipped).
func (s *afPacket) nextFrame() ([]byte, gopacket.CaptureInfo, bool) {
	r := s.ring
	b := r.block(r.cur)
	off := r.off
	r.left--
	if off < 0 || off > len(b)-frameSLLOff-sllLen {
		r.left = 0
		return nil, gopacket.CaptureInfo{}, false
	}
	h := b[off:]
	r.off = off + int(binary.NativeEndian.Uint32(h[frameNextOff:]))
	mac := int(binary.NativeEndian.Uint16(h[frameMacOff:]))
	snap := int(binary.NativeEndian.Uint32(h[frameSnaplenOff:]))
	sll := h[frameSLLOff : frameSLLOff+sllLen]
	hdr := 0
	if s.cooked {
		hdr = sll2Len
	}
	if mac-hdr < frameSLLOff+sllLen || snap > len(h)-mac {
		r.left = 0
		return nil, gopacket.CaptureInfo{}, false
	}
	// struct sockaddr_ll: family, protocol, ifindex, hatype, pkttype, ...
	if s.dropLo && sll[10] == unix.PACKET_OUTGOING && int(int32(binary.NativeEndian.Uint32(sll[4:8]))) == s.loIndex {
		return nil, gopacket.CaptureInfo{}, false
	}
	start := mac - hdr
	if s.cooked {
		putSLL2Raw(h[start:mac], sll)
	}
	n := min(hdr+snap, max(s.snaplen, hdr+1))
	data := h[start : start+n : start+n]
	if s.filter != nil && !s.filter.Match(data) {
		return nil, gopacket.CaptureInfo{}, false
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(int64(binary.NativeEndian.Uint32(h[frameSecOff:])), int64(binary.NativeEndian.Uint32(h[frameNsecOff:]))),
		CaptureLength: n,
		Length:        hdr + int(binary.NativeEndian.Uint32(h[frameLenOff:])),
	}
	return data, ci, true
}

// putSLL2Raw writes a Linux cooked v2 header from the kernel's struct
// sockaddr_ll, as the ring holds it.
func putSLL2Raw(h, sll []byte) {
	l := unix.SockaddrLinklayer{
		Protocol: binary.NativeEndian.Uint16(sll[2:4]), // in network order, as recvmsg gives it
		Ifindex:  int(int32(binary.NativeEndian.Uint32(sll[4:8]))),
		Hatype:   binary.NativeEndian.Uint16(sll[8:10]),
		Pkttype:  sll[10],
		Halen:    sll[11],
	}
	copy(l.Addr[:], sll[12:20])
	putSLL2(h, &l)
}

// readMsg is ReadPacketData without a ring.
func (s *afPacket) readMsg() ([]byte, gopacket.CaptureInfo, error) {
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
		if s.dropLo && sll != nil && sll.Pkttype == unix.PACKET_OUTGOING && sll.Ifindex == s.loIndex {
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
// included, as libpcap's ps_recv does. The loopback interface's outgoing
// copies are not counted when the kernel discards them (see OpenLive), and
// counted when the process does (Linux before 4.20).
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
		var st *unix.TpacketStatsV3
		st, serr = unix.GetsockoptTpacketStatsV3(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
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

// Close implements Source. It unblocks a pending ReadPacketData. The ring
// is unmapped once the reader has seen the close and no block is held.
func (s *afPacket) Close() error {
	s.mu.Lock()
	if s.closed.Swap(true) {
		s.mu.Unlock()
		return nil
	}
	_ = s.updateStats()
	s.mu.Unlock()
	err := s.f.Close()
	if s.ring != nil {
		s.ring.done()
	}
	if err != nil {
		return fmt.Errorf("capture: %s: %w", s.iface, err)
	}
	return nil
}

// anyDescription describes the AnyInterface pseudo-device.
const anyDescription = "Pseudo-device that captures on all interfaces"

// sortInterfaces puts running interfaces first, then up ones, loopback
// interfaces after the others, keeping the system's order otherwise (as
// libpcap does).
func sortInterfaces(list []Interface) {
	rank := func(i Interface) int {
		r := 0
		if !i.Running {
			r += 2
		}
		if !i.Up {
			r += 4
		}
		if i.Loopback {
			r++
		}
		return r
	}
	slices.SortStableFunc(list, func(a, b Interface) int { return rank(a) - rank(b) })
}
