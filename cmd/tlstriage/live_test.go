//go:build unix

// The live tests start child processes as another user, which needs Unix.

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Live tests capture on the loopback interface only. They need root or
// CAP_NET_RAW, and Linux or the pcap build; elsewhere they skip:
//
//	sudo go test ./cmd/tlstriage -run Live -v
//	sudo go test -tags pcap ./cmd/tlstriage -run Live -v

// liveLoopback is the name of the loopback interface.
func liveLoopback() string {
	if runtime.GOOS == "darwin" {
		return "lo0"
	}
	return "lo"
}

// requireLiveCapture skips the test when this process may not capture.
func requireLiveCapture(t *testing.T) {
	t.Helper()
	src, err := capture.OpenLive(liveLoopback(), capture.LiveOptions{Filter: "tcp port 1 and udp"})
	switch {
	case errors.Is(err, capture.ErrPermission):
		t.Skipf("live capture needs root or CAP_NET_RAW (sudo go test ./cmd/tlstriage -run Live): %v", err)
	case err != nil && strings.Contains(err.Error(), "pcap build"):
		t.Skipf("no live capture in this build: %v", err)
	case err != nil:
		t.Fatalf("opening the loopback interface: %v", err)
	}
	src.Close()
}

// liveBuffer is an io.Writer the test can read while run writes to it.
type liveBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *liveBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *liveBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// liveRun is a run of the command in a goroutine.
type liveRun struct {
	stdout, stderr liveBuffer
	cancel         context.CancelFunc
	done           chan int
	src            capture.Source // set once the capture is open
}

// startLive runs the command with args in a goroutine and returns once the
// capture is open (packets sent from then on are seen).
func startLive(t *testing.T, args ...string) *liveRun {
	t.Helper()
	ready := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	r := &liveRun{cancel: cancel, done: make(chan int, 1)}
	openLive = func(iface string, o capture.LiveOptions) (capture.Source, error) {
		src, err := capture.OpenLive(iface, o)
		once.Do(func() {
			r.src = src
			close(ready)
		})
		return src, err
	}
	t.Cleanup(func() { openLive = capture.OpenLive })
	go func() { r.done <- run(ctx, args, strings.NewReader(""), &r.stdout, &r.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case <-ready:
	case code := <-r.done:
		t.Fatalf("tlstriage %s: exit %d before capturing; stderr:\n%s", strings.Join(args, " "), code, r.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the capture did not open within 10s")
	}
	return r
}

// wait waits for the run to end by itself (or after stop) and returns its
// exit status.
func (r *liveRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("tlstriage did not stop within 15s; stderr:\n%s", r.stderr.String())
		return -1
	}
}

// liveObjects decodes NDJSON output.
func liveObjects(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Text())
		}
		objs = append(objs, o)
	}
	return objs
}

// liveConns returns the connection objects of NDJSON output by client
// address, and the summary object if there is one.
func liveConns(t *testing.T, out string) (map[string]map[string]any, map[string]any) {
	t.Helper()
	conns := map[string]map[string]any{}
	var summary map[string]any
	for _, o := range liveObjects(t, out) {
		switch o["type"] {
		case "connection":
			conns[o["client"].(string)] = o
		case "summary":
			summary = o
		}
	}
	return conns, summary
}

// livePKI is a CA and a server certificate for localhost it issued.
type livePKI struct {
	roots  *x509.CertPool
	server tls.Certificate
}

func newLivePKI(t *testing.T) *livePKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tlstriage live test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &livePKI{roots: roots, server: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}}
}

// startLiveServer starts a TLS server on 127.0.0.1 that completes
// handshakes and reads until the client closes.
func startLiveServer(t *testing.T, pki *livePKI) *net.TCPAddr {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	pcaptest.Serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if c.(*tls.Conn).Handshake() == nil {
			io.Copy(io.Discard, c)
		}
	})
	return ln.Addr().(*net.TCPAddr)
}

// liveClient connects to addr, runs a TLS handshake with cfg, and closes.
// It returns the client's address and the handshake error.
func liveClient(t *testing.T, addr *net.TCPAddr, cfg *tls.Config) (string, error) {
	t.Helper()
	raw, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(raw, cfg)
	err = c.Handshake()
	if err == nil {
		if _, werr := c.Write([]byte("hello")); werr != nil {
			t.Errorf("writing after the handshake: %v", werr)
		}
	}
	c.Close()
	return raw.LocalAddr().String(), err
}

