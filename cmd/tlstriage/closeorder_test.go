package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// closeRecorder relays one connection from 127.0.0.1 to a target and
// records, as they happen, what each side wrote and how each side ended
// its part (a FIN on EOF, a RST on a reset), each passed on to the other
// side only once recorded: the order a capture between them shows.
type closeRecorder struct {
	addr string
	mu   sync.Mutex
	conv pcaptest.Conversation
	last time.Time
	done chan struct{}
}

func startCloseRecorder(t *testing.T, target string) *closeRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &closeRecorder{addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r.mu.Lock()
		r.last = time.Now()
		r.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer s.Close()
		var wg sync.WaitGroup
		wg.Go(func() { r.pipe(s.(*net.TCPConn), c.(*net.TCPConn), pcaptest.ClientToServer) })
		wg.Go(func() { r.pipe(c.(*net.TCPConn), s.(*net.TCPConn), pcaptest.ServerToClient) })
		wg.Wait()
	}()
	return r
}

func (r *closeRecorder) add(e pcaptest.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	e.Delay = now.Sub(r.last)
	r.last = now
	r.conv.Events = append(r.conv.Events, e)
}

func (r *closeRecorder) pipe(dst, src *net.TCPConn, d pcaptest.Dir) {
	buf := make([]byte, 1<<16)
	for {
		src.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := src.Read(buf)
		if n > 0 {
			r.add(pcaptest.Event{Dir: d, Kind: pcaptest.Data, Data: bytes.Clone(buf[:n])})
			dst.Write(buf[:n])
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			r.add(pcaptest.Event{Dir: d, Kind: pcaptest.FIN})
			dst.CloseWrite()
		case errors.Is(err, syscall.ECONNRESET):
			r.add(pcaptest.Event{Dir: d, Kind: pcaptest.RST})
			dst.SetLinger(0)
			dst.Close()
		}
		return
	}
}

func (r *closeRecorder) conversation(t *testing.T) *pcaptest.Conversation {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the relayed connection did not end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.conv
	return &c
}

// silentServer accepts one connection on 127.0.0.1, reads the ClientHello
// and whatever follows without answering, and closes once the client has
// closed: with a FIN, or with linger0 a RST.
func silentServer(t *testing.T, linger0 bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		if linger0 {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}()
	return ln.Addr().String()
}

// TestUnansweredRealClients: real clients time out on a server that reads
// the ClientHello and never answers, and close first; the server closes
// (or resets) only on their EOF. The close order is recorded as it
// happens: no_server_response, not server_closed or server_reset.
func TestUnansweredRealClients(t *testing.T) {
	curl, curlErr := exec.LookPath("curl")
	clients := []struct {
		name string
		dial func(t *testing.T, addr string)
	}{
		{"Go tls.Dialer with a deadline", func(t *testing.T, addr string) {
			ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
			defer cancel()
			d := tls.Dialer{Config: &tls.Config{ServerName: "backend.example.test"}}
			if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
				c.Close()
				t.Fatal("handshake completed")
			}
		}},
		{"curl --max-time 1", func(t *testing.T, addr string) {
			if curlErr != nil {
				t.Skip("no curl binary")
			}
			out, err := exec.CommandContext(t.Context(), curl, "-sSk", "--max-time", "1", "https://"+addr+"/").CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 28 { // operation timed out
				t.Fatalf("curl: %v, want exit status 28:\n%s", err, out)
			}
		}},
	}
	for _, cl := range clients {
		for _, linger0 := range []bool{false, true} {
			name := cl.name + ", the server closes on EOF"
			if linger0 {
				name = cl.name + ", the server resets on EOF"
			}
			t.Run(name, func(t *testing.T) {
				rec := startCloseRecorder(t, silentServer(t, linger0))
				cl.dial(t, rec.addr)
				conv := rec.conversation(t)
				// The client closed first, then the server.
				var order []string
				for _, e := range conv.Events {
					if e.Kind != pcaptest.Data {
						order = append(order, e.Dir.String()+" "+e.Kind.String())
					}
				}
				want := []string{"client FIN", "server FIN"}
				if linger0 {
					want[1] = "server RST"
				}
				if len(order) != 2 || order[0] != want[0] || order[1] != want[1] {
					t.Fatalf("close order %v, want %v", order, want)
				}
				pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
					t.Fatal(err)
				}
				recs := runJSON(t, 1, "-r", writeTemp(t, "unanswered.pcap", buf.Bytes()))
				if len(recs) != 1 {
					t.Fatalf("%d connections, want 1", len(recs))
				}
				if v := str(t, recs[0], "verdict"); v != "no_server_response" {
					t.Errorf("verdict %s: %s", v, str(t, recs[0], "verdict_detail"))
				}
			})
		}
	}
}

// TestResetAfterAccept: a server that accepts the connection and resets it
// before the client sent a byte (clients: "connection reset by peer").
// Nothing shows the connection was TLS, but a TLS client sees it fail
// before its ClientHello: it is listed as server_reset, a failure in the
// summary and the exit status, with or without --all.
func TestResetAfterAccept(t *testing.T) {
	conv := &pcaptest.Conversation{Events: []pcaptest.Event{{Dir: pcaptest.ServerToClient, Kind: pcaptest.RST, Delay: 1100 * time.Microsecond}}}
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	capture := writeTemp(t, "reset-after-accept.pcap", buf.Bytes())

	if recs := runJSON(t, 1, "-r", capture); len(recs) != 1 || str(t, recs[0], "verdict") != "server_reset" {
		t.Errorf("without --all: %d connections listed, want it as server_reset", len(recs))
	}
	recs := runJSON(t, 1, "-r", capture, "--all")
	if len(recs) != 1 {
		t.Fatalf("--all: %d connections, want 1", len(recs))
	}
	o := recs[0]
	if str(t, o, "verdict") != "server_reset" || !boolean(t, o, "failed") || str(t, o, "cause") != "unknown" {
		t.Errorf("verdict %s failed %v cause %s: %s", str(t, o, "verdict"), boolean(t, o, "failed"), str(t, o, "cause"), str(t, o, "verdict_detail"))
	}
	r := tlstriage(t, nil, "-r", capture, "--all", "--json", "--summary")
	objs := ndjson(t, r.stdout)
	if r.code != 1 || len(objs) != 2 {
		t.Fatalf("exit status %d, %d objects; want 1, 2", r.code, len(objs))
	}
	sum := objs[1]
	if num(t, sum, "failed") != 1 || num(t, object(t, sum, "verdicts"), "server_reset") != 1 || num(t, object(t, sum, "counters"), "refused") != 0 {
		t.Errorf("summary: %v", sum)
	}
}
