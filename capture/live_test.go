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
)

// Live tests need root (or CAP_NET_RAW) and Linux, or the pcap build:
//
//	sudo go test ./capture/ -run Live -v
//	sudo go test -tags pcap ./capture/ -run Live -v

func requireLive(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" && !pcapBuild {
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
	var wg sync.WaitGroup
	// Close the listeners before waiting for their accept loops.
	defer func() {
		ln.Close()
		other.Close()
		wg.Wait()
	}()
	for _, l := range []net.Listener{ln, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
	}
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
	oc, err := net.Dial("tcp", other.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	oc.Write(otherMarker)
	oc.Close()

	// A sentinel on the filtered port tells the reader everything before it
	// (both copies of the ClientHello, if there were two) has arrived.
	sentinel := []byte("sentinel-" + rand.Text())
	sc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc.Write(sentinel)
	sc.Close()

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
	if runtime.GOOS != "linux" && !pcapBuild {
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
	if runtime.GOOS != "linux" && !pcapBuild {
		t.Skip("live capture without libpcap is Linux only")
	}
	requireLive(t)
	_, err := OpenLive("lo", LiveOptions{Filter: "tcp port"})
	if err == nil {
		t.Fatal("OpenLive with a bad filter succeeded")
	}
	t.Log(err)
}