// stalledConn passes writes through and blocks reads until closed: a TLS
// client on it sends its ClientHello and then waits forever.
type stalledConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *stalledConn) Read([]byte) (int, error) {
	<-c.closed
	return 0, net.ErrClosed
}

func (c *stalledConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestLiveLoopback captures handshakes between a real crypto/tls server and
// clients on the loopback interface: one that succeeds, one that rejects
// the server's certificate, one the server rejects with an alert, and one
// still open when the capture stops.
func TestLiveLoopback(t *testing.T) {
	requireLiveCapture(t)
	pki := newLivePKI(t)
	addr := startLiveServer(t, pki)
	file := filepath.Join(t.TempDir(), "failed.pcapng")
	r := startLive(t, "-i", liveLoopback(), "--json", "--summary", "-w", file, fmt.Sprintf("tcp port %d", addr.Port))

	want := map[string]string{} // client address -> verdict
	okAddr, err := liveClient(t, addr, &tls.Config{RootCAs: pki.roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("good client: %v", err)
	}
	want[okAddr] = "ok"
	rejectAddr, err := liveClient(t, addr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Fatalf("client without the root: handshake error %v, want an unknown authority", err)
	}
	want[rejectAddr] = "client_rejected_certificate"
	alertAddr, err := liveClient(t, addr, &tls.Config{
		RootCAs: pki.roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12,
		// The server's key is ECDSA: no suite in common.
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	})
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("client with RSA suites only: handshake error %v, want a handshake_failure alert", err)
	}
	want[alertAddr] = "server_alert"
	sent := time.Now()

	// Verdicts come while the capture goes on, about a second after the
	// connections closed, without more packets.
	for len(liveObjects(t, r.stdout.String())) < 3 {
		if time.Since(sent) > 10*time.Second {
			t.Fatalf("3 verdicts not reported within 10s; stdout:\n%s\nstderr:\n%s", r.stdout.String(), r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	latency := time.Since(sent)
	t.Logf("verdicts reported %v after the last connection closed", latency)
	if latency > 3*time.Second {
		t.Errorf("verdicts took %v, want about a second", latency)
	}

	// A handshake still going on when the capture stops.
	raw, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	stalled := &stalledConn{Conn: raw, closed: make(chan struct{})}
	defer stalled.Close()
	go tls.Client(stalled, &tls.Config{RootCAs: pki.roots, ServerName: "localhost"}).Handshake()
	want[raw.LocalAddr().String()] = "incomplete"
	time.Sleep(300 * time.Millisecond) // for the ClientHello and the server's answer

	r.cancel()
	code := r.wait(t)
	stdout, stderr := r.stdout.String(), r.stderr.String()
	t.Logf("stderr:\n%s", stderr)
	if code != exitFailed {
		t.Errorf("exit status %d, want %d", code, exitFailed)
	}
	conns, summary := liveConns(t, stdout)
	if len(conns) != len(want) {
		t.Errorf("%d connections reported, want %d:\n%s", len(conns), len(want), stdout)
	}
	for client, verdict := range want {
		c := conns[client]
		if c == nil {
			t.Errorf("connection from %s not reported", client)
			continue
		}
		if c["verdict"] != verdict {
			t.Errorf("connection from %s: verdict %v (%v), want %s", client, c["verdict"], c["verdict_detail"], verdict)
		}
	}
	if summary == nil {
		t.Fatalf("no summary object:\n%s", stdout)
	}
	if summary["connections"] != float64(4) || summary["failed"] != float64(2) {
		t.Errorf("summary: %v connections, %v failed; want 4 and 2", summary["connections"], summary["failed"])
	}
	if v, _ := summary["verdicts"].(map[string]any); v["ok"] != float64(1) || v["client_rejected_certificate"] != float64(1) || v["server_alert"] != float64(1) || v["incomplete"] != float64(1) {
		t.Errorf("summary verdicts %v", summary["verdicts"])
	}
	for _, s := range []string{"capture on " + liveLoopback() + ":", "0 dropped by the kernel", "packets of failed connections to " + file} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q", s)
		}
	}
	if strings.Contains(stderr, "error:") || strings.Contains(stderr, "warning:") {
		t.Errorf("unexpected error or warning on stderr")
	}

	// The -w file holds exactly the failed connections, from their SYN.
	f, err := capture.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ReadPacketData(); err != nil {
		t.Fatalf("-w file: %v", err)
	}
	if f.Format != capture.FormatPcapng || f.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("-w file: %s, link type %v; want pcapng, Ethernet", f.Format, f.LinkType())
	}
	f.Close()
	var out, errOut bytes.Buffer
	code = run(context.Background(), []string{"-r", file, "--json"}, nil, &out, &errOut)
	if code != exitFailed {
		t.Errorf("tlstriage -r %s: exit status %d, want %d; stderr:\n%s", file, code, exitFailed, errOut.String())
	}
	saved, _ := liveConns(t, out.String())
	if len(saved) != 2 || saved[rejectAddr] == nil || saved[alertAddr] == nil {
		t.Fatalf("-w file holds %d connections, want the 2 failed ones (%s, %s):\n%s", len(saved), rejectAddr, alertAddr, out.String())
	}
	for _, client := range []string{rejectAddr, alertAddr} {
		c := saved[client]
		if c["verdict"] != want[client] {
			t.Errorf("-w file: connection from %s: verdict %v, want %s", client, c["verdict"], want[client])
		}
		if c["partial"] != false {
			t.Errorf("-w file: connection from %s is partial (no SYN)", client)
		}
	}
}

// TestLiveCountWriteAll stops by itself after -c 1 handshake, with every
// packet written.
func TestLiveCountWriteAll(t *testing.T) {
	requireLiveCapture(t)
	pki := newLivePKI(t)
	addr := startLiveServer(t, pki)
	file := filepath.Join(t.TempDir(), "all.pcapng")
	r := startLive(t, "-i", liveLoopback(), "--brief", "-c", "1", "-w", file, "--write-all", fmt.Sprintf("tcp port %d", addr.Port))
	client, err := liveClient(t, addr, &tls.Config{RootCAs: pki.roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	code := r.wait(t)
	stdout := r.stdout.String()
	if code != exitOK {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitOK, r.stderr.String())
	}
	if n := strings.Count(stdout, " verdict="); n != 1 || !strings.Contains(stdout, client+" -> ") || !strings.Contains(stdout, "verdict=ok") {
		t.Errorf("want one ok handshake from %s, got:\n%s", client, stdout)
	}
	if !strings.Contains(stdout, "  capture on "+liveLoopback()+": ") {
		t.Errorf("the summary lacks the capture line:\n%s", stdout)
	}
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	ng, err := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	syns := 0
	for {
		data, _, err := ng.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, ng.LinkType(), gopacket.Default)
		if tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp != nil && tcp.SYN && !tcp.ACK {
			syns++
		}
	}
	if syns != 1 {
		t.Errorf("--write-all file: %d SYNs, want 1", syns)
	}
}

// TestLiveDuration stops by itself after --duration.
func TestLiveDuration(t *testing.T) {
	requireLiveCapture(t)
	start := time.Now()
	r := startLive(t, "-i", liveLoopback(), "--duration", "300ms", "tcp port 1")
	code := r.wait(t)
	if code != exitOK {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitOK, r.stderr.String())
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("stopped after %v, want 300ms", d)
	}
	if !strings.Contains(r.stdout.String(), "no TLS connections found") {
		t.Errorf("stdout:\n%s", r.stdout.String())
	}
	// tcpdump's first line, on stderr.
	if want := "tlstriage: listening on " + liveLoopback() + ", link-type "; !strings.HasPrefix(r.stderr.String(), want) || !strings.Contains(r.stderr.String(), ", snapshot length 262144 bytes\n") {
		t.Errorf("stderr does not start with %q...:\n%s", want, r.stderr.String())
	}
}

