package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/spf13/pflag"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcapout"
	"github.com/tlstriage/tlstriage/internal/rotate"
	"github.com/tlstriage/tlstriage/report"
	"github.com/tlstriage/tlstriage/truststore"
)

// Live capture timing. The analyzer's clock follows the wall clock between
// packets, minus liveDelay, so a closed connection is reported liveLinger
// after its last packet, within liveTick plus liveDelay.
const (
	liveLinger = time.Second
	liveTick   = 200 * time.Millisecond
	statsTicks = 5 // ticks between two looks at the drop counters (and updates of the metrics)
	// metricsFileTicks is how often --metrics-file is written anew.
	metricsFileTicks = int(15 * time.Second / liveTick)
	// liveDelay is how late the kernel may hand packets over (the packet
	// ring's block timeout, libpcap's buffer timeout): the clock stays
	// that far behind, so that they are not late for their connection.
	liveDelay = capture.DefaultTimeout

	dropWarnEvery = 10 * time.Second
)

// liveConfig holds the live-capture flags.
type liveConfig struct {
	iface     string
	list      bool
	count     int
	duration  time.Duration
	snaplen   int
	bufferKiB int
	noPromisc bool
	write     string
	writeAll  bool
	user      string
	// -w rotation, as tcpdump's -C, -W, -G.
	fileSize  string
	fileCount int
	seconds   int
	size      int64 // fileSize parsed
}

// rotation is how the -w files rotate.
func (lc *liveConfig) rotation() rotate.Options {
	// Names made with -G use local time, as tcpdump's do.
	return rotate.Options{FileSize: lc.size, FileCount: lc.fileCount, Seconds: lc.seconds, Location: time.Local}
}

// checkRotation checks -C, -W and -G.
func (lc *liveConfig) checkRotation(fs *pflag.FlagSet) error {
	if lc.fileSize != "" {
		n, err := rotate.ParseFileSize(lc.fileSize)
		if err != nil || n <= 0 {
			return fmt.Errorf("-C takes a size in millions of bytes (or with k, m or g), not %q", lc.fileSize)
		}
		lc.size = n
	}
	switch {
	case lc.fileCount < 0:
		return fmt.Errorf("-W takes a positive number of files, not %d", lc.fileCount)
	case lc.seconds < 0:
		return fmt.Errorf("-G takes a positive number of seconds, not %d", lc.seconds)
	case lc.fileCount > 0 && lc.size == 0 && lc.seconds == 0:
		return errors.New("-W needs -C or -G")
	case lc.write == "" && (fs.Changed("file-size") || fs.Changed("file-count") || fs.Changed("rotate-seconds")):
		return errors.New("-C, -W and -G rotate the -w files: give -w FILE")
	}
	return nil
}

// openLive opens the capture; tests replace it.
var openLive = capture.OpenLive

// addLiveFlags registers the live-capture flags, named as in tcpdump.
func addLiveFlags(fs *pflag.FlagSet, lc *liveConfig) {
	fs.StringVarP(&lc.iface, "interface", "i", "", "capture live on `IFACE` (\"any\" for every interface) and report each handshake as soon as its verdict is known")
	fs.BoolVarP(&lc.list, "list-interfaces", "D", false, "list the interfaces -i can capture on")
	fs.IntVarP(&lc.count, "count", "c", 0, "stop after `N` connections reported (handshakes, with -i), as tcpdump's -c stops after N packets")
	fs.DurationVar(&lc.duration, "duration", 0, "with -i, stop after `D` (such as 30s or 5m)")
	fs.IntVarP(&lc.snaplen, "snapshot-length", "s", 0, "with -i, keep at most `SNAPLEN` bytes of each packet (default 262144)")
	fs.IntVarP(&lc.bufferKiB, "buffer-size", "B", capture.DefaultBufferSize>>10, "with -i, the kernel's capture buffer in `KiB`, as tcpdump -B")
	fs.BoolVarP(&lc.noPromisc, "no-promiscuous-mode", "p", false, "with -i, don't put the interface into promiscuous mode")
	fs.StringVarP(&lc.write, "write", "w", "", "write the packets of the failed connections (the selected ones with -Y) to `FILE` (pcapng), each with a comment naming its verdict and cause")
	fs.BoolVar(&lc.writeAll, "write-all", false, "with -w, write every packet captured, not only those of failed connections")
	fs.StringVarP(&lc.user, "relinquish-privileges", "Z", "", "with -i, switch to `USER` after opening the capture")
	fs.StringVarP(&lc.fileSize, "file-size", "C", "", "with -w, start a new file when the current one holds more than `SIZE` millions of bytes (or SIZE with k, m, g), named FILE1, FILE2..., as tcpdump -C")
	fs.IntVarP(&lc.fileCount, "file-count", "W", 0, "with -C, keep a ring of `N` files (FILE0...), overwriting the oldest; with -G alone, stop writing after N files, as tcpdump -W")
	fs.IntVarP(&lc.seconds, "rotate-seconds", "G", 0, "with -w, start a new file every `SECONDS`, its name passed through strftime (-w 'tls-%Y%m%d-%H%M%S.pcapng'), as tcpdump -G")
}

