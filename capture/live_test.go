package capture

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Live tests need root (or CAP_NET_RAW) and Linux, or the pcap build:
//
//	sudo go test ./capture/ -run Live -v
//	sudo go test -tags pcap ./capture/ -run Live -v

func requireLive(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" && !Libpcap {
		t.Skip("live capture without libpcap is Linux only; use -tags pcap")
	}
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root or CAP_NET_RAW: sudo go test ./capture/ -run Live")
	}
}

func openLive(t *testing.T, iface string, o LiveOptions) Source {
	t.Helper()
	src, err := OpenLive(iface, o)
	if errors.Is(err, ErrPermission) {
		t.Skipf("no permission to capture: %v", err)
	}
	if err != nil {
		t.Fatalf("OpenLive(%q, %+v): %v", iface, o, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// recordConn keeps a copy of the first Write, the ClientHello record.
type recordConn struct {
	net.Conn
	first []byte
}

func (c *recordConn) Write(b []byte) (int, error) {
	if c.first == nil {
		c.first = append([]byte{}, b...)
	}
	return c.Conn.Write(b)
}

type frame struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// collect reads frames until the source fails, sending copies on a channel.
func collect(src Source) (<-chan frame, <-chan error) {
	frames := make(chan frame, 1024)
	done := make(chan error, 1)
	go func() {
		defer close(frames)
		for {
			data, ci, err := src.ReadPacketData()
			if err != nil {
				done <- err
				return
			}
			frames <- frame{append([]byte{}, data...), ci}
		}
	}()
	return frames, done
}

func TestLiveLoopbackTLS(t *testing.T) {
	requireLive(t)
	testLiveTLS(t, "lo")
}

func TestLiveAnyTLS(t *testing.T) {
	requireLive(t)
	if runtime.GOOS != "linux" {
		t.Skip(`"any" is Linux only`)
	}
	testLiveTLS(t, AnyInterface)
}

// sendTo connects to ln, writes data and closes the connection.
func sendTo(t *testing.T, ln net.Listener, data []byte) {
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(data)
	c.Close()
}

// discardAll accepts the connections to ln and reads each to its end, until
// the test ends.
func discardAll(t *testing.T, ln net.Listener) {
	pcaptest.Serve(t, ln, func(c net.Conn) { io.Copy(io.Discard, c) })
}

func testLiveTLS(t *testing.T, iface string) {
	if iface == "lo" && runtime.GOOS == "darwin" {
		iface = "lo0"
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	discardAll(t, ln)
	discardAll(t, other)
	port := ln.Addr().(*net.TCPAddr).Port

	src := openLive(t, iface, LiveOptions{Filter: fmt.Sprintf("tcp port %d", port)})
	if iface == AnyInterface {
		if lt := src.LinkType(); lt != layers.LinkTypeLinuxSLL && lt != layers.LinkTypeLinuxSLL2 {
			t.Fatalf("any: link type %v, want Linux cooked", lt)
		}
	}
	frames, done := collect(src)

	// TLS handshake on the filtered port.
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rc := &recordConn{Conn: raw}
	tc := tls.Client(rc, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	clientHello := rc.first
	if len(clientHello) < 50 || clientHello[0] != 22 {
		t.Fatalf("first client write is not a handshake record: % x", clientHello[:min(len(clientHello), 16)])
	}

	// Traffic on another port must be filtered out.
	otherMarker := []byte("other-port-marker-" + rand.Text())
	sendTo(t, other, otherMarker)

	// A sentinel on the filtered port tells the reader everything before it
	// (both copies of the ClientHello, if there were two) has arrived.
	sentinel := []byte("sentinel-" + rand.Text())
	sendTo(t, ln, sentinel)

	var got []frame
	timeout := time.After(10 * time.Second)
wait:
	for {
		select {
		case f := <-frames:
			got = append(got, f)
			if bytes.Contains(f.data, sentinel) {
				break wait
			}
		case err := <-done:
			t.Fatalf("ReadPacketData: %v", err)
		case <-timeout:
			t.Fatalf("sentinel not captured after 10s (%d frames)", len(got))
		}
	}
	// Catch late duplicates of the sentinel as well.
	late := time.After(200 * time.Millisecond)
drain:
	for {
		select {
		case f := <-frames:
			got = append(got, f)
		case <-late:
			break drain
		}
	}

	if ss, ok := src.(StatsSource); ok {
		st, err := ss.Stats()
		if err != nil {
			t.Errorf("Stats: %v", err)
		} else if !st.Known || st.Received < uint64(len(got)) {
			t.Errorf("Stats = %+v, want Known and Received >= %d", st, len(got))
		}
	}

	closed := time.Now()
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("ReadPacketData after Close: %v, want io.EOF", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadPacketData")
	}
	t.Logf("%s: %d frames, link type %v, reader stopped %v after Close", iface, len(got), src.LinkType(), time.Since(closed))

	hellos, sentinels := 0, 0
	for i, f := range got {
		if bytes.Contains(f.data, otherMarker) {
			t.Errorf("frame %d: traffic on the other port passed the filter", i)
		}
		hellos += bytes.Count(f.data, clientHello)
		sentinels += bytes.Count(f.data, sentinel)
		if f.ci.CaptureLength != len(f.data) || f.ci.Length < f.ci.CaptureLength {
			t.Errorf("frame %d: capture info %+v for %d bytes", i, f.ci, len(f.data))
		}
		if f.ci.Timestamp.IsZero() {
			t.Errorf("frame %d: no timestamp", i)
		}
		p := gopacket.NewPacket(f.data, src.LinkType(), gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Errorf("frame %d: no TCP layer: %v", i, p)
			continue
		}
		if int(tcp.SrcPort) != port && int(tcp.DstPort) != port {
			t.Errorf("frame %d: ports %d > %d, want %d", i, tcp.SrcPort, tcp.DstPort, port)
		}
	}
	if hellos != 1 {
		t.Errorf("ClientHello captured %d times, want exactly once", hellos)
	}
	if sentinels != 1 {
		t.Errorf("sentinel captured %d times, want exactly once", sentinels)
	}
}

func TestLiveCloseUnblocks(t *testing.T) {
	requireLive(t)
	iface := "lo"
	if runtime.GOOS == "darwin" {
		iface = "lo0"
	}
	src := openLive(t, iface, LiveOptions{Filter: "tcp port 1 and udp"})
	_, done := collect(src)
	time.Sleep(50 * time.Millisecond)
	src.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("ReadPacketData after Close: %v, want io.EOF", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock ReadPacketData")
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLiveUnknownInterface(t *testing.T) {
	if runtime.GOOS != "linux" && !Libpcap {
		t.Skip("live capture without libpcap is Linux only")
	}
	_, err := OpenLive("nosuch0", LiveOptions{})
	if err == nil {
		t.Fatal("OpenLive(nosuch0) succeeded")
	}
	if !errors.Is(err, ErrNoInterface) && !errors.Is(err, ErrPermission) {
		t.Errorf("OpenLive(nosuch0) = %v, want ErrNoInterface", err)
	}
	t.Log(err)
}

func TestLiveBadFilter(t *testing.T) {
	if runtime.GOOS != "linux" && !Libpcap {
		t.Skip("live capture without libpcap is Linux only")
	}
	requireLive(t)
	_, err := OpenLive("lo", LiveOptions{Filter: "tcp port"})
	if err == nil {
		t.Fatal("OpenLive with a bad filter succeeded")
	}
	t.Log(err)
}

// holder is what the AF_PACKET source offers to keep its ring blocks.
type holder interface {
	Block() uint64
	Hold() (release func())
}

// noter is what the AF_PACKET source says when it has no ring.
type noter interface{ Note() string }

// ringMappings counts the packet rings mapped into the process.
func ringMappings(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	return bytes.Count(b, []byte(" socket:["))
}

// TestLiveOnce captures a TLS handshake on the loopback interface and on
// "any", with and without the packet ring, and checks that every packet is
// seen once: the loopback interface's outgoing copies are not delivered
// (and, when the kernel discards them, not counted either).
func TestLiveOnce(t *testing.T) {
	requireLive(t)
	for _, tc := range []struct {
		name, iface string
		ring        bool
	}{
		{"lo/ring", "lo", true},
		{"any/ring", AnyInterface, true},
		{"lo/recvmsg", "lo", false},
		{"any/recvmsg", AnyInterface, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS != "linux" {
				t.Skip("Linux only")
			}
			if !tc.ring {
				withoutRing(t)
			}
			testLiveOnce(t, tc.iface, tc.ring)
		})
	}
}

func testLiveOnce(t *testing.T, iface string, ring bool) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	discardAll(t, ln)
	port := ln.Addr().(*net.TCPAddr).Port
	maps := ringMappings(t)
	src := openLive(t, iface, LiveOptions{Filter: fmt.Sprintf("tcp port %d", port)})
	if n, ok := src.(noter); ok && !Libpcap {
		if note := n.Note(); (note == "") != ring {
			t.Errorf("Note() = %q with ring %v", note, ring)
		}
	}
	if ring && !Libpcap {
		if got := ringMappings(t); got != maps+1 {
			t.Errorf("%d rings mapped after OpenLive, want %d", got, maps+1)
		}
	}

	// Three connections, each with a handshake and a line of data.
	var clients []int
	for i := range 3 {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "line %d\n", i)
		clients = append(clients, c.LocalAddr().(*net.TCPAddr).Port)
		c.Close()
	}
	sentinel := []byte("sentinel-" + rand.Text())
	sendTo(t, ln, sentinel)

	type read struct {
		frame
		block uint64
	}
	var (
		got  []read
		rerr error
	)
	h, _ := src.(holder)
	closed := make(chan struct{})
	var closeOnce sync.Once
	closeSrc := func() {
		closeOnce.Do(func() {
			src.Close()
			close(closed)
		})
	}
	deadline := time.AfterFunc(10*time.Second, closeSrc)
	defer deadline.Stop()
	var quiet *time.Timer
	for {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			rerr = err
			break
		}
		f := read{frame: frame{append([]byte{}, data...), ci}}
		if h != nil {
			f.block = h.Block()
		}
		got = append(got, f)
		if bytes.Contains(data, sentinel) && quiet == nil {
			// Late copies would come within the ring's timeout.
			quiet = time.AfterFunc(300*time.Millisecond, closeSrc)
		}
	}
	if quiet == nil {
		t.Fatalf("sentinel not captured within 10s (%d frames, %v)", len(got), rerr)
	}
	if rerr != io.EOF {
		t.Errorf("ReadPacketData after Close: %v, want io.EOF", rerr)
	}
	<-closed
	st, _ := src.(StatsSource).Stats()

	syns := map[int]int{} // by client port
	seen := map[string]int{}
	for i, f := range got {
		if n := seen[string(f.data)]; n > 0 {
			t.Errorf("frame %d is frame %d again", i, n-1)
		}
		seen[string(f.data)] = i + 1
		if ring && !Libpcap && h != nil && f.block == 0 {
			t.Errorf("frame %d: Block() = 0 with a ring", i)
		}
		if !ring && h != nil && f.block != 0 {
			t.Errorf("frame %d: Block() = %d without a ring", i, f.block)
		}
		p := gopacket.NewPacket(f.data, src.LinkType(), gopacket.NoCopy)
		switch sll := p.LinkLayer().(type) {
		case *layers.LinuxSLL2:
			if sll.PacketType == layers.LinuxSLL2PacketTypeOutgoing {
				t.Errorf("frame %d: an outgoing copy", i)
			}
			if lo, err := net.InterfaceByName("lo"); err == nil && (int(sll.InterfaceIndex) != lo.Index || sll.ProtocolType != layers.EthernetTypeIPv4 || sll.ARPHardwareType != 772) {
				t.Errorf("frame %d: SLL2 header: interface %d, protocol %v, hardware type %d; want %d, IPv4, 772", i, sll.InterfaceIndex, sll.ProtocolType, sll.ARPHardwareType, lo.Index)
			}
		case *layers.LinuxSLL:
			if sll.AddrType == 4 { // the packet type: outgoing
				t.Errorf("frame %d: an outgoing copy", i)
			}
		}
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Errorf("frame %d: no TCP layer: %v", i, p)
			continue
		}
		if tcp.SYN && !tcp.ACK {
			syns[int(tcp.SrcPort)]++
		}
	}
	for _, c := range clients {
		if syns[c] != 1 {
			t.Errorf("client port %d: %d SYNs captured, want 1", c, syns[c])
		}
	}
	t.Logf("%s: %d frames, stats %+v", iface, len(got), st)
	if !st.Known || st.KernelDrops != 0 || st.Received < uint64(len(got)) {
		t.Errorf("stats %+v for %d frames, want Known, no drops and Received >= %d", st, len(got), len(got))
	}
	if !Libpcap && st.Received != uint64(len(got)) {
		// Kernel 4.20 and later (and "any"): outgoing copies are not counted.
		t.Errorf("Received %d for %d frames: the kernel counted copies not delivered", st.Received, len(got))
	}
	if ring && !Libpcap {
		if n := ringMappings(t); n != maps {
			t.Errorf("%d rings mapped after Close and io.EOF, want %d", n, maps)
		}
	}
}

// udpBurst sends n datagrams of size bytes to a UDP socket on 127.0.0.1
// and returns its port.
func udpBurst(t *testing.T, n, size int) (port int, send func()) {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })
	go io.Copy(io.Discard, rx)
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	return rx.LocalAddr().(*net.UDPAddr).Port, func() {
		b := make([]byte, size)
		for i := range n {
			b[0], b[1] = byte(i>>8), byte(i)
			if _, err := tx.Write(b); err != nil {
				t.Errorf("sending datagram %d: %v", i, err)
				return
			}
		}
	}
}