// TestLiveFlagErrors checks the usage errors of the live flags; no
// capture permission needed.
func TestLiveFlagErrors(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "exists.pcapng")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-w", "x.pcapng"}, "-w works with live capture only"},
		{[]string{"-r", "x.pcap", "-c", "-3"}, "-c takes a positive number"},
		{[]string{"-r", "x.pcap", "-Z", "nobody"}, "-Z works with live capture only"},
		{[]string{"-i", "lo", "-r", "x.pcap"}, "-i and -r can't be used together"},
		{[]string{"-i", "lo", "--write-all"}, "--write-all needs -w FILE"},
		{[]string{"-i", "lo", "-c", "-1"}, "-c takes a positive number"},
		{[]string{"-i", "lo", "--duration", "-1s"}, "--duration takes a positive duration"},
		{[]string{"-r", "x.pcap", "-B", "1024"}, "-B works with live capture only"},
		{[]string{"-i", "lo", "-B", "0"}, "-B takes a number of KiB"},
		{[]string{"-i", "lo", "--buffer-size", "-5"}, "-B takes a number of KiB"},
		{[]string{"-i", "lo", "-w", "-"}, "-w - is not supported"},
		{[]string{"-i", "lo", "-w", existing}, existing + " already exists"},
		{[]string{"-i", "nosuch0"}, "nosuch0"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, nil, &stdout, &stderr)
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code != exitUsage || !strings.HasPrefix(lines[0], "tlstriage: error: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("tlstriage %s: exit %d, stderr:\n%s\nwant exit %d and an error with %q", strings.Join(tc.args, " "), code, stderr.String(), exitUsage, tc.want)
		}
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, "tlstriage: hint: ") {
				t.Errorf("tlstriage %s: more than one error line:\n%s", strings.Join(tc.args, " "), stderr.String())
			}
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("an existing -w file was overwritten without --force")
	}
}