// checkLiveFlags lists the interfaces for -D and rejects live flags used
// wrongly. It reports whether run is done, with the exit code.
func checkLiveFlags(fs *pflag.FlagSet, cfg *config, stdout, stderr io.Writer) (int, bool) {
	lc := &cfg.live
	if lc.list {
		return listInterfaces(stdout, stderr), true
	}
	if err := lc.checkRotation(fs); err != nil {
		errorf(stderr, "%v", err)
		return exitUsage, true
	}
	if lc.iface == "" {
		if lc.count < 0 {
			errorf(stderr, "-c takes a positive number of connections, not %d", lc.count)
			return exitUsage, true
		}
		for _, name := range []string{"duration", "snapshot-length", "buffer-size", "no-promiscuous-mode", "write", "write-all", "file-size", "file-count", "rotate-seconds", "relinquish-privileges"} {
			if (name == "write" || name == "write-all" || name == "file-size" || name == "file-count" || name == "rotate-seconds") && len(cfg.files) > 0 {
				continue // -w also writes what files hold (filewrite.go)
			}
			if fs.Changed(name) {
				f := fs.Lookup(name)
				flag := "--" + name
				if f.Shorthand != "" {
					flag = "-" + f.Shorthand
				}
				errorf(stderr, "%s works with live capture only", flag)
				hint(stderr, "capture with -i IFACE (tlstriage -D lists the interfaces)")
				return exitUsage, true
			}
		}
		return 0, false
	}
	switch {
	case len(cfg.files) > 0:
		errorf(stderr, "-i and -r can't be used together")
		hint(stderr, "capture live with -i IFACE, or read files with -r FILE")
		return exitUsage, true
	case lc.count < 0:
		errorf(stderr, "-c takes a positive number of handshakes, not %d", lc.count)
		return exitUsage, true
	case lc.duration < 0:
		errorf(stderr, "--duration takes a positive duration, not %v", lc.duration)
		return exitUsage, true
	case lc.snaplen < 0:
		errorf(stderr, "-s takes a positive number of bytes, not %d", lc.snaplen)
		return exitUsage, true
	case lc.bufferKiB <= 0 || lc.bufferKiB > maxBufferKiB:
		errorf(stderr, "-B takes a number of KiB from 1 to %d, not %d", maxBufferKiB, lc.bufferKiB)
		return exitUsage, true
	case lc.writeAll && lc.write == "":
		errorf(stderr, "--write-all needs -w FILE")
		return exitUsage, true
	case lc.write == "-":
		errorf(stderr, "-w - is not supported: the report goes to standard output")
		hint(stderr, "give -w a file name")
		return exitUsage, true
	}
	if lc.write != "" && lc.seconds == 0 && !cfg.force {
		if _, err := os.Lstat(lc.write); err == nil {
			errorf(stderr, "%s already exists", lc.write)
			hint(stderr, "use --force to overwrite it")
			return exitUsage, true
		}
	}
	return 0, false
}

// listInterfaces prints the interfaces as tcpdump -D does.
func listInterfaces(stdout, stderr io.Writer) int {
	ifs, err := capture.Interfaces()
	if err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	for i, ifc := range ifs {
		line := fmt.Sprintf("%d.%s", i+1, ifc.Name)
		if ifc.Description != "" {
			line += " (" + ifc.Description + ")"
		}
		if f := ifc.Flags(); f != "" {
			line += " [" + f + "]"
		}
		fmt.Fprintln(stdout, line)
	}
	return exitOK
}

// maxBufferKiB is the largest -B: 4 GiB.
const maxBufferKiB = 4 << 20

