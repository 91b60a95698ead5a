package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/capture/filter"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/rotate"
	"github.com/tlstriage/tlstriage/report"
	"github.com/tlstriage/tlstriage/report/selection"
	"github.com/tlstriage/tlstriage/tlsdecrypt"
	"github.com/tlstriage/tlstriage/truststore"
)

// Exit codes.
const (
	exitOK      = 0 // every handshake seen completed
	exitFailed  = 1 // at least one handshake failed
	exitUsage   = 2 // bad usage, or input that could not be read at all
	exitDamaged = 3 // input damaged: the report covers what could be read
	// exitUnjudged: every connection reported is incomplete (the capture
	// lacks their beginning or their end): no handshake could be judged.
	exitUnjudged = 4
)

type config struct {
	files       []string
	json        bool
	summary     bool
	truststores []string
	password    string
	host        string
	client      string // --client: the stack whose rules judge every connection
	exportDir   string
	force       bool
	verbose     bool
	brief       bool
	quiet       bool
	selectExpr  string               // -Y
	sel         *selection.Selection // -Y compiled
	jsonFile    string               // --json-file
	metricsAddr string               // --metrics
	metricsFile string               // --metrics-file
	color       string
	progress    string
	all         bool
	filter      string
	live        liveConfig
	jobs        int
	keylogs     []string
	keys        *tlsdecrypt.KeyLog // --keylog files, then the captures' secrets blocks
}

// maxRotationGap is the longest silence between two files read as one
// capture: the idle timeout after which a connection is over anyway.
const maxRotationGap = 5 * time.Minute

// firstFrames are the files to merge, each with the time of its first
// frame (zero for standard input, read only once, and for a file that
// cannot be read or has no frame: the error is said when it is read).
func firstFrames(names []string, stdin io.Reader) []capture.MergeFile {
	out := make([]capture.MergeFile, len(names))
	for i, name := range names {
		out[i].Name = name
		if name == "-" || len(names) == 1 {
			continue
		}
		f, err := capture.OpenFile(name, stdin)
		if err != nil {
			continue
		}
		if _, ci, err := f.ReadPacketData(); err == nil {
			out[i].First = ci.Timestamp
		}
		f.Close()
	}
	return out
}