// TestLiveListInterfaces lists the interfaces as tcpdump -D does.
func TestLiveListInterfaces(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-D"}, nil, &stdout, &stderr)
	if strings.Contains(stderr.String(), "pcap build") {
		t.Skipf("no live capture in this build: %s", stderr.String())
	}
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "."+liveLoopback()+" [Up, Running, Loopback]") && !strings.Contains(out, "."+liveLoopback()+" (") {
		t.Errorf("loopback interface not listed:\n%s", out)
	}
	if runtime.GOOS == "linux" && !strings.Contains(out, ".any (") {
		t.Errorf(`"any" not listed:\n%s`, out)
	}
	if !strings.HasPrefix(out, "1.") {
		t.Errorf("want numbered lines:\n%s", out)
	}
}

// TestLiveHelperProcess is not a test: the permission tests run the
// command in a child process through it.
func TestLiveHelperProcess(t *testing.T) {
	args := os.Getenv("TLSTRIAGE_LIVE_HELPER")
	if args == "" {
		t.Skip("helper process for the live permission tests")
	}
	ctx := context.Background()
	if os.Getenv("TLSTRIAGE_LIVE_HELPER_HANG") != "" {
		// As main does; the source hangs when closed.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		openLive = func(string, capture.LiveOptions) (capture.Source, error) {
			fmt.Fprintln(os.Stderr, "helper: capturing")
			return hungSource{}, nil
		}
	}
	code := run(ctx, strings.Split(args, "\x1f"), nil, os.Stdout, os.Stderr)
	fmt.Fprintf(os.Stderr, "helper: uid %d\n", os.Getuid())
	os.Exit(code)
}

// hungSource never delivers a packet and never finishes closing.
type hungSource struct{}

func (hungSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) { select {} }
func (hungSource) LinkType() layers.LinkType                             { return layers.LinkTypeEthernet }
func (hungSource) Close() error                                          { select {} }