// TestLiveBurstCounters sends bursts of loopback datagrams and checks that
// what was read and what the kernel dropped add up to what was sent and to
// what the kernel received: once with the reader keeping up, once with a
// small ring read only after the burst, so that the kernel drops.
func TestLiveBurstCounters(t *testing.T) {
	requireLive(t)
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	for _, tc := range []struct {
		name       string
		iface      string
		buffer     int
		readLater  bool
		n, size    int
		wantDrops  bool
		ringNeeded bool
	}{
		{name: "lo/keeping-up", iface: "lo", n: 5000, size: 200},
		{name: "any/keeping-up", iface: AnyInterface, n: 5000, size: 200},
		{name: "lo/small-ring-read-later", iface: "lo", buffer: 1 << 20, readLater: true, n: 4000, size: 1000, wantDrops: true, ringNeeded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, send := udpBurst(t, tc.n, tc.size)
			src := openLive(t, tc.iface, LiveOptions{BufferSize: tc.buffer, Filter: fmt.Sprintf("udp dst port %d", port)})
			if _, ok := src.(holder); tc.ringNeeded && (!ok || Libpcap) {
				t.Skip("needs the AF_PACKET ring")
			}
			read := 0
			done := make(chan error, 1)
			reader := func() {
				for {
					_, _, err := src.ReadPacketData()
					if err != nil {
						done <- err
						return
					}
					read++
				}
			}
			if !tc.readLater {
				go reader()
			}
			send()
			if tc.readLater {
				go reader()
			}
			// Every datagram is delivered within the ring's timeout: wait
			// until the counters stop moving.
			ss := src.(StatsSource)
			var st Stats
			for last, stable := uint64(0), 0; stable < 5; {
				time.Sleep(100 * time.Millisecond)
				var err error
				if st, err = ss.Stats(); err != nil {
					t.Fatal(err)
				}
				if st.Received == last {
					stable++
				} else {
					last, stable = st.Received, 0
				}
			}
			src.Close()
			if err := <-done; err != io.EOF {
				t.Errorf("reader: %v, want io.EOF", err)
			}
			st, _ = ss.Stats()
			t.Logf("sent %d, read %d, stats %+v", tc.n, read, st)
			if uint64(read)+st.KernelDrops != uint64(tc.n) {
				t.Errorf("read %d + dropped %d = %d, want the %d sent", read, st.KernelDrops, uint64(read)+st.KernelDrops, tc.n)
			}
			if !Libpcap && st.Received != uint64(tc.n) {
				t.Errorf("Received %d, want the %d sent (each once)", st.Received, tc.n)
			}
			if tc.wantDrops && st.KernelDrops == 0 {
				t.Errorf("no drops with a %d KiB ring read after the burst of %d x %d bytes", tc.buffer>>10, tc.n, tc.size)
			}
			if !tc.wantDrops && st.KernelDrops != 0 {
				t.Logf("%d drops while keeping up (a loaded machine?)", st.KernelDrops)
			}
		})
	}
}