// looksLikeCapture reports whether a word given where a filter goes is a
// capture file: an existing file, or a name ending as captures do.
func looksLikeCapture(arg string) bool {
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".gz"} {
		if strings.HasSuffix(arg, ext) {
			return true
		}
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

// diagnoseOptions are the options every connection is judged with.
// --client has been checked by clientFlag.
func (cfg *config) diagnoseOptions(trust *truststore.Store) diagnose.Options {
	o := diagnose.Options{Trust: trust, Host: cfg.host, Flags: adviceFlags}
	if cfg.client != "" {
		o.Client, _ = diagnose.ParseClient(cfg.client)
	}
	o.ProbeCommand = func(c *dissect.Conn) string { return fetchChainCommand(c, trust, cfg.host, cfg.client) }
	return o
}

// clientFlag checks --client; it reports false after printing the error.
func clientFlag(name string, stderr io.Writer) bool {
	if name == "" {
		return true
	}
	if _, ok := diagnose.ParseClient(name); !ok {
		errorf(stderr, "--client takes %s, not %q", strings.Join(diagnose.ClientNames, ", "), name)
		return false
	}
	return true
}

// reports says whether c is reported: TLS connections, those whose client
// asked to start TLS and was refused (STARTTLS, a proxy's CONNECT), those
// the server refused right after accepting them (the client's "connection
// reset by peer" before its ClientHello), and with --all every TCP
// connection.
func (cfg *config) reports(c *dissect.Conn) bool {
	return c.TLS || c.UpgradeRefused || cfg.all || diagnose.RefusedAfterAccept(c)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "probe" {
		return runProbe(ctx, args[1:], stdout, stderr)
	}
	var cfg config
	fs := pflag.NewFlagSet("tlstriage", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&cfg.files, "read", "r", nil, "read packets from `FILE` (pcap, pcapng, .gz; - for stdin); repeatable")
	fs.BoolVar(&cfg.json, "json", false, "write one JSON object per connection (NDJSON)")
	fs.BoolVar(&cfg.summary, "summary", false, "with --json, end with a summary object")
	fs.StringArrayVar(&cfg.truststores, "truststore", nil, "the client's truststore: PEM bundle, directory, JKS or PKCS#12 `PATH`; repeatable (default: built-in Mozilla roots)")
	fs.StringVar(&cfg.password, "truststore-password", "changeit", "password of JKS/PKCS#12 truststores")
	fs.StringVar(&cfg.host, "host", "", "the host `NAME` the client meant to reach (default: the SNI)")
	fs.StringVar(&cfg.client, "client", "", "judge every connection with the rules of this client `STACK`: "+strings.Join(diagnose.ClientNames, ", ")+" (default: the stack identified from each ClientHello)")
	fs.StringArrayVar(&cfg.keylogs, "keylog", nil, "decrypt TLS 1.3 handshakes and TLS 1.2 alerts with the client's key log `FILE` (NSS format, SSLKEYLOGFILE); repeatable. Secrets blocks of pcapng files are used too")
	fs.StringVar(&cfg.exportDir, "export-certs", "", "write every distinct chain seen as PEM files into `DIR`")
	fs.BoolVar(&cfg.force, "force", false, "overwrite existing files")
	fs.BoolVarP(&cfg.verbose, "verbose", "v", false, "show successful connections in full too")
	fs.BoolVar(&cfg.brief, "brief", false, "one line per connection")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "write the summary only")
	fs.StringVarP(&cfg.selectExpr, "select", "Y", "", "report only the connections that `EXPR` selects, as tshark's -Y selects packets, e.g. 'failed && sni == \"backend.example.test\"' (names: verdict, cause, failed, sni, server, server_ip, server_port, client, version, stack, app, ja4, findings, file...)")
	fs.StringVar(&cfg.jsonFile, "json-file", "", "also write the JSON report, with its summary, to `FILE` (the text report still goes to standard output); SIGHUP reopens it, for logrotate")
	fs.StringVar(&cfg.metricsAddr, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics (such as :9464 or 127.0.0.1:9464) while capturing or reading: handshakes by verdict, cause, server, SNI and client stack, durations, certificate expiry, drops (docs/metrics.md)")
	fs.StringVar(&cfg.metricsFile, "metrics-file", "", "write the metrics to `FILE` in Prometheus's text format at the end (and every 15 s with -i), for node_exporter's textfile collector")
	fs.BoolVar(&cfg.all, "all", false, "report TCP connections that carried no TLS too (as not_tls)")
	fs.StringVar(&cfg.color, "color", "auto", "colour the text report: auto, always, never (NO_COLOR disables auto)")
	fs.StringVar(&cfg.progress, "progress", "auto", "show a progress line on stderr while reading files: auto (when stderr is a terminal), always, never")
	fs.IntVarP(&cfg.jobs, "jobs", "j", runtime.NumCPU(), "analyse the flows of files on `N` workers (the report is the same as with -j 1)")
	addLiveFlags(fs, &cfg.live)
	help := fs.BoolP("help", "h", false, "show this help")
	version := fs.Bool("version", false, "print the version, the revision built from, the Go version and whether libpcap is linked")
	fs.BoolP("numeric", "n", false, "accepted for tcpdump's habit: names are never resolved")
	if err := fs.Parse(args); err != nil {
		errorf(stderr, "%v", err)
		hint(stderr, "see tlstriage --help")
		return exitUsage
	}
	if *help {
		usage(fs, stdout)
		return exitOK
	}
	if *version {
		writeVersion(stdout)
		return exitOK
	}
	if len(cfg.files) == 0 && cfg.live.iface == "" && fs.NArg() == 1 && looksLikeCapture(fs.Arg(0)) {
		errorf(stderr, "%s is not a filter expression", fs.Arg(0))
		hint(stderr, "did you mean -r "+fs.Arg(0)+"?")
		return exitUsage
	}
	cfg.filter = strings.Join(fs.Args(), " ")
	files, skipped, inputErr := expandInputs(cfg.files)
	if inputErr != nil {
		errorf(stderr, "%v", inputErr)
		return exitUsage
	}
	if len(skipped) > 0 {
		warnf(stderr, "skipped %s that %s no capture: %s", report.Count(len(skipped), "file"), map[bool]string{true: "is", false: "are"}[len(skipped) == 1], strings.Join(skipped, ", "))
	}
	cfg.files = files
	if code, done := checkLiveFlags(fs, &cfg, stdout, stderr); done {
		return code
	}
	if len(cfg.files) == 0 && cfg.live.iface == "" {
		errorf(stderr, "no capture given")
		hint(stderr, "read a file with -r FILE (or -r - for standard input), or capture live with -i IFACE")
		return exitUsage
	}
	if cfg.summary && !cfg.json {
		// The text report always ends with a summary.
		cfg.summary = false
	}
	switch cfg.color {
	case "auto", "always", "never":
	default:
		errorf(stderr, "--color takes auto, always or never, not %q", cfg.color)
		return exitUsage
	}
	if !clientFlag(cfg.client, stderr) {
		return exitUsage
	}
	if cfg.selectExpr != "" {
		sel, err := selection.Compile(cfg.selectExpr)
		if err != nil {
			errorf(stderr, "-Y: %v", err)
			hint(stderr, "see tlstriage --help for the names an expression can use")
			return exitUsage
		}
		cfg.sel = sel
	}
	switch cfg.progress {
	case "auto", "always", "never":
	default:
		errorf(stderr, "--progress takes auto, always or never, not %q", cfg.progress)
		return exitUsage
	}
	var trust *truststore.Store
	if len(cfg.truststores) > 0 {
		var err error
		trust, err = truststore.Load(cfg.truststores, cfg.password)
		if err != nil {
			errorf(stderr, "%v", err)
			if errors.Is(err, truststore.ErrWrongPassword) {
				hint(stderr, "give the truststore's password with --truststore-password")
			}
			return exitUsage
		}
		for _, w := range trust.Warnings() {
			warnf(stderr, "%s", w)
		}
	} else {
		trust = truststore.Mozilla()
	}
	if cfg.live.iface != "" && len(cfg.keylogs) > 0 {
		errorf(stderr, "--keylog works on capture files only")
		hint(stderr, "capture with -w FILE (or tcpdump), then run tlstriage -r FILE --keylog KEYLOG")
		return exitUsage
	}
	cfg.keys = new(tlsdecrypt.KeyLog)
	if err := loadKeyLogs(cfg.keys, cfg.keylogs, stderr); err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	if cfg.live.iface != "" {
		return runLive(ctx, &cfg, trust, stdout, stderr)
	}
	if cfg.live.writeAll && cfg.live.write == "" {
		errorf(stderr, "--write-all needs -w FILE")
		return exitUsage
	}
	if err := checkFileWrite(&cfg); err != nil {
		errorf(stderr, "%v", err)
		if !strings.Contains(err.Error(), "standard input") {
			hint(stderr, "use --force to overwrite it")
		}
		return exitUsage
	}
	var match *filter.Set
	if cfg.filter != "" {
		expr, err := filter.Parse(cfg.filter)
		if err == nil {
			match, err = filter.NewSet(expr)
		}
		if err != nil {
			errorf(stderr, "%v", err)
			return exitUsage
		}
	}
	return analyzeFiles(ctx, &cfg, trust, match, stdin, stdout, stderr)
}

func errorf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "tlstriage: error: "+format+"\n", args...)
}