// TestLiveSecondInterrupt checks that a second Ctrl-C ends the process at
// once, even when stopping hangs.
func TestLiveSecondInterrupt(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestLiveHelperProcess$")
	cmd.Env = append(os.Environ(), "TLSTRIAGE_LIVE_HELPER=-i\x1fhung0", "TLSTRIAGE_LIVE_HELPER_HANG=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var got []string
	for l := range lines {
		got = append(got, l)
		if l == "helper: capturing" {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // into the capture loop
	cmd.Process.Signal(os.Interrupt)
	time.Sleep(300 * time.Millisecond) // stopping: Close hangs
	cmd.Process.Signal(os.Interrupt)
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("a second interrupt did not end the process")
	}
	for l := range lines {
		got = append(got, l)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	if !slices.Contains(got, "tlstriage: interrupted again: exiting at once") {
		t.Errorf("stderr:\n%s", strings.Join(got, "\n"))
	}
}

// liveHelper runs the command in a child process, as uid when uid >= 0.
func liveHelper(t *testing.T, uid int, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		// The child must be able to execute a copy of the test binary.
		dir := t.TempDir()
		for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		exe = filepath.Join(dir, "tlstriage.test")
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(exe, "-test.run=^TestLiveHelperProcess$")
	cmd.Env = append(os.Environ(), "TLSTRIAGE_LIVE_HELPER="+strings.Join(args, "\x1f"))
	cmd.Dir = "/"
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Skipf("cannot run the test binary as uid %d: %v", uid, err)
	}
	return code, stderr.String()
}

// nobody returns the uid of the unprivileged user nobody.
func liveNobody(t *testing.T) int {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	var uid int
	fmt.Sscan(u.Uid, &uid)
	return uid
}

// TestLivePermissionDenied checks the one-line error of a process that may
// not capture: as root, in a child process running as nobody.
func TestLivePermissionDenied(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	var code int
	var stderr string
	if os.Geteuid() == 0 {
		code, stderr = liveHelper(t, liveNobody(t), "-i", liveLoopback())
		stderr = strings.TrimSuffix(stderr, fmt.Sprintf("helper: uid %d\n", liveNobody(t)))
	} else {
		var out, errOut bytes.Buffer
		code = run(context.Background(), []string{"-i", liveLoopback()}, nil, &out, &errOut)
		stderr = errOut.String()
		if code != exitUsage && !strings.Contains(stderr, "permission") {
			t.Skip("this process may capture (CAP_NET_RAW)")
		}
	}
	t.Logf("stderr: %s", stderr)
	if code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "tlstriage: error: ") {
		t.Errorf("want one error line, got:\n%s", stderr)
	}
	for _, s := range []string{"permission denied", "run as root or grant CAP_NET_RAW", "setcap cap_net_raw,cap_net_admin=eip"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("the error lacks %q", s)
		}
	}
}

// TestLiveDropPrivileges runs -Z nobody in a child process started as
// root: it captures, then runs as nobody.
func TestLiveDropPrivileges(t *testing.T) {
	requireLiveCapture(t)
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux")
	}
	uid := liveNobody(t)
	code, stderr := liveHelper(t, -1, "-i", liveLoopback(), "-Z", "nobody", "--duration", "200ms", "tcp port 1")
	if code != exitOK {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("helper: uid %d\n", uid)) {
		t.Errorf("privileges not dropped to nobody (uid %d); stderr:\n%s", uid, stderr)
	}
	code, stderr = liveHelper(t, -1, "-i", liveLoopback(), "-Z", "no-such-user-tlstriage", "--duration", "200ms")
	if code != exitUsage || !strings.HasPrefix(stderr, "tlstriage: error: -Z no-such-user-tlstriage: ") {
		t.Errorf("-Z unknown user: exit %d, stderr:\n%s", code, stderr)
	}
}

// fakeLiveSource plays a capture file as a live source that reports drops,
// then waits for Close as a quiet interface does.
type fakeLiveSource struct {
	f      *capture.File
	eof    bool
	closed chan struct{}
	once   sync.Once
}

func (s *fakeLiveSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if !s.eof {
		data, ci, err := s.f.ReadPacketData()
		if err == nil {
			return data, ci, nil
		}
		s.eof = true
	}
	<-s.closed
	return nil, gopacket.CaptureInfo{}, io.EOF
}

func (s *fakeLiveSource) LinkType() layers.LinkType { return s.f.LinkType() }

func (s *fakeLiveSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *fakeLiveSource) Stats() (capture.Stats, error) {
	return capture.Stats{Received: 10, KernelDrops: 2, IfaceDrops: 1, Known: true}, nil
}

