package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// checks collects the pass/fail lines of the summary table.
type checks struct {
	rows []string
	ok   bool
}

func (c *checks) add(name string, pass bool, detail string) {
	res := "pass"
	if !pass {
		res = "**FAIL**"
		c.ok = false
	}
	c.rows = append(c.rows, fmt.Sprintf("| %s | %s | %s |", name, res, detail))
}

func (c *checks) note(name, detail string) {
	c.rows = append(c.rows, fmt.Sprintf("| %s | note | %s |", name, detail))
}

// write writes the markdown report and reports whether every check passed.
func write(w io.Writer, in *inputs, warmup time.Duration) bool {
	c := &checks{ok: true}
	var body strings.Builder

	writeMemory(&body, c, in.rss, warmup)
	writeDrops(&body, c, in)
	var match strings.Builder
	mc := &checks{ok: true}
	matchedAll := writeMatch(&match, mc, in)
	writeHandshakes(&body, c, in, matchedAll)
	c.rows = append(c.rows, mc.rows...)
	c.ok = c.ok && mc.ok
	body.WriteString(match.String())
	writePieces(&body, c, in.pieces)
	writeRing(&body, c, in)
	if in.summary != "" {
		fmt.Fprintln(&body, "## tlstriage's summary (standard output, at SIGINT)")
		fmt.Fprintln(&body)
		fmt.Fprintln(&body, "```")
		fmt.Fprint(&body, strings.TrimRight(in.summary, "\n")+"\n")
		fmt.Fprintln(&body, "```")
		fmt.Fprintln(&body)
	}

	fmt.Fprintln(w, "# Soak run")
	fmt.Fprintln(w)
	if len(in.env) > 0 {
		fmt.Fprintln(w, "| setting | value |")
		fmt.Fprintln(w, "|---|---|")
		for _, e := range in.env {
			fmt.Fprintf(w, "| %s | %s |\n", e.key, mdEscape(e.value))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "## Checks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| check | result | detail |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range c.rows {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintln(w)
	io.WriteString(w, body.String())
	return c.ok
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// fit returns the least-squares slope of y over x and the number of points.
func fit(xs, ys []float64) (slope float64, n int) {
	n = len(xs)
	if n < 2 {
		return math.NaN(), n
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return math.NaN(), n
	}
	return sxy / sxx, n
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// column returns the samples' times in minutes and one column, leaving
// out samples before from (seconds) and those where the column is absent.
func column(rss []sample, from float64, get func(sample) float64) (xs, ys []float64) {
	for _, s := range rss {
		if s.t < from || get(s) < 0 {
			continue
		}
		xs = append(xs, s.t/60)
		ys = append(ys, get(s))
	}
	return xs, ys
}

// flatShare is the growth over the post-warm-up window, as a share of the
// median RSS, under which memory counts as flat.
const flatShare = 0.05

func writeMemory(b *strings.Builder, c *checks, rss []sample, warmup time.Duration) {
	fmt.Fprintln(b, "## Memory (VmRSS every 10 s)")
	fmt.Fprintln(b)
	if len(rss) < 2 {
		fmt.Fprintf(b, "%d samples: too few to fit.\n\n", len(rss))
		c.add("RSS flat", false, fmt.Sprintf("%d samples", len(rss)))
		return
	}
	rssKiB := func(s sample) float64 { return s.rssKiB }
	xa, ya := column(rss, 0, rssKiB)
	xw, yw := column(rss, warmup.Seconds(), rssKiB)
	slopeAll, nAll := fit(xa, ya)
	slopeW, nW := fit(xw, yw)
	lo, hi := minMax(ya)
	loW, hiW := minMax(yw)
	medW := median(yw)
	span := 0.0
	if nW > 1 {
		span = xw[len(xw)-1] - xw[0]
	}
	growth := slopeW * span
	fmt.Fprintln(b, "| samples | window | first | min | max | last | median | least-squares slope |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(b, "| %d | whole run (%.1f min) | %s | %s | %s | %s | %s | %+.1f KiB/min |\n", nAll, xa[len(xa)-1]-xa[0],
		mib(ya[0]), mib(lo), mib(hi), mib(ya[len(ya)-1]), mib(median(ya)), slopeAll)
	if nW > 1 {
		fmt.Fprintf(b, "| %d | after %s of warm-up (%.1f min) | %s | %s | %s | %s | %s | %+.1f KiB/min |\n", nW, warmup, span,
			mib(yw[0]), mib(loW), mib(hiW), mib(yw[len(yw)-1]), mib(medW), slopeW)
	}
	half := rss[len(rss)-1].t / 2
	if xh, yh := column(rss, half, rssKiB); len(yh) > 1 {
		slopeH, nH := fit(xh, yh)
		loH, hiH := minMax(yh)
		fmt.Fprintf(b, "| %d | second half (%.1f min) | %s | %s | %s | %s | %s | %+.1f KiB/min |\n", nH, xh[len(xh)-1]-xh[0],
			mib(yh[0]), mib(loH), mib(hiH), mib(yh[len(yh)-1]), mib(median(yh)), slopeH)
	}
	fmt.Fprintln(b)
	for _, col := range []struct {
		name string
		get  func(sample) float64
		unit float64
		fmt  string
	}{
		{"Go heap in use (go_memstats_heap_inuse_bytes, KiB)", func(s sample) float64 { return s.heap }, 1024, "KiB/min"},
		{"goroutines (go_goroutines)", func(s sample) float64 { return s.goroutines }, 1, "/min"},
	} {
		x, y := column(rss, warmup.Seconds(), col.get)
		if len(y) < 2 {
			continue
		}
		for i := range y {
			y[i] /= col.unit
		}
		s, _ := fit(x, y)
		l, h := minMax(y)
		fmt.Fprintf(b, "- %s after warm-up: %.0f to %.0f, slope %+.2f %s\n", col.name, l, h, s, col.fmt)
	}
	if x, y := column(rss, 0, func(s sample) float64 { return s.handshakes }); len(y) > 1 {
		s, _ := fit(x, y)
		fmt.Fprintf(b, "- handshakes judged (tlstriage_handshakes_total, all series): %.0f per second on average over the samples\n", s/60)
	}
	fmt.Fprintln(b)
	if nW < 2 {
		c.add("RSS flat", false, "no samples after the warm-up")
		return
	}
	c.add("RSS flat", math.Abs(growth) < flatShare*medW,
		fmt.Sprintf("slope after %s warm-up %+.1f KiB/min (%+.1f KiB over %.1f min, %.2f%% of the median %s; flat below %.0f%%); whole run %+.1f KiB/min; %s to %s",
			warmup, slopeW, growth, span, 100*growth/medW, mib(medW), 100*flatShare, slopeAll, mib(lo), mib(hi)))
}

func mib(kib float64) string { return fmt.Sprintf("%.1f MiB", kib/1024) }

// metricSum sums the series of name whose labels pass keep (nil: all).
func metricSum(ms []series, name string, keep func(map[string]string) bool) (float64, bool) {
	sum, found := 0.0, false
	for _, s := range ms {
		if s.name == name && (keep == nil || keep(s.labels)) {
			sum += s.value
			found = true
		}
	}
	return sum, found
}

func count(v int64) string {
	if v < 0 {
		return "—"
	}
	return fmt.Sprint(v)
}

func writeDrops(b *strings.Builder, c *checks, in *inputs) {
	fmt.Fprintln(b, "## Capture and kernel drops")
	fmt.Fprintln(b)
	t, d := in.tlstriage, in.tcpdump
	mDrops, mOK := metricSum(in.metrics, "tlstriage_kernel_drops_total", nil)
	mIface, _ := metricSum(in.metrics, "tlstriage_interface_drops_total", nil)
	mPackets, _ := metricSum(in.metrics, "tlstriage_packets_total", nil)
	fmt.Fprintln(b, "| tool | captured | received by the filter | dropped by the kernel | dropped by the interface |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	fmt.Fprintf(b, "| tlstriage (summary on exit) | %s | %s | %s | %s |\n", count(t.captured), count(t.received), count(t.kernelDrops), count(t.ifaceDrops))
	if mOK {
		fmt.Fprintf(b, "| tlstriage (metrics, last scrape before the stop) | %.0f | | %.0f | %.0f |\n", mPackets, mDrops, mIface)
	}
	fmt.Fprintf(b, "| tcpdump -w /dev/null | %s | %s | %s | %s |\n", count(d.captured), count(d.received), count(d.kernelDrops), count(d.ifaceDrops))
	fmt.Fprintln(b)
	fmt.Fprintln(b, "On lo, tcpdump (libpcap) is offered each packet twice, as it leaves and as it comes back, and keeps one;")
	fmt.Fprintln(b, "its kernel counts (received, dropped) count both copies. tlstriage asks the kernel to leave the outgoing")
	fmt.Fprintln(b, "copy out (PACKET_IGNORE_OUTGOING), so its counts are of one copy per packet (see docs/live-drops.md).")
	fmt.Fprintln(b)
	if t.kernelDrops < 0 || d.kernelDrops < 0 {
		c.add("kernel drops ≤ tcpdump's", false, fmt.Sprintf("counts missing (tlstriage %s, tcpdump %s)", count(t.kernelDrops), count(d.kernelDrops)))
		return
	}
	detail := fmt.Sprintf("tlstriage %d (metric %s), tcpdump %d", t.kernelDrops, fmtMetric(mDrops, mOK), d.kernelDrops)
	for _, e := range in.env {
		if e.key == "tcpdump exited early" {
			c.note("kernel drops ≤ tcpdump's", detail+"; not comparable: tcpdump exited "+e.value)
			return
		}
	}
	c.add("kernel drops ≤ tcpdump's", t.kernelDrops <= d.kernelDrops, detail)
	if mOK && t.captured >= 0 && mPackets > float64(t.captured) {
		c.add("packets: metric ≤ summary", false, fmt.Sprintf("metric %.0f > summary %d", mPackets, t.captured))
	}
}

func fmtMetric(v float64, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprintf("%.0f", v)
}

// failedVerdict is diagnose.Failed: every verdict but ok and incomplete.
func failedVerdict(v string) bool { return v != "ok" && v != "incomplete" && v != "" }

// writeHandshakes compares the counts; explained tells that every
// connection the generator saw fail was matched to tlstriage's record of
// it, so that a difference between the generator's failures and
// tlstriage's is accounted for connection by connection.
func writeHandshakes(b *strings.Builder, c *checks, in *inputs, explained bool) {
	fmt.Fprintln(b, "## Handshakes and failures")
	fmt.Fprintln(b)
	g := in.gen
	fmt.Fprintf(b, "Generator: %d connections started over %.1f s (%.1f/s; asked %g/s for %s), %d completed, %d failed, %d dial errors, %d closes that went wrong after the data, %d unexpected outcomes.\n\n",
		g.Started, g.ElapsedS, g.AchievedRate, g.Rate, g.Duration, g.Total.OK, g.Total.Failed, g.Total.DialErrors, g.Total.AfterData, g.Unexpected)

	var recs []record
	for _, p := range in.pieces {
		recs = append(recs, p.records...)
	}
	ndFailed, ndTotal := 0, len(recs)
	byServer := map[string][2]int{} // server -> records, failed
	byVC := map[string][2]float64{} // verdict/cause -> metrics, ndjson
	for _, r := range recs {
		x := byServer[r.Server]
		x[0]++
		if r.Failed {
			ndFailed++
			x[1]++
		}
		byServer[r.Server] = x
		if r.Failed != failedVerdict(r.Verdict) {
			c.add("NDJSON failed matches verdict", false, fmt.Sprintf("record id %d: verdict %s, failed %v", r.ID, r.Verdict, r.Failed))
		}
		k := r.Verdict + " / " + orNone(r.Cause)
		y := byVC[k]
		y[1]++
		byVC[k] = y
	}
	mTotal, _ := metricSum(in.metrics, "tlstriage_handshakes_total", nil)
	mFailed, _ := metricSum(in.metrics, "tlstriage_handshakes_total", func(l map[string]string) bool { return failedVerdict(l["verdict"]) })
	for _, s := range in.metrics {
		if s.name == "tlstriage_handshakes_total" {
			k := s.labels["verdict"] + " / " + orNone(s.labels["cause"])
			y := byVC[k]
			y[0] += s.value
			byVC[k] = y
		}
	}
	summaryFailed, summaryConns := -1.0, -1.0
	for _, p := range in.pieces {
		for _, s := range p.summaries {
			if v, ok := s["failed"].(float64); ok {
				summaryFailed = v
			}
			if v, ok := s["connections"].(float64); ok {
				summaryConns = v
			}
		}
	}

	fmt.Fprintln(b, "| kind | server | generator: connections | generator: failed | NDJSON: records | NDJSON: failed | metrics: handshakes | metrics: failed |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|---|---|")
	kindNames := make([]string, 0, len(g.Kinds))
	for k := range g.Kinds {
		kindNames = append(kindNames, k)
	}
	sort.Slice(kindNames, func(i, j int) bool { return g.Servers[kindNames[i]] < g.Servers[kindNames[j]] })
	perServerOK := true // the failing servers: every connection failed, once
	for _, k := range kindNames {
		srv := g.Servers[k]
		gc := g.Kinds[k]
		mt, _ := metricSum(in.metrics, "tlstriage_handshakes_total", func(l map[string]string) bool { return l["server"] == srv })
		mf, _ := metricSum(in.metrics, "tlstriage_handshakes_total", func(l map[string]string) bool { return l["server"] == srv && failedVerdict(l["verdict"]) })
		nd := byServer[srv]
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d | %.0f | %.0f |\n", k, srv, gc.Attempted-gc.DialErrors, gc.Failed, nd[0], nd[1], mt, mf)
		if k != "ok" && (gc.Attempted-gc.DialErrors != nd[1] || gc.Failed != nd[1] || float64(nd[1]) != mf) {
			perServerOK = false
		}
	}
	genConns := g.Total.Attempted - g.Total.DialErrors
	fmt.Fprintf(b, "| **all** | | %d | %d | %d | %d | %.0f | %.0f |\n", genConns, g.Total.Failed, ndTotal, ndFailed, mTotal, mFailed)
	fmt.Fprintln(b)
	if summaryConns >= 0 {
		fmt.Fprintf(b, "The summary object of the last NDJSON piece: %.0f connections, %.0f failed.\n\n", summaryConns, summaryFailed)
	}

	fmt.Fprintln(b, "| verdict / cause | metrics | NDJSON |")
	fmt.Fprintln(b, "|---|---|---|")
	keys := make([]string, 0, len(byVC))
	for k := range byVC {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vcOK := true
	for _, k := range keys {
		v := byVC[k]
		fmt.Fprintf(b, "| %s | %.0f | %.0f |\n", k, v[0], v[1])
		if v[0] != v[1] {
			vcOK = false
		}
	}
	fmt.Fprintln(b)
	if len(g.Errors) > 0 {
		fmt.Fprintln(b, "Errors the generator's client saw (numbers replaced by N):")
		fmt.Fprintln(b)
		for _, e := range g.Errors {
			fmt.Fprintf(b, "- %d × `%s` (%s)\n", e.Count, e.Error, strings.Join(e.Kinds, ", "))
		}
		fmt.Fprintln(b)
	}

	c.add("failures: NDJSON = metrics", float64(ndFailed) == mFailed,
		fmt.Sprintf("NDJSON %d, metrics %.0f", ndFailed, mFailed))
	detail := fmt.Sprintf("generator %d, NDJSON %d, metrics %.0f", g.Total.Failed, ndFailed, mFailed)
	switch {
	case g.Total.Failed == ndFailed:
		c.add("failures: generator = tlstriage", true, detail)
	case explained:
		c.note("failures: generator = tlstriage", detail+": the difference is explained connection by connection (generator.log, below)")
	default:
		c.add("failures: generator = tlstriage", false, detail)
	}
	c.add("connections: generator = NDJSON = metrics", genConns == ndTotal && float64(ndTotal) == mTotal,
		fmt.Sprintf("generator %d, NDJSON %d, metrics %.0f", genConns, ndTotal, mTotal))
	c.add("failures meant, each counted once", perServerOK, "on each failing server: connections = generator failures = NDJSON failures = metrics failures (table below)")
	c.add("metrics = NDJSON per verdict and cause", vcOK, fmt.Sprintf("%d verdict/cause pairs", len(keys)))
	if summaryFailed >= 0 {
		c.add("summary object = NDJSON", summaryFailed == float64(ndFailed) && summaryConns == float64(ndTotal),
			fmt.Sprintf("summary %.0f connections, %.0f failed; NDJSON %d, %d", summaryConns, summaryFailed, ndTotal, ndFailed))
	}
	if g.Unexpected > 0 || g.Total.DialErrors > 0 {
		c.note("generator outcomes", fmt.Sprintf("%d unexpected outcomes, %d dial errors (see the errors)", g.Unexpected, g.Total.DialErrors))
	}
	if g.Rate > 0 {
		c.note("rate achieved", fmt.Sprintf("%.1f connections/s of %g asked, over %.1f s", g.AchievedRate, g.Rate, g.ElapsedS))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func writePieces(b *strings.Builder, c *checks, pieces []piece) {
	fmt.Fprintln(b, "## NDJSON pieces (--json-file, rotated by SIGHUP)")
	fmt.Fprintln(b)
	type key struct {
		id     int
		client string
	}
	seen := map[key]string{}
	ids := map[int]int{}
	var dups []string
	var bad []string
	lo, hi := math.MaxInt, 0
	empty := 0
	total := 0
	for _, p := range pieces {
		n := len(p.records)
		total += n
		lo, hi = min(lo, n), max(hi, n)
		if n == 0 {
			empty++
		}
		for _, r := range p.records {
			k := key{r.ID, r.Client}
			if first, ok := seen[k]; ok {
				if len(dups) < 10 {
					dups = append(dups, fmt.Sprintf("id %d client %s in %s and %s", r.ID, r.Client, first, p.name))
				}
			} else {
				seen[k] = p.name
			}
			ids[r.ID]++
		}
		for _, l := range p.bad {
			bad = append(bad, p.name+": "+l)
		}
	}
	dupCount := total - len(seen)
	idDups := 0
	maxID := 0
	for id, n := range ids {
		idDups += n - 1
		maxID = max(maxID, id)
	}
	fmt.Fprintf(b, "%d pieces, %d connection records (%d to %d per piece, %d empty pieces); ids up to %d, %d distinct.\n\n",
		len(pieces), total, lo, hi, empty, maxID, len(ids))
	if len(dups) > 0 {
		fmt.Fprintln(b, "Duplicates (first ten):")
		fmt.Fprintln(b)
		for _, d := range dups {
			fmt.Fprintf(b, "- %s\n", d)
		}
		fmt.Fprintln(b)
	}
	if len(bad) > 0 {
		fmt.Fprintln(b, "Lines that are not JSON (first ten):")
		fmt.Fprintln(b)
		for _, l := range bad[:min(len(bad), 10)] {
			fmt.Fprintf(b, "- `%s`\n", strings.TrimSpace(l))
		}
		fmt.Fprintln(b)
	}
	c.add("NDJSON: no record twice", dupCount == 0 && idDups == 0,
		fmt.Sprintf("%d records repeat an id and client, %d repeat an id, over %d pieces", dupCount, idDups, len(pieces)))
	c.add("NDJSON: every line whole", len(bad) == 0, fmt.Sprintf("%d lines not JSON", len(bad)))
}

// ringRun is consecutive packets of the ring of one connection.
type ringRun struct {
	key     string
	file    int
	packets int
}

func ringKey(p ringPacket) string {
	if p.id > 0 {
		return fmt.Sprintf("#%d", p.id)
	}
	return p.tuple
}

func writeRing(b *strings.Builder, c *checks, in *inputs) {
	fmt.Fprintln(b, "## The -w ring (packets of failed connections)")
	fmt.Fprintln(b)
	if len(in.ring) == 0 {
		fmt.Fprintln(b, "No ring files.")
		fmt.Fprintln(b)
		c.add("ring: present", false, "no failed.pcapngN files")
		return
	}
	var runs []ringRun
	noComment, notFailed, readErrs := 0, 0, 0
	var notFailedEx []string
	fmt.Fprintln(b, "| file (oldest first) | packets | connections | first connection | last connection |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	for i, f := range in.ring {
		conns := map[string]bool{}
		first, last := "", ""
		for _, p := range f.packets {
			k := ringKey(p)
			conns[k] = true
			if first == "" {
				first = k
			}
			last = k
			if n := len(runs); n > 0 && runs[n-1].key == k && runs[n-1].file == i {
				runs[n-1].packets++
			} else {
				runs = append(runs, ringRun{key: k, file: i, packets: 1})
			}
			if p.comments == 0 {
				noComment++
			} else if !failedVerdict(p.verdict) {
				notFailed++
				if len(notFailedEx) < 5 {
					notFailedEx = append(notFailedEx, p.comment)
				}
			}
		}
		errNote := ""
		if f.err != nil {
			readErrs++
			errNote = " (read error: " + f.err.Error() + ")"
		}
		fmt.Fprintf(b, "| %s%s | %d | %d | %s | %s |\n", f.name, errNote, len(f.packets), len(conns), first, last)
	}
	fmt.Fprintln(b)

	// A connection's packets are written together once its verdict is
	// known: one run, or two when a rotation cut it (the last run of one
	// file and the first of the next).
	runsOf := map[string][]int{}
	for i, r := range runs {
		runsOf[r.key] = append(runsOf[r.key], i)
	}
	straddle, repeated := 0, 0
	var repeatedEx []string
	for k, idx := range runsOf {
		switch {
		case len(idx) == 1:
		case len(idx) == 2 && idx[1] == idx[0]+1 && runs[idx[1]].file == runs[idx[0]].file+1:
			straddle++
		default:
			repeated++
			if len(repeatedEx) < 5 {
				repeatedEx = append(repeatedEx, fmt.Sprintf("%s in %d runs", k, len(idx)))
			}
		}
	}
	var order []string // distinct connections in ring order
	for _, r := range runs {
		if len(order) == 0 || order[len(order)-1] != r.key {
			order = append(order, r.key)
		}
	}

	// The NDJSON's failed records, in the order they were written.
	var failedRecs []record
	for _, p := range in.pieces {
		for _, r := range p.records {
			if r.Failed {
				failedRecs = append(failedRecs, r)
			}
		}
	}
	pos := map[string]int{}
	for i, r := range failedRecs {
		pos[fmt.Sprintf("#%d", r.ID)] = i
		if _, dup := pos[sortedTuple(r.Client, r.Server)]; !dup {
			pos[sortedTuple(r.Client, r.Server)] = i
		}
	}
	inRing := map[int]bool{}
	notInNDJSON := 0
	var notInEx []string
	lo, hi := math.MaxInt, -1
	inOrder := true
	prev := -1
	for _, k := range order {
		i, ok := pos[k]
		if !ok {
			notInNDJSON++
			if len(notInEx) < 5 {
				notInEx = append(notInEx, k)
			}
			continue
		}
		if i <= prev {
			inOrder = false
		}
		prev = i
		inRing[i] = true
		lo, hi = min(lo, i), max(hi, i)
	}
	missing, after := 0, 0
	var missingEx []string
	if hi >= 0 {
		for i := lo; i <= hi; i++ {
			if !inRing[i] {
				missing++
				if len(missingEx) < 5 {
					missingEx = append(missingEx, fmt.Sprintf("#%d %s -> %s %s", failedRecs[i].ID, failedRecs[i].Client, failedRecs[i].Server, failedRecs[i].Verdict))
				}
			}
		}
		after = len(failedRecs) - 1 - hi
	}
	window := 0
	if hi >= 0 {
		window = hi - lo + 1
	}
	fmt.Fprintf(b, "%d distinct connections in %d files, %d cut by a rotation (their packets straddle two files), %d written more than once or interleaved.\n",
		len(order), len(in.ring), straddle, repeated)
	fmt.Fprintf(b, "The ring holds the failed connections of NDJSON's failed records %d to %d, of %d (the older ones were rotated out): %d of that window missing from the ring, %d failed records after the ring's last one, ring order %s the NDJSON order.\n\n",
		lo+1, hi+1, len(failedRecs), missing, after, map[bool]string{true: "follows", false: "differs from"}[inOrder])
	examples := 0
	for _, l := range []struct {
		what string
		list []string
	}{
		{"comment of a connection that did not fail", notFailedEx},
		{"written more than once", repeatedEx},
		{"in the ring, not among the NDJSON failures", notInEx},
		{"NDJSON failure missing from the ring", missingEx},
	} {
		for _, e := range l.list {
			fmt.Fprintf(b, "- %s: `%s`\n", l.what, e)
			examples++
		}
	}
	if examples > 0 {
		fmt.Fprintln(b)
	}
	c.add("ring: every packet of a failed connection", notFailed == 0 && noComment == 0,
		fmt.Sprintf("%d packets whose comment names a verdict that is not a failure, %d packets without comment", notFailed, noComment))
	c.add("ring: each connection once", repeated == 0,
		fmt.Sprintf("%d connections, %d straddle a rotation, %d written more than once", len(order), straddle, repeated))
	c.add("ring = NDJSON failures over its window", notInNDJSON == 0 && missing == 0 && after == 0 && window > 0,
		fmt.Sprintf("window of %d failed records: %d in the ring not among NDJSON failures, %d missing from the ring, %d after the ring's end", window, notInNDJSON, missing, after))
	if readErrs > 0 {
		c.add("ring: files readable", false, fmt.Sprintf("%d files stopped with an error", readErrs))
	}
}