// runLive captures on an interface, reports every connection as soon as
// its verdict is final, and stops on -c, --duration, a read error or ctx
// (Ctrl-C): then it reports the connections still open, the summary and
// the capture's drop counters.
func runLive(ctx context.Context, cfg *config, trust *truststore.Store, stdout, stderr io.Writer) int {
	lc := &cfg.live
	bufSize := lc.bufferKiB << 10
	src, err := openLive(lc.iface, capture.LiveOptions{Snaplen: lc.snaplen, Promisc: !lc.noPromisc, Filter: cfg.filter, BufferSize: bufSize})
	if err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	defer src.Close()
	if n, ok := src.(interface{ Note() string }); ok && n.Note() != "" {
		fmt.Fprintf(stderr, "tlstriage: note: %s\n", n.Note())
	}
	if lc.user != "" {
		if err := dropPrivileges(lc.user); err != nil {
			errorf(stderr, "%v", err)
			return exitUsage
		}
	}
	lt := src.LinkType()
	snap := lc.snaplen
	if snap <= 0 {
		snap = capture.DefaultSnaplen
	}
	// As tcpdump says it when it starts.
	fmt.Fprintf(stderr, "tlstriage: listening on %s, link-type %s, snapshot length %d bytes\n", lc.iface, linkTypeName(lt), snap)
	var pw *pcapout.Writer
	if lc.write != "" {
		// Opened after dropping privileges, as tcpdump does: the file
		// belongs to the -Z user.
		comment := "packets of failed TLS connections only, from their first packet captured"
		if lc.writeAll {
			comment = "every packet captured"
		}
		pw, err = pcapout.Create(pcapout.Options{
			Name:   lc.write,
			Force:  cfg.force,
			Rotate: lc.rotation(),
			Interface: pcapgo.NgInterface{
				Name:                lc.iface,
				Comment:             comment,
				Filter:              cfg.filter,
				LinkType:            lt,
				SnapLength:          uint32(snap),
				TimestampResolution: 9,
				OS:                  runtime.GOOS,
			},
		})
		if err != nil {
			errorf(stderr, "%v", err)
			return exitUsage
		}
		defer pw.Close()
	}
	var writeErr error
	flushWrite := func() { // warns once when writing fails
		if err := pw.Flush(); err != nil && writeErr == nil {
			writeErr = err
			warnf(stderr, "%v: no more packets will be written", err)
		}
	}

	sess, err := newSession(cfg, trust, stdout, stdout)
	if err == nil {
		err = sess.startService(ctx, true, stderr)
	}
	if err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	defer sess.svc.stop(stderr)
	emit := func(c *dissect.Conn) {
		if sess.full() {
			pw.Done(c.ID, false, "", lt)
			return
		}
		j := sess.judge(c, nil)
		if !sess.deliver(c, j) {
			pw.Done(c.ID, false, "", lt)
			return
		}
		write := j.r.Failed || cfg.sel != nil // -Y: the connections selected
		if !pw.Done(c.ID, write, pcapout.Comment(c.ID, c.Client.String(), c.Server.String(), string(j.r.Verdict), string(j.r.Cause)), lt) {
			warnf(stderr, "connection %d failed but its packets are not in %s: it outgrew the buffer kept for -w", c.ID, lc.write)
		}
	}
	an := dissect.NewAnalyzer(dissect.Options{Linger: liveLinger}, emit)
	an.SetFile("interface " + lc.iface)
	q := capture.NewQueue(src, max(64<<10, min(capture.MaxBatchBytes, bufSize/8)))
	// analyse feeds a batch to the analyzer (and -w), and gives its
	// buffers back.
	analyse := func(b *capture.Batch) {
		if b == nil {
			return
		}
		for _, p := range b.Packets {
			if sess.full() {
				break
			}
			id := an.PacketConn(p.Data, p.CI, lt)
			if lc.writeAll {
				pw.Write(p.Data, p.CI, lt, "")
			} else {
				pw.Hold(id, p.Data, p.CI)
			}
		}
		q.Recycle(b)
	}
	go q.Read()
	ticker := time.NewTicker(liveTick)
	defer ticker.Stop()
	var deadline <-chan time.Time
	if lc.duration > 0 {
		t := time.NewTimer(lc.duration)
		defer t.Stop()
		deadline = t.C
	}
	stats, _ := src.(capture.StatsSource)
	var (
		warnedDrops uint64
		warnedAt    time.Time
	)
	checkDrops := func() { // warns when drops happen, at most every dropWarnEvery
		if stats == nil || (!warnedAt.IsZero() && time.Since(warnedAt) < dropWarnEvery) {
			return
		}
		st, err := stats.Stats()
		if err != nil || !st.Known {
			return
		}
		if n := st.KernelDrops + st.IfaceDrops; n > warnedDrops {
			warnf(stderr, "%d packets dropped so far (%d by the kernel, %d by the interface): the report misses what they carried", n, st.KernelDrops, st.IfaceDrops)
			warnedDrops, warnedAt = n, time.Now()
		}
	}
	ticks := 0
loop:
	for !sess.full() {
		select {
		case <-q.Ready():
			b, stopped := q.Take()
			analyse(b)
			flushWrite()
			if stopped {
				break loop // the capture failed
			}
		case <-ticker.C:
			if q.Idle() {
				an.Advance(time.Now().Add(-liveDelay).Round(0))
				flushWrite()
			}
			if ticks++; ticks%statsTicks == 0 {
				checkDrops()
				if sess.svc.met != nil {
					var cst capture.Stats
					if stats != nil {
						cst, _ = stats.Stats()
					}
					sess.svc.capture(an.Stats(), cst)
				}
			}
			if ticks%metricsFileTicks == 0 {
				if err := sess.svc.writeFile(); err != nil {
					warnf(stderr, "%v", err)
				}
			}
		case <-deadline:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	if ctx.Err() != nil {
		// The first Ctrl-C ends the capture; a second one ends at once.
		defer exitOnSignal(stderr)()
	}
	src.Close()
	for { // what was captured before the stop
		b, stopped := q.Take()
		analyse(b)
		if stopped {
			break
		}
		<-q.Ready()
	}
	if !sess.full() {
		an.Flush()
	}
	flushWrite()
	var warnings []string
	damaged := false
	if err := q.Err(); err != nil { // the reader is gone
		msg := fmt.Sprintf("capture stopped: %v: the report covers the packets before", err)
		warnf(stderr, "%s", msg)
		warnings = append(warnings, msg)
		damaged = true
	}

	st := an.Stats()
	var cst capture.Stats
	if stats != nil {
		cst, _ = stats.Stats()
	}
	if n := cst.KernelDrops + cst.IfaceDrops; n > 0 {
		warnings = append(warnings, fmt.Sprintf("%d packets dropped (%d by the kernel, %d by the interface): the report misses what they carried", n, cst.KernelDrops, cst.IfaceDrops))
	}
	if ws := pw.Stats(); ws.Evicted > 0 {
		warnings = append(warnings, fmt.Sprintf("%d connections outgrew the buffer kept for -w (%d MiB or %d packets each); %d of them failed and are missing from %s", ws.Evicted, pcapout.MaxConnBytes>>20, pcapout.MaxConnPackets, ws.EvictedFailed, lc.write))
	}
	sess.svc.capture(st, cst)
	sess.close(&st, warnings)
	captureLine := fmt.Sprintf("capture on %s: %d packets captured", lc.iface, st.Packets)
	if cst.Known {
		captureLine += fmt.Sprintf(", %d received by the filter, %d dropped by the kernel, %d dropped by the interface", cst.Received, cst.KernelDrops, cst.IfaceDrops)
	}
	if cfg.json {
		fmt.Fprintf(stderr, "tlstriage: %s\n", captureLine)
		fmt.Fprintf(stderr, "tlstriage: read %s, %s, %s%s\n", report.Count(st.Packets, "packet"), report.Count(st.TCPConns, "TCP connection"), report.Count(st.TLSConns, "TLS connection"), notDecoded(&st))
	} else if sess.writeErr == nil {
		_, err := fmt.Fprintf(stdout, "  %s\n", captureLine)
		sess.keep(err)
	}
	sess.exportNotes(stderr)
	if pw != nil {
		if err := pw.Close(); err != nil && writeErr == nil {
			errorf(stderr, "%v", err)
			return exitUsage
		}
		what := "packets of failed connections"
		if lc.writeAll {
			what = "packets"
		}
		ws := pw.Stats()
		if ws.Packets == 1 {
			what = what[:len("packet")] + what[len("packets"):]
		}
		fmt.Fprintf(stderr, "tlstriage: wrote %d %s to %s\n", ws.Packets, what, pw.Where())
	}
	return sess.exit(stderr, false, damaged)
}

// exitOnSignal makes a further SIGINT or SIGTERM end the process at once,
// while the report is being finished; the returned function undoes it.
func exitOnSignal(stderr io.Writer) func() {
	sig := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
			fmt.Fprintln(stderr, "tlstriage: interrupted again: exiting at once")
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}

// linkTypeName names a link type as tcpdump does: its DLT name and
// description ("EN10MB (Ethernet)").
func linkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeEthernet:
		return "EN10MB (Ethernet)"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2 (Linux cooked v2)"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL (Linux cooked v1)"
	case layers.LinkTypeRaw, layers.LinkTypeIPv4:
		return "RAW (Raw IP)"
	case layers.LinkTypeNull:
		return "NULL (BSD loopback)"
	}
	return fmt.Sprintf("%d (%s)", int(lt), lt)
}