// TestLiveDropsAndVerdicts runs the live path on a source that needs no
// permission: verdicts come without more packets, drops are warned about
// and summarised, and -w keeps the failed connection.
func TestLiveDropsAndVerdicts(t *testing.T) {
	f, err := capture.OpenFile("../../testdata/pcap/tls12-alert-unknown-ca.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	src := &fakeLiveSource{f: f, closed: make(chan struct{})}
	openLive = func(iface string, o capture.LiveOptions) (capture.Source, error) { return src, nil }
	t.Cleanup(func() { openLive = capture.OpenLive })
	file := filepath.Join(t.TempDir(), "failed.pcapng")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr liveBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-i", "fake0", "--json", "--summary", "-w", file}, nil, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(liveObjects(t, stdout.String())) == 0 || !strings.Contains(stderr.String(), "packets dropped so far") {
		if time.Now().After(deadline) {
			t.Fatalf("no verdict or no drop warning within 10s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if code != exitFailed {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitFailed, stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())
	conns, summary := liveConns(t, stdout.String())
	if len(conns) != 1 || summary == nil {
		t.Fatalf("want one connection and a summary:\n%s", stdout.String())
	}
	var verdict any
	for _, c := range conns {
		verdict = c["verdict"]
	}
	if verdict != "client_rejected_certificate" {
		t.Errorf("verdict %v, want client_rejected_certificate", verdict)
	}
	if w := fmt.Sprint(summary["warnings"]); !strings.Contains(w, "3 packets dropped (2 by the kernel, 1 by the interface)") {
		t.Errorf("summary warnings %s lack the drops", w)
	}
	for _, s := range []string{
		"tlstriage: warning: 3 packets dropped so far (2 by the kernel, 1 by the interface)",
		"capture on fake0: ", ", 10 received by the filter, 2 dropped by the kernel, 1 dropped by the interface",
	} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q", s)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-r", file, "--json"}, nil, &out, &errOut); code != exitFailed {
		t.Errorf("tlstriage -r %s: exit %d; stderr:\n%s", file, code, errOut.String())
	}
	saved, _ := liveConns(t, out.String())
	if len(saved) != 1 {
		t.Fatalf("-w file holds %d connections, want 1:\n%s", len(saved), out.String())
	}
	for client, c := range saved {
		if conns[client] == nil || c["verdict"] != verdict {
			t.Errorf("-w file: connection from %s, verdict %v; want the one reported live", client, c["verdict"])
		}
	}
}

// TestLiveSmallRing captures with a small capture buffer (-B 1024: a ring
// of eight 128 KiB blocks) that loopback datagrams refill several times
// between a failed handshake and its verdict: the packets kept for -w are
// copies, not the ring's reused blocks; every packet is analysed once; and
// captured plus dropped is what the kernel received.
func TestLiveSmallRing(t *testing.T) {
	requireLiveCapture(t)
	pki := newLivePKI(t)
	addr := startLiveServer(t, pki)
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	go io.Copy(io.Discard, rx)
	udp := rx.LocalAddr().(*net.UDPAddr)
	file := filepath.Join(t.TempDir(), "failed.pcapng")
	r := startLive(t, "-i", liveLoopback(), "--json", "--summary", "-B", "1024", "-w", file,
		fmt.Sprintf("tcp port %d or udp port %d", addr.Port, udp.Port))
	_, ring := r.src.(interface{ Block() uint64 })
	if ring {
		maps, _ := os.ReadFile("/proc/self/maps")
		found := false
		for line := range strings.Lines(string(maps)) {
			var lo, hi uint64
			if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err == nil && strings.Contains(line, " socket:[") && hi-lo == 1<<20 {
				found = true
			}
		}
		if !found {
			t.Errorf("-B 1024: no ring of 1 MiB mapped")
		}
	}

	rejectAddr, err := liveClient(t, addr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err == nil {
		t.Fatal("a client without the root completed the handshake")
	}
	const datagrams = 3000 // of 1000 bytes: the ring three times over
	tx, err := net.DialUDP("udp4", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	payload := make([]byte, 1000)
	for i := range datagrams {
		if _, err := tx.Write(payload); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
	okAddr, err := liveClient(t, addr, &tls.Config{RootCAs: pki.roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); len(liveObjects(t, r.stdout.String())) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("2 verdicts not reported within 10s; stdout:\n%s\nstderr:\n%s", r.stdout.String(), r.stderr.String())
		}
	}
	r.cancel()
	code := r.wait(t)
	stderr := r.stderr.String()
	t.Logf("stderr:\n%s", stderr)
	if code != exitFailed {
		t.Errorf("exit status %d, want %d", code, exitFailed)
	}
	conns, _ := liveConns(t, r.stdout.String())
	if c := conns[rejectAddr]; c == nil || c["verdict"] != "client_rejected_certificate" {
		t.Errorf("connection from %s: %v, want client_rejected_certificate", rejectAddr, c)
	}
	if c := conns[okAddr]; c == nil || c["verdict"] != "ok" {
		t.Errorf("connection from %s: %v, want ok", okAddr, c)
	}

	var captured, received, dropped int
	i := strings.Index(stderr, "capture on "+liveLoopback()+": ")
	if i < 0 {
		t.Fatal("no capture line")
	}
	if _, err := fmt.Sscanf(stderr[i:], "capture on "+liveLoopback()+": %d packets captured, %d received by the filter, %d dropped by the kernel", &captured, &received, &dropped); err != nil {
		t.Fatalf("capture line: %v", err)
	}
	if captured < 20 || (dropped == 0 && captured < datagrams) {
		t.Errorf("%d packets captured, %d dropped; want the %d datagrams and two handshakes", captured, dropped, datagrams)
	}
	if ring && captured+dropped != received {
		t.Errorf("%d captured + %d dropped != %d received: each packet once", captured, dropped, received)
	}

	// The failed connection's packets, kept while the ring was reused.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-r", file, "--json"}, nil, &out, &errOut); code != exitFailed {
		t.Errorf("tlstriage -r %s: exit status %d, want %d; stderr:\n%s", file, code, exitFailed, errOut.String())
	}
	saved, _ := liveConns(t, out.String())
	if c := saved[rejectAddr]; len(saved) != 1 || c == nil || c["verdict"] != "client_rejected_certificate" || c["partial"] != false {
		t.Errorf("-w file: want the failed connection from %s, whole:\n%s", rejectAddr, out.String())
	}
}

// TestLiveUpgradeRefused: a mail server that refuses STARTTLS is reported
// live as in a file (upgrade_refused), and fails the run.
func TestLiveUpgradeRefused(t *testing.T) {
	requireLiveCapture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pcaptest.Serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		rd := bufio.NewReader(c)
		io.WriteString(c, "220 mail.example.test ESMTP\r\n")
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.ToUpper(strings.TrimSpace(line)) {
			case "STARTTLS":
				io.WriteString(c, "454 4.7.0 TLS not available\r\n")
			case "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "250 mail.example.test\r\n")
			}
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	r := startLive(t, "-i", liveLoopback(), "--json", fmt.Sprintf("tcp port %d", addr.Port))
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	for _, cmd := range []string{"", "EHLO client.example.test\r\n", "STARTTLS\r\n", "QUIT\r\n"} {
		if cmd != "" {
			io.WriteString(c, cmd)
		}
		if _, err := rd.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(liveObjects(t, r.stdout.String())) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r.cancel()
	code := r.wait(t)
	conns, _ := liveConns(t, r.stdout.String())
	if len(conns) != 1 || code != exitFailed {
		t.Fatalf("%d connections reported, exit status %d; stdout:\n%s\nstderr:\n%s", len(conns), code, r.stdout.String(), r.stderr.String())
	}
	for _, o := range conns {
		if o["verdict"] != "upgrade_refused" || !strings.Contains(fmt.Sprint(o["verdict_detail"]), "454 4.7.0 TLS not available") {
			t.Errorf("verdict %v: %v", o["verdict"], o["verdict_detail"])
		}
	}
}

// TestLiveNoAnswer: a backend that accepts and never answers the
// ClientHello is reported live once the client gives up (its FIN), about
// Linger later, not when the capture stops.
func TestLiveNoAnswer(t *testing.T) {
	requireLiveCapture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	pcaptest.Serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.Copy(io.Discard, c) // reads the ClientHello, never answers
		<-done                 // nor closes
	})
	t.Cleanup(func() { close(done) }) // (runs before Serve's own cleanup)
	addr := ln.Addr().(*net.TCPAddr)
	r := startLive(t, "-i", liveLoopback(), "--json", fmt.Sprintf("tcp port %d", addr.Port))
	raw, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if err := tls.Client(raw, &tls.Config{ServerName: "localhost"}).Handshake(); err == nil {
		t.Fatal("handshake completed with a server that never answers")
	}
	raw.Close() // the client gives up
	gaveUp := time.Now()
	for len(liveObjects(t, r.stdout.String())) < 1 && time.Since(gaveUp) < 15*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	latency := time.Since(gaveUp)
	conns, _ := liveConns(t, r.stdout.String())
	r.cancel()
	r.wait(t)
	if len(conns) != 1 {
		t.Fatalf("%d connections reported within %v; stdout:\n%s\nstderr:\n%s", len(conns), latency, r.stdout.String(), r.stderr.String())
	}
	for _, o := range conns {
		if o["verdict"] != "no_server_response" {
			t.Errorf("verdict %v: %v", o["verdict"], o["verdict_detail"])
		}
	}
	t.Logf("reported %v after the client gave up", latency)
}
