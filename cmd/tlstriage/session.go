package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/rotate"
	"github.com/tlstriage/tlstriage/report"
	"github.com/tlstriage/tlstriage/truststore"
)

// session takes each connection to the report, for files, live capture
// and probe alike: it judges it (diagnose, -Y), and delivers it to
// --export-certs, -w's marks, the writers and -c; then it writes the
// summary and gives the exit status.
type session struct {
	cfg   *config
	trust *truststore.Store
	opts  diagnose.Options
	w     report.Writer
	exp   *report.Exporter
	marks fileMarks   // -w when reading files: the connections written (nil live: packets are written as verdicts come)
	log   *rotate.Log // --json-file, or nil
	svc   *serviceOutputs
	// considered counts the connections judged, selected by -Y or not;
	// reported those delivered.
	considered, reported int
	failed               bool
	incomplete           int // connections reported as incomplete
	writeErr             error
}

// judged is what judge makes of a connection for deliver.
type judged struct {
	r *diagnose.Result
	x *report.Prepared // its report, made ahead on a worker (-j), or nil
	// unselected: judged, and not selected by -Y.
	unselected bool
}

// newSession opens the writers (the report on out, colour judged on term;
// --json-file) and the exporter.
func newSession(cfg *config, trust *truststore.Store, out, term io.Writer) (*session, error) {
	s := &session{cfg: cfg, trust: trust, opts: cfg.diagnoseOptions(trust), svc: &serviceOutputs{}}
	if cfg.live.iface == "" && cfg.live.write != "" {
		s.marks = fileMarks{}
	}
	w, log, err := cfg.writers(out, term)
	if err != nil {
		return nil, err
	}
	s.w, s.log = w, log
	if cfg.exportDir != "" {
		if s.exp, err = report.NewExporter(cfg.exportDir, cfg.force, cfg.truststores, cfg.password); err != nil {
			s.closeFile()
			return nil, err
		}
	}
	return s, nil
}

// startService starts the metrics (--metrics, --metrics-file) and, live
// or with --json-file, the reopening of --json-file on SIGHUP.
func (s *session) startService(ctx context.Context, live bool, stderr io.Writer) error {
	svc, err := startService(ctx, s.cfg, stderr)
	if err != nil {
		return err
	}
	s.svc = svc
	if live || s.log != nil {
		svc.stopSignal = reopenOnHangup(s.log, stderr)
	}
	return nil
}

// closeFile closes --json-file's file.
func (s *session) closeFile() {
	if s.log != nil {
		s.keep(s.log.Close())
	}
}

// ahead reports whether the records can be made on workers: not with
// --export-certs, which adds its import line to a fix first.
func (s *session) ahead() bool { return s.exp == nil }

// judge diagnoses c and applies -Y; nil when c is not reported at all
// (not TLS, without --all). prep, when set, makes the record ahead. It is
// safe on workers.
func (s *session) judge(c *dissect.Conn, prep report.Preparer) *judged {
	if !s.cfg.reports(c) {
		return nil
	}
	r := diagnose.Diagnose(c, s.opts)
	if s.svc.met != nil {
		s.svc.met.Observe(c, r) // every connection judged, -Y or not
	}
	return s.judged(c, r, prep)
}

// judged applies -Y to c judged as r.
func (s *session) judged(c *dissect.Conn, r *diagnose.Result, prep report.Preparer) *judged {
	if !s.cfg.selects(c, r) {
		return &judged{unselected: true}
	}
	j := &judged{r: r}
	if prep != nil {
		j.x = prep.Prepare(c, r)
	}
	return j
}

// full reports whether -c N connections were reported.
func (s *session) full() bool {
	return s.cfg.live.count > 0 && s.reported >= s.cfg.live.count
}

// deliver takes c, judged, to the exporter, -w's marks and the writers. It
// reports whether c was reported: judged, selected, and within -c.
func (s *session) deliver(c *dissect.Conn, j *judged) bool {
	if j == nil || s.full() {
		return false
	}
	s.considered++
	if j.unselected {
		return false
	}
	s.reported++
	s.marks.mark(s.cfg, c, j.r)
	if j.r.Failed {
		s.failed = true
	}
	if j.r.Verdict == diagnose.VerdictIncomplete {
		s.incomplete++
	}
	if s.exp != nil {
		s.keep(s.exp.Add(c, j.r))
	}
	if j.x != nil {
		s.keep(s.w.WritePrepared(c, j.x))
	} else {
		s.keep(s.w.Conn(c, j.r))
	}
	return true
}

// keep remembers the first write error.
func (s *session) keep(err error) {
	if err != nil && s.writeErr == nil {
		s.writeErr = err
	}
}

// close writes the summary of the analysis counters st (nil for a
// probe) and the warnings, and closes --json-file.
func (s *session) close(st *dissect.Stats, warnings []string) {
	sum := &report.Summary{Stats: st, TrustStore: s.trust.Name, Warnings: warnings}
	if s.cfg.sel != nil {
		sum.Selection, sum.Considered = s.cfg.sel.String(), s.considered
	}
	s.keep(s.w.Close(sum))
	s.closeFile()
}

// exportNotes prints what --export-certs wrote and the import lines.
func (s *session) exportNotes(stderr io.Writer) {
	if s.exp == nil {
		return
	}
	for _, line := range s.exp.Done() {
		fmt.Fprintf(stderr, "tlstriage: %s\n", line)
	}
}

// exit is the exit status: a write error (said on stderr) or unreadable
// input 2, damaged input 3, a failed handshake 1, connections none of
// which could be judged (all incomplete) 4, else 0.
func (s *session) exit(stderr io.Writer, unreadable, damaged bool) int {
	switch {
	case s.writeErr != nil:
		errorf(stderr, "writing the report: %v", s.writeErr)
		return exitUsage
	case unreadable:
		return exitUsage
	case damaged:
		return exitDamaged
	case s.failed:
		return exitFailed
	case s.reported > 0 && s.incomplete == s.reported:
		return exitUnjudged
	}
	return exitOK
}
