// Command handshakes makes TLS handshakes on the loopback interface at a
// bounded rate, some of them failing, for soak runs of tlstriage's live
// capture (scripts/soak.sh, issue 17).
//
// It starts four crypto/tls servers on 127.0.0.1, on consecutive ports from
// --port, with certificates it makes at start:
//
//	ok           port+0  a chain the client trusts, for the name the client asks
//	unknown_ca   port+1  a chain from a CA the client does not trust: the client aborts with an alert
//	mismatch     port+2  a trusted chain for another name: the client aborts with an alert
//	client_cert  port+3  requires a client certificate the client does not have: the server sends an alert
//
// and runs a crypto/tls client that opens --rate connections per second for
// --duration, each to the server of its kind (the --mix weights, spread
// evenly), always with SNI. A connection that completes its handshake sends
// "ping", reads "pong", sends close_notify and waits for the server's; every
// connection is closed at the end. TLS 1.2 and 1.3 alternate unless --tls
// says otherwise.
//
// With --wait-usr1 it starts the servers, writes --ca-out, then waits for
// SIGUSR1 before the first connection (the script starts the captures
// meanwhile, with the CA as their truststore).
//
// With --log FILE it writes each connection that did not complete (the
// failures meant, and any other: a timeout under load) as a JSON line with
// its client address, so that each can be found in tlstriage's output.
//
// At the end (or on SIGINT/SIGTERM) it prints what it did as one JSON
// object on standard output: connections attempted, completed and failed,
// by kind and by version, and the errors seen. A connection "failed" when
// its TLS handshake, or the ping/pong after it, returned an error (TLS 1.3
// with a client certificate required: the server's alert comes on the
// first read); dial errors and errors at the close are counted apart.
//
// Usage, from the repository root:
//
//	go run ./internal/cmd/handshakes --rate 300 --duration 30m --ca-out /tmp/ca.pem
//
// It listens and connects on 127.0.0.0/8 only.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// kinds in port order.
var kinds = []string{"ok", "unknown_ca", "mismatch", "client_cert"}