func hint(w io.Writer, s string) {
	fmt.Fprintf(w, "tlstriage: hint: %s\n", s)
}

func warnf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "tlstriage: warning: "+format+"\n", args...)
}

func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

func analyzeFiles(ctx context.Context, cfg *config, trust *truststore.Store, filter *filter.Set, stdin io.Reader, stdout, stderr io.Writer) int {
	if cfg.jobs <= 1 {
		// The one goroutine that reads and analyses keeps its thread:
		// the scheduler preempts a goroutine that has run for 10 ms, and
		// one that is not locked often resumes on the other core, with
		// cold caches (0 to 5% of the time on a bulk capture, within this
		// machine's noise; no loss measured). With -j the reader waits on
		// the workers, and a locked goroutine's waits cost more than that.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	bar, stdout, stderr := startProgress(cfg.progress, len(cfg.files), stdout, stderr)
	defer bar.stop()
	// Reading files, nobody waits for each line: the report is buffered.
	out := bufio.NewWriterSize(stdout, 64<<10)
	sess, err := newSession(cfg, trust, out, stdout)
	if err == nil {
		err = sess.startService(ctx, false, stderr)
	}
	if err != nil {
		errorf(stderr, "%v", err)
		return exitUsage
	}
	defer sess.svc.stop(stderr)
	// -c N: stop reading once N connections are reported.
	ctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	deliver := func(c *dissect.Conn, j *judged) {
		if sess.deliver(c, j) {
			bar.count(j.r.Failed)
			if sess.full() {
				stopReading()
			}
		}
	}
	var dopts dissect.Options
	if filter != nil {
		dopts.Filter = filter.Match
	}
	if cfg.keys == nil {
		cfg.keys = new(tlsdecrypt.KeyLog)
	}
	dopts.Keys = cfg.keys
	// deliver (the report, the exporter) keeps nothing of a connection's
	// events once it returns: their arrays serve the connections after.
	dopts.ReuseEvents = true
	var an analyzer
	var sync func() // before secrets found in a file are used
	if cfg.jobs > 1 {
		// Flows analysed, diagnosed and encoded on cfg.jobs workers; the
		// report is the same as with one.
		preps := make([]report.Preparer, cfg.jobs)
		if sess.ahead() {
			for i := range preps {
				preps[i] = sess.w.Preparer()
			}
		}
		sh := dissect.NewSharded(dopts, cfg.jobs,
			func(shard int, c *dissect.Conn) any { return sess.judge(c, preps[shard]) },
			func(c *dissect.Conn, v any) { deliver(c, v.(*judged)) })
		defer sh.Close()
		an, sync = sh, sh.Sync
	} else {
		an = dissect.NewAnalyzer(dopts, func(c *dissect.Conn) { deliver(c, sess.judge(c, nil)) })
	}
	in := &fileInputs{cfg: cfg, an: an, bar: bar, sync: sync, stdin: stdin, stderr: stderr}
	// stopped says why reading stopped before the end: -c N had its Nth
	// connection, or Ctrl-C or SIGTERM came (then, as live capture stops
	// on them, the report covers what was read and the verdicts decide
	// the exit status).
	stopped := func() {
		if !sess.full() {
			in.warn("interrupted: the report covers what was read")
		}
	}
	files := firstFrames(cfg.files, stdin) // looked at once: -w reads the files again in the same order
	if len(files) == 1 {
		// One file: read without the merge's work per frame (about 5%
		// of the analysis on a capture of short connections).
		if r := in.openFile(0, true); r != nil {
			err := an.Run(ctx, r.seen)
			if err != nil && ctx.Err() != nil {
				stopped()
				err = nil
			}
			in.ended(0, an.Frame(), err)
		}
		an.Flush()
	}
	m := capture.NewMerge(files, maxRotationGap, dissect.MaxContinued, capture.MergeHooks{Open: in.open, Ended: in.ended})
	for len(files) > 1 && m.More() {
		// One capture: files read together while they overlap in time,
		// one after the other while each follows the one before.
		if err := an.Run(ctx, m); err != nil {
			m.Close()
			stopped()
			break
		}
		an.Flush()
	}
	warnings, unreadable, damaged, opened := in.warnings, in.unreadable, in.damaged, in.opened
	bar.stop()
	an.Flush()
	st := an.Stats()
	if opened == 0 && unreadable {
		// Nothing could be read: the errors said so on stderr, and a
		// report of nothing would only hide them.
		sess.closeFile()
		return exitUsage
	}
	sess.svc.capture(st, capture.Stats{})
	sess.close(&st, warnings)
	sess.keep(out.Flush())
	sess.exportNotes(stderr)
	if cfg.live.write != "" && opened > 0 {
		sess.keep(writeMarkedPackets(cfg, files, sess.marks, dopts, stderr))
	}
	if cfg.json {
		fmt.Fprintf(stderr, "tlstriage: read %s, %s, %s%s\n", report.Count(st.Packets, "packet"), report.Count(st.TCPConns, "TCP connection"), report.Count(st.TLSConns, "TLS connection"), notDecoded(&st))
	}
	return sess.exit(stderr, unreadable, damaged)
}

// newWriter is the report writer the flags ask for, writing to out;
// colour is judged on term, where out's bytes end up.
// selects reports whether -Y selects the connection c judged as r (every
// connection without -Y).
func (cfg *config) selects(c *dissect.Conn, r *diagnose.Result) bool {
	return cfg.sel == nil || cfg.sel.Match(report.NewRecord(c, r))
}

// writers is the report writer: the one of newWriter, and with
// --json-file a JSON writer to that file (log, reopened on SIGHUP)
// beside it.
func (cfg *config) writers(out, term io.Writer) (w report.Writer, log *rotate.Log, err error) {
	w = newWriter(cfg, out, term)
	if cfg.jsonFile == "" {
		return w, nil, nil
	}
	// Reading files, records are buffered; live, each is written at
	// once, for the readers that follow the file.
	buf := 64 << 10
	if cfg.live.iface != "" {
		buf = 0
	}
	log, err = rotate.OpenLog(cfg.jsonFile, cfg.force, buf)
	if err != nil {
		return nil, nil, fmt.Errorf("--json-file: %w", err)
	}
	j := report.NewJSON(log, true)
	return report.Tee(w, j, log.Flush), log, nil
}

func newWriter(cfg *config, out, term io.Writer) report.Writer {
	if cfg.json {
		return report.NewJSON(out, cfg.summary)
	}
	o := report.TextOptions{Color: useColor(cfg.color, term), Verbose: cfg.verbose, Brief: cfg.brief, Quiet: cfg.quiet}
	if f, ok := term.(*os.File); ok {
		o.Width = termWidth(f) // long verdict, cause and fix lines fit a terminal
	}
	return report.NewText(out, o)
}

// analyzer is what analyzeFiles drives: a dissect.Analyzer, or a
// dissect.Sharded for -j.
type analyzer interface {
	SetFile(name string)
	AddFile(name string) bool
	Run(ctx context.Context, src dissect.PacketSource) error
	Flush()
	Frame() int
	Stats() dissect.Stats
}

func notDecoded(st *dissect.Stats) string {
	var n int64
	for _, v := range st.NotDecoded {
		n += v
	}
	if n == 0 {
		return ""
	}
	return ", " + report.Count(n, "packet") + " not analysed"
}