// TestLiveHold holds the ring block of a frame while reading on into
// later blocks, and after Close: the frame is unchanged until released,
// and the ring is unmapped once every hold is released.
func TestLiveHold(t *testing.T) {
	requireLive(t)
	maps := ringMappings(t)
	port, send := udpBurst(t, 600, 1000)
	src := openLive(t, "lo", LiveOptions{BufferSize: 1 << 20, Filter: fmt.Sprintf("udp dst port %d", port)})
	h, ok := src.(holder)
	if !ok || Libpcap {
		t.Skip("needs the AF_PACKET ring")
	}
	go send()
	type held struct {
		data, want []byte
		block      uint64
		release    func()
	}
	var holds []held
	blocks := map[uint64]bool{}
	for n := 0; n < 600; n++ {
		data, _, err := src.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		b := h.Block()
		if b == 0 {
			t.Fatal("Block() = 0 with a ring")
		}
		if !blocks[b] {
			blocks[b] = true
			if len(holds) < 3 {
				holds = append(holds, held{data: data, want: append([]byte{}, data...), block: b, release: h.Hold()})
			}
		}
	}
	if len(blocks) < 4 {
		t.Fatalf("600 datagrams of 1000 bytes in %d blocks of a 1 MiB ring, want more", len(blocks))
	}
	check := func(when string) {
		for _, hd := range holds {
			if !bytes.Equal(hd.data, hd.want) {
				t.Errorf("%s: a frame of held block %d changed", when, hd.block)
			}
		}
	}
	check("after reading on")
	src.Close()
	if _, _, err := src.ReadPacketData(); err != io.EOF {
		t.Errorf("ReadPacketData after Close: %v, want io.EOF", err)
	}
	check("after Close")
	if n := ringMappings(t); n != maps+1 {
		t.Errorf("%d rings mapped while blocks are held, want %d", n, maps+1)
	}
	for _, hd := range holds {
		hd.release()
	}
	if n := ringMappings(t); n != maps {
		t.Errorf("%d rings mapped after the releases, want %d", n, maps)
	}
}