const (
	serverName = pcaptest.DefaultServerName // what the client asks for (SNI)
	otherName  = "other.example.test"       // what the mismatch certificate names
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("handshakes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Float64("rate", 300, "connections started per second")
	duration := fs.Duration("duration", 10*time.Second, "how long to start connections for")
	mix := fs.String("mix", "ok=80,unknown_ca=7,mismatch=7,client_cert=6", "weights of the kinds (ok, unknown_ca, mismatch, client_cert)")
	addr := fs.String("addr", "127.0.0.1", "address the servers listen on (127.0.0.0/8 only)")
	port := fs.Int("port", 8443, "port of the ok server; the others follow (+1 unknown_ca, +2 mismatch, +3 client_cert); 0: any free ports (the report names them)")
	sources := fs.Int("sources", 1, "client source addresses, 127.0.0.1 upwards (more spread the 4-tuples over more ports)")
	versions := fs.String("tls", "mixed", "TLS version of the client: 1.2, 1.3, or mixed (alternating)")
	concurrency := fs.Int("concurrency", 64, "connections in flight at most (when all are busy, the next start waits)")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline of one connection")
	caOut := fs.String("ca-out", "", "write the CA the client trusts (PEM) to `FILE`, for tlstriage --truststore")
	logName := fs.String("log", "", "write each connection that did not complete (failed, as meant or not) to `FILE`, one JSON object a line: start, kind, version, client, server, stage, error")
	waitUSR1 := fs.Bool("wait-usr1", false, "once the servers listen and --ca-out is written, wait for SIGUSR1 before starting connections")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "handshakes: error: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	weights, err := parseMix(*mix)
	if err != nil {
		return usage("--mix: %v", err)
	}
	ip, err := netip.ParseAddr(*addr)
	if err != nil || !ip.Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(ip) {
		return usage("--addr %q: want an address in 127.0.0.0/8", *addr)
	}
	if *rate <= 0 || *duration <= 0 || *concurrency <= 0 || *sources < 1 || *sources > 250 {
		return usage("--rate, --duration and --concurrency must be positive, --sources 1 to 250")
	}
	if *port < 0 || *port+len(kinds)-1 > 65535 {
		return usage("--port %d: out of range", *port)
	}
	var vs []uint16
	switch *versions {
	case "1.2":
		vs = []uint16{tls.VersionTLS12}
	case "1.3":
		vs = []uint16{tls.VersionTLS13}
	case "mixed":
		vs = []uint16{tls.VersionTLS12, tls.VersionTLS13}
	default:
		return usage("--tls %q: want 1.2, 1.3 or mixed", *versions)
	}

	g, err := newGenerator(time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "handshakes: error: %v\n", err)
		return 1
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, pcaptest.PEM(g.trusted.Root), 0o644); err != nil {
			fmt.Fprintf(stderr, "handshakes: error: %v\n", err)
			return 1
		}
	}
	srvCtx, stopServers := context.WithCancel(context.Background())
	var servers sync.WaitGroup
	addrs := make([]string, len(kinds))
	for i, k := range kinds {
		p := 0
		if *port > 0 {
			p = *port + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(p)))
		if err != nil {
			stopServers()
			servers.Wait()
			fmt.Fprintf(stderr, "handshakes: error: %v\n", err)
			return 1
		}
		addrs[i] = ln.Addr().String()
		servers.Go(func() { serve(srvCtx, ln, g.serverConfig(k), *timeout) })
	}
	fmt.Fprintf(stderr, "handshakes: servers on %s (ok, unknown_ca, mismatch, client_cert); %g connections/s for %s\n",
		strings.Join(addrs, " "), *rate, *duration)

	if *waitUSR1 {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		fmt.Fprintf(stderr, "handshakes: waiting for SIGUSR1 (kill -USR1 %d)\n", os.Getpid())
		select {
		case <-usr1:
		case <-ctx.Done():
		}
		signal.Stop(usr1)
	}
	c := &client{
		roots:   g.trusted.RootPool(),
		timeout: *timeout,
		stats:   newStats(),
	}
	var logFile *os.File
	if *logName != "" {
		if logFile, err = os.Create(*logName); err != nil {
			stopServers()
			servers.Wait()
			fmt.Fprintf(stderr, "handshakes: error: %v\n", err)
			return 1
		}
		bw := bufio.NewWriterSize(logFile, 64<<10)
		c.log = &eventLog{w: bw, enc: json.NewEncoder(bw)}
	}
	start := time.Now()
	attempted := c.loop(ctx, loopOptions{
		rate: *rate, duration: *duration, concurrency: *concurrency,
		weights: weights, addrs: addrs, versions: vs, sources: *sources, ip: ip,
	})
	elapsed := time.Since(start)
	stopServers()
	servers.Wait()
	if c.log != nil {
		err := c.log.err
		if err == nil {
			err = c.log.w.Flush()
		}
		if cerr := logFile.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "handshakes: error: --log: %v\n", err)
			return 1
		}
	}

	out := c.stats.report(attempted, *rate, *duration, elapsed)
	out.Servers = map[string]string{}
	for i, k := range kinds {
		out.Servers[k] = addrs[i]
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "handshakes: error: %v\n", err)
		return 1
	}
	return 0
}

// parseMix parses "ok=80,unknown_ca=7,..." into a weight per kind, in
// kinds order.
func parseMix(s string) ([]int, error) {
	w := make([]int, len(kinds))
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want KIND=WEIGHT", part)
		}
		i := index(kinds, name)
		if i < 0 {
			return nil, fmt.Errorf("unknown kind %q (want %s)", name, strings.Join(kinds, ", "))
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: weight must be an integer >= 0", part)
		}
		w[i] = n
		total += n
	}
	if total == 0 {
		return nil, errors.New("all weights are 0")
	}
	return w, nil
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// generator holds the certificates of the servers.
type generator struct {
	trusted   *pcaptest.PKI // ok and client_cert servers; the client trusts its root
	mismatch  *pcaptest.PKI // same CA, leaf for otherName
	untrusted *pcaptest.PKI // another root the client does not hold
}

