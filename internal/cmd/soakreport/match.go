package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// matchWindow is how far apart the generator's start of a connection and
// tlstriage's first packet of it may be.
const matchWindow = 3 * time.Second

// writeMatch finds, for each connection the generator logged as not
// completed, tlstriage's record of it (same client and server, the
// nearest start), and tells what tlstriage judged: every failure meant
// must be one failed record, and every failed record must be a
// connection the generator saw fail.
func writeMatch(b *strings.Builder, c *checks, in *inputs) (ok bool) {
	if in.events == nil {
		return false
	}
	fmt.Fprintln(b, "## Each failure, one by one (generator.log against the NDJSON)")
	fmt.Fprintln(b)

	type ref struct {
		rec   *record
		start time.Time
	}
	byTuple := map[string][]ref{}
	for pi := range in.pieces {
		for ri := range in.pieces[pi].records {
			r := &in.pieces[pi].records[ri]
			t, _ := time.Parse(time.RFC3339Nano, r.Start)
			k := r.Client + " " + r.Server
			byTuple[k] = append(byTuple[k], ref{r, t})
		}
	}
	matched := map[*record]int{} // record -> events matched to it
	type row struct{ kind, version, stage, errClass, verdict string }
	rows := map[row]int{}
	unmatched, dial := 0, 0
	var unmatchedEx []string
	missedMeant, missedEx := 0, []string(nil) // failures meant that tlstriage did not judge failed
	for _, e := range in.events {
		if e.Client == "" {
			dial++
			rows[row{e.Kind, e.Version, e.Stage, errClass(e.Error), "(no connection)"}]++
			continue
		}
		var best *record
		bestD := matchWindow + 1
		for _, r := range byTuple[e.Client+" "+e.Server] {
			d := r.start.Sub(e.Start)
			if d < 0 {
				d = -d
			}
			if d < bestD {
				best, bestD = r.rec, d
			}
		}
		if best == nil || bestD > matchWindow {
			unmatched++
			if len(unmatchedEx) < 5 {
				unmatchedEx = append(unmatchedEx, fmt.Sprintf("%s %s %s -> %s: %s", e.Start.Format(time.RFC3339Nano), e.Kind, e.Client, e.Server, e.Error))
			}
			rows[row{e.Kind, e.Version, e.Stage, errClass(e.Error), "(no record)"}]++
			continue
		}
		matched[best]++
		v := best.Verdict
		if best.Cause != "" {
			v += " / " + best.Cause
		}
		rows[row{e.Kind, e.Version, e.Stage, errClass(e.Error), v}]++
		if e.Kind != "ok" && !best.Failed {
			missedMeant++
			if len(missedEx) < 5 {
				missedEx = append(missedEx, fmt.Sprintf("#%d %s -> %s (%s): %s; generator: %s", best.ID, best.Client, best.Server, e.Kind, best.Verdict, e.Error))
			}
		}
	}
	twice := 0
	for _, n := range matched {
		if n > 1 {
			twice++
		}
	}
	// Failed records the generator has no event for: the client completed
	// the connection, tlstriage judged it failed.
	falseFailed, falseEx := 0, []string(nil)
	failedRecs := 0
	for _, p := range in.pieces {
		for i := range p.records {
			r := &p.records[i]
			if !r.Failed {
				continue
			}
			failedRecs++
			if matched[r] == 0 {
				falseFailed++
				if len(falseEx) < 5 {
					falseEx = append(falseEx, fmt.Sprintf("#%d %s -> %s %s: %s / %s", r.ID, r.Client, r.Server, r.Start, r.Verdict, r.Cause))
				}
			}
		}
	}

	keys := make([]row, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.version != b.version {
			return a.version < b.version
		}
		if rows[a] != rows[b] {
			return rows[a] > rows[b]
		}
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
	fmt.Fprintf(b, "%d connections the generator logged as not completed (%d without a TCP connection); each matched to the NDJSON record of the same client and server starting within %s of it:\n\n",
		len(in.events), dial, matchWindow)
	fmt.Fprintln(b, "| kind | version | stage the client reached | client's error | tlstriage's verdict / cause | connections |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, k := range keys {
		fmt.Fprintf(b, "| %s | %s | %s | `%s` | %s | %d |\n", k.kind, k.version, k.stage, k.errClass, k.verdict, rows[k])
	}
	fmt.Fprintln(b)
	for _, l := range []struct {
		what string
		list []string
	}{
		{"no NDJSON record", unmatchedEx},
		{"meant to fail, judged not failed", missedEx},
		{"judged failed, completed for the generator", falseEx},
	} {
		for _, e := range l.list {
			fmt.Fprintf(b, "- %s: `%s`\n", l.what, e)
		}
	}
	if len(unmatchedEx)+len(missedEx)+len(falseEx) > 0 {
		fmt.Fprintln(b)
	}
	ok = unmatched == 0 && twice == 0 && missedMeant == 0 && falseFailed == 0
	c.add("each generator failure: one NDJSON record", unmatched == 0 && twice == 0,
		fmt.Sprintf("%d of %d logged connections (%d without TCP) have no record, %d records match two", unmatched, len(in.events)-dial, dial, twice))
	c.add("failures meant: judged failed", missedMeant == 0,
		fmt.Sprintf("%d connections to the failing servers judged not failed", missedMeant))
	c.add("failed records: failed for the generator", falseFailed == 0,
		fmt.Sprintf("%d of %d failed records are connections the generator completed", falseFailed, failedRecs))
	return ok
}

var (
	addrRE = regexp.MustCompile(`\b[0-9]+(\.[0-9]+){3}:[0-9]+|\[[0-9a-f:]+\]:[0-9]+`)
)

// errClass shortens an error for the table: addresses replaced.
func errClass(s string) string {
	return addrRE.ReplaceAllString(s, "ADDR")
}