func newGenerator(now time.Time) (*generator, error) {
	var g generator
	var err error
	if g.trusted, err = pcaptest.NewPKI(pcaptest.PKIOptions{Now: now, RootName: "tlstriage Soak Root CA", IntermediateName: "tlstriage Soak Issuing CA"}); err != nil {
		return nil, err
	}
	if g.mismatch, err = g.trusted.WithLeaf(pcaptest.LeafOptions{DNSNames: []string{otherName}}); err != nil {
		return nil, err
	}
	if g.untrusted, err = pcaptest.NewPKI(pcaptest.PKIOptions{Now: now, RootName: "tlstriage Soak Untrusted Root CA", IntermediateName: "tlstriage Soak Untrusted Issuing CA"}); err != nil {
		return nil, err
	}
	return &g, nil
}

func (g *generator) serverConfig(kind string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch kind {
	case "ok":
		cfg.Certificates = []tls.Certificate{g.trusted.TLSCertificate(pcaptest.ChainLeafIntermediate)}
	case "unknown_ca":
		cfg.Certificates = []tls.Certificate{g.untrusted.TLSCertificate(pcaptest.ChainLeafIntermediate)}
	case "mismatch":
		cfg.Certificates = []tls.Certificate{g.mismatch.TLSCertificate(pcaptest.ChainLeafIntermediate)}
	case "client_cert":
		cfg.Certificates = []tls.Certificate{g.trusted.TLSCertificate(pcaptest.ChainLeafIntermediate)}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = g.trusted.RootPool()
	}
	return cfg
}

// serve accepts connections on ln until ctx ends, then closes ln and waits
// for its handlers.
func serve(ctx context.Context, ln net.Listener, cfg *tls.Config, timeout time.Duration) {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// EMFILE and the like: back off a little rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		wg.Go(func() { handle(c, cfg, timeout) })
	}
	wg.Wait()
}

// handle is the server side of one connection: handshake, read "ping",
// answer "pong", wait for the client's close_notify, close.
func handle(c net.Conn, cfg *tls.Config, timeout time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	tc := tls.Server(c, cfg)
	if err := tc.Handshake(); err != nil {
		return // crypto/tls sent its alert
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(tc, buf, 4)
	if err != nil || string(buf[:n]) != "ping" {
		return
	}
	if _, err := tc.Write([]byte("pong")); err != nil {
		return
	}
	io.Copy(io.Discard, tc) // until close_notify
	tc.Close()              // our close_notify, then FIN
}

// client opens the connections and counts what happened.
type client struct {
	roots   *x509.CertPool
	timeout time.Duration
	stats   *stats
	log     *eventLog // nil: no --log
}

type loopOptions struct {
	rate        float64
	duration    time.Duration
	concurrency int
	weights     []int
	addrs       []string
	versions    []uint16
	sources     int
	ip          netip.Addr
}

// loop starts connections at the rate for the duration (or until ctx
// ends) and waits for them; it returns how many it started.
func (c *client) loop(ctx context.Context, o loopOptions) int {
	sched := newScheduler(o.weights)
	interval := time.Duration(float64(time.Second) / o.rate)
	sem := make(chan struct{}, o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(o.duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	n := 0
	perKind := make([]int, len(o.weights)) // connections started, by kind
	src4 := netip.MustParseAddr("127.0.0.1").As4()
loop:
	for ; ; n++ {
		next := start.Add(time.Duration(n) * interval)
		if !next.Before(end) {
			break
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		kind := sched.next()
		version := o.versions[perKind[kind]%len(o.versions)] // versions alternate within each kind
		perKind[kind]++
		var local *net.TCPAddr // nil: the kernel's choice, 127.0.0.1
		if o.sources > 1 {
			s := src4
			s[3] += byte(n % o.sources)
			local = &net.TCPAddr{IP: net.IP(s[:])}
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c.connect(kind, version, o.addrs[kind], local)
		})
	}
	wg.Wait()
	return n
}

// scheduler spreads the kinds by their weights (smooth weighted round
// robin, as nginx balances upstreams): with weights 80,7,7,6 every 100
// connections hold exactly 80 ok ones, the failures spread among them.
type scheduler struct {
	weights, current []int
	total            int
}

func newScheduler(w []int) *scheduler {
	s := &scheduler{weights: w, current: make([]int, len(w))}
	for _, v := range w {
		s.total += v
	}
	return s
}

func (s *scheduler) next() int {
	best := -1
	for i, w := range s.weights {
		s.current[i] += w
		if best < 0 || s.current[i] > s.current[best] {
			best = i
		}
	}
	s.current[best] -= s.total
	return best
}

// connect makes one connection of a kind and counts its outcome.
func (c *client) connect(kind int, version uint16, addr string, local *net.TCPAddr) {
	e := event{Start: time.Now(), Kind: kinds[kind], Version: tls.VersionName(version), Server: addr}
	o, err := c.exchange(&e, version, addr, local)
	c.stats.add(kind, version, o, err)
	if o != outcomeOK && c.log != nil {
		e.Error = err.Error()
		c.log.write(e)
	}
}

// exchange dials, handshakes, sends "ping", reads "pong" and closes; it
// notes the stage reached and the client's address in e.
func (c *client) exchange(e *event, version uint16, addr string, local *net.TCPAddr) (outcome, error) {
	d := net.Dialer{Timeout: c.timeout}
	if local != nil {
		d.LocalAddr = local
		d.Control = bindNoPort
	}
	e.Stage = "dial"
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return outcomeDialError, err
	}
	defer conn.Close()
	e.Client = conn.LocalAddr().String()
	conn.SetDeadline(time.Now().Add(c.timeout))
	tc := tls.Client(conn, &tls.Config{
		ServerName: serverName,
		RootCAs:    c.roots,
		MinVersion: version,
		MaxVersion: version,
	})
	e.Stage = "handshake"
	if err := tc.Handshake(); err != nil {
		return outcomeFailed, err
	}
	// TLS 1.3: a server that requires a client certificate rejects it
	// after the client's handshake is over; the alert comes here.
	e.Stage = "data"
	if _, err := tc.Write([]byte("ping")); err != nil {
		return outcomeFailed, err
	}
	buf := make([]byte, 16)
	if n, err := io.ReadAtLeast(tc, buf, 4); err != nil || string(buf[:n]) != "pong" {
		if err == nil {
			err = fmt.Errorf("handshakes: got %q, want pong", buf[:n])
		}
		return outcomeFailed, err
	}
	// close_notify, then wait for the server's and its FIN.
	e.Stage = "close"
	if err := tc.CloseWrite(); err != nil {
		return outcomeAfterData, err
	}
	if _, err := io.Copy(io.Discard, tc); err != nil {
		return outcomeAfterData, err
	}
	return outcomeOK, nil
}

// event is a line of the --log file: a connection that did not complete.
type event struct {
	Start   time.Time `json:"start"`
	Kind    string    `json:"kind"`
	Version string    `json:"version"`
	Client  string    `json:"client"` // empty when the dial failed
	Server  string    `json:"server"`
	Stage   string    `json:"stage"` // dial, handshake, data (ping/pong), close
	Error   string    `json:"error"`
}

// eventLog writes events as NDJSON, one goroutine at a time.
type eventLog struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

func (l *eventLog) write(e event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(e)
	}
}

type outcome int

const (
	outcomeOK        outcome = iota // handshake, ping/pong, close_notify both ways
	outcomeFailed                   // the handshake (or the first read, TLS 1.3 client_cert) failed
	outcomeAfterData                // the handshake and ping/pong went through, the close did not
	outcomeDialError                // no TCP connection
)

// stats counts outcomes by kind and version, and errors by their text
// with addresses and numbers taken out.
type stats struct {
	mu       sync.Mutex
	byKind   [][4]int            // kind -> outcome counts
	byVer    map[string]*[4]int  // "TLS 1.2" -> outcome counts
	errs     map[string]int      // normalised error -> count
	errKinds map[string][]string // normalised error -> kinds it occurred for
}

func newStats() *stats {
	return &stats{
		byKind:   make([][4]int, len(kinds)),
		byVer:    map[string]*[4]int{},
		errs:     map[string]int{},
		errKinds: map[string][]string{},
	}
}

var numbers = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)*(:[0-9]+)?`)

func (s *stats) add(kind int, version uint16, o outcome, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byKind[kind][o]++
	v := tls.VersionName(version)
	if s.byVer[v] == nil {
		s.byVer[v] = new([4]int)
	}
	s.byVer[v][o]++
	if err != nil {
		msg := numbers.ReplaceAllString(err.Error(), "N")
		if _, seen := s.errs[msg]; seen || len(s.errs) < 50 {
			s.errs[msg]++
			if index(s.errKinds[msg], kinds[kind]) < 0 {
				s.errKinds[msg] = append(s.errKinds[msg], kinds[kind])
			}
		}
	}
}

// Counts are the outcomes of a set of connections.
type Counts struct {
	Attempted int `json:"attempted"`
	// OK completed the handshake, exchanged data and closed.
	OK int `json:"ok"`
	// Failed: the TLS handshake failed.
	Failed int `json:"failed"`
	// AfterData: the handshake completed, the close went wrong.
	AfterData int `json:"after_data_error"`
	// DialErrors never had a TCP connection.
	DialErrors int `json:"dial_errors"`
}

func countsOf(c [4]int) Counts {
	return Counts{
		Attempted:  c[0] + c[1] + c[2] + c[3],
		OK:         c[outcomeOK],
		Failed:     c[outcomeFailed],
		AfterData:  c[outcomeAfterData],
		DialErrors: c[outcomeDialError],
	}
}

// Report is the JSON the command prints.
type Report struct {
	Rate         float64 `json:"rate"`
	Duration     string  `json:"duration"`
	ElapsedS     float64 `json:"elapsed_s"`
	AchievedRate float64 `json:"achieved_rate"`
	Started      int     `json:"started"`
	// Servers is the address of each kind's server.
	Servers  map[string]string `json:"servers"`
	Total    Counts            `json:"total"`
	Kinds    map[string]Counts `json:"kinds"`
	Versions map[string]Counts `json:"versions"`
	// Unexpected counts connections whose outcome differs from their
	// kind's: an ok connection that failed, a failing one that succeeded.
	Unexpected int          `json:"unexpected"`
	Errors     []ErrorCount `json:"errors"`
}

// ErrorCount is one error text (numbers replaced by N) and how often it
// occurred, for which kinds.
type ErrorCount struct {
	Error string   `json:"error"`
	Count int      `json:"count"`
	Kinds []string `json:"kinds"`
}

func (s *stats) report(started int, rate float64, duration, elapsed time.Duration) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Report{
		Rate: rate, Duration: duration.String(), ElapsedS: elapsed.Seconds(),
		Started:  started,
		Kinds:    map[string]Counts{},
		Versions: map[string]Counts{},
	}
	var total [4]int
	for i, k := range kinds {
		c := s.byKind[i]
		for o := range c {
			total[o] += c[o]
		}
		r.Kinds[k] = countsOf(c)
		if k == "ok" {
			r.Unexpected += c[outcomeFailed] + c[outcomeAfterData]
		} else {
			r.Unexpected += c[outcomeOK] + c[outcomeAfterData]
		}
	}
	r.Total = countsOf(total)
	if elapsed > 0 {
		r.AchievedRate = float64(r.Total.Attempted) / elapsed.Seconds()
	}
	for v, c := range s.byVer {
		r.Versions[v] = countsOf(*c)
	}
	for e, n := range s.errs {
		r.Errors = append(r.Errors, ErrorCount{Error: e, Count: n, Kinds: s.errKinds[e]})
	}
	sort.Slice(r.Errors, func(i, j int) bool {
		if r.Errors[i].Count != r.Errors[j].Count {
			return r.Errors[i].Count > r.Errors[j].Count
		}
		return r.Errors[i].Error < r.Errors[j].Error
	})
	return r
}
