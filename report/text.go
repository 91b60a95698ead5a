package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
)

// TextOptions tune the text report.
type TextOptions struct {
	Color   bool // ANSI colours (the caller checks for a terminal and NO_COLOR)
	Verbose bool // every connection in full, ok ones included
	Brief   bool // one line per connection
	// Quiet writes the summary only.
	Quiet bool
	// Width, when set, is the terminal's width: the verdict, cause and
	// fix lines are wrapped to it, under their text.
	Width int
}

// Text renders connections for people.
type Text struct {
	w   io.Writer
	o   TextOptions
	sum *Summary
	err error
	fp  *jsonEncoder // its caches give the fingerprints of hellos seen before
	// buf is w when rendering ahead of time (textPreparer); idStart and
	// idEnd are then where the connection's ID is in it.
	buf            *bytes.Buffer
	idStart, idEnd int
	out            []byte // a record made ahead, with its ID (WritePrepared)
}

// NewText returns a text writer.
func NewText(w io.Writer, o TextOptions) *Text {
	return &Text{w: w, o: o, sum: NewSummary(), fp: newJSONEncoder()}
}

const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

func (t *Text) color(code, s string) string {
	if !t.o.Color {
		return s
	}
	return code + s + reset
}

func (t *Text) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// id prints a connection's ID, noting where its digits are when rendering
// ahead of time.
func (t *Text) id(n int) {
	if t.buf != nil {
		t.idStart = t.buf.Len()
	}
	t.printf("%d", n)
	if t.buf != nil {
		t.idEnd = t.buf.Len()
	}
}

// Conn writes one connection: a header, the timeline, the chain with the
// truststore comparison, the verdict, the cause and the fix.
func (t *Text) Conn(c *dissect.Conn, r *diagnose.Result) error {
	k := t.render(c, r)
	t.sum.add(&k)
	return t.err
}

// textPreparer makes, ahead of time and on another goroutine than the
// Text writer's (-j), the bytes Text.Conn writes.
type textPreparer struct {
	t   *Text
	buf bytes.Buffer
}

// Preparer returns a maker of this writer's reports for another goroutine.
func (t *Text) Preparer() Preparer {
	x := &textPreparer{}
	x.t = &Text{w: &x.buf, o: t.o, fp: newJSONEncoder(), buf: &x.buf}
	return x
}

// Prepare makes the text of c diagnosed as r.
func (x *textPreparer) Prepare(c *dissect.Conn, r *diagnose.Result) *Prepared {
	x.buf.Reset()
	x.t.idStart, x.t.idEnd = 0, 0
	k := x.t.render(c, r)
	return &Prepared{b: append(preparedBuf(x.buf.Len()), x.buf.Bytes()...), idStart: x.t.idStart, idEnd: x.t.idEnd, sum: k}
}

// WritePrepared writes a connection prepared ahead of time, with c.ID as
// its ID: the bytes Conn writes. x is spent.
func (t *Text) WritePrepared(c *dissect.Conn, x *Prepared) error {
	t.sum.add(&x.sum)
	if t.err == nil {
		t.err = x.writeTo(t.w, c.ID, &t.out)
	}
	return t.err
}

// render writes c's report and returns what the summary counts of it.
func (t *Text) render(c *dissect.Conn, r *diagnose.Result) counted {
	// A connection that went well gets a few lines (unless -v), a brief
	// report one: the rest of the record is not made.
	lean := t.o.Brief || !r.Failed && !t.o.Verbose && r.Verdict == diagnose.VerdictOK
	rec := newRecord(c, r, t.fp, lean)
	k := countedOf(rec)
	if t.o.Quiet || !t.o.Brief && !t.o.Verbose && r.Verdict == diagnose.VerdictOK {
		// Failures first: a connection that went well is counted by
		// server in the summary, with its warnings (-v shows it).
		return k
	}
	verdict := rec.Verdict
	switch {
	case rec.Failed:
		verdict = t.color(red+bold, verdict)
	case r.Verdict == diagnose.VerdictOK:
		verdict = t.color(green, verdict)
	default:
		verdict = t.color(yellow, verdict)
	}
	sni := "(no SNI)"
	if rec.SNI != "" {
		sni = "SNI " + Escape(rec.SNI)
	} else if c.ClientHello == nil {
		if e := c.First(dissect.Client, dissect.EvClientHello); e != nil && e.Cut {
			sni = "(SNI not captured: ClientHello cut)"
		}
	}
	version := rec.Version
	if version == "" {
		version = "no ServerHello"
	}
	if t.o.Brief {
		cause := ""
		if rec.Cause != "" {
			cause = " cause=" + rec.Cause
		}
		t.printf("%s #", rec.Start)
		t.id(rec.ID)
		t.printf(" %s -> %s %s %s verdict=%s%s\n", rec.Client, rec.Server, sni, version, verdict, cause)
		return k
	}
	// In bold: "Connection ID: client -> server  SNI  version".
	head, tail := "", ""
	if t.o.Color {
		head, tail = bold, reset
	}
	t.printf("%sConnection ", head)
	t.id(rec.ID)
	t.printf(": %s -> %s  %s  %s%s\n", rec.Client, rec.Server, sni, version, tail)
	if rec.Cipher != "" {
		t.printf("  cipher %s", rec.Cipher)
		if rec.ALPN != "" {
			t.printf(", ALPN %s", Escape(rec.ALPN))
		}
		t.printf("\n")
	}
	if c.FirstFrame == 0 {
		// Not from a capture (tlstriage probe): no frames to point at.
		t.printf("  %s, %s, lasted %s\n", Escape(rec.File), rec.Start, fmtMS(rec.DurationMS))
	} else {
		t.printf("  %s, frames %d-%d, %s, lasted %s\n", Escape(rec.File), c.FirstFrame, c.LastFrame, rec.Start, fmtMS(rec.DurationMS))
	}
	if rec.Upgrade != "" {
		t.printf("  TLS started inside a plaintext %s session (%d plaintext bytes from the client before the ClientHello)\n", rec.Upgrade, c.Sides[dissect.Client].PlainBytes)
	}
	if rec.JA4 != "" {
		t.printf("  client fingerprint ja4 %s  ja3 %s", rec.JA4, rec.JA3)
		if rec.JA3S != "" {
			t.printf("; server ja3s %s", rec.JA3S)
		}
		t.printf("\n")
	}
	if cs := rec.ClientStack; cs != nil {
		how := "judged as " + cs.Profile
		if cs.Forced {
			how += " (--client)"
		}
		t.printf("  client stack %s: %s\n", stackLabel(cs.Name, cs.Version, cs.App), how)
	}
	if !rec.Failed && !t.o.Verbose && r.Verdict == diagnose.VerdictOK {
		t.field("Verdict:", verdict, len(rec.Verdict), Escape(rec.VerdictDetail))
		t.chainShort(rec)
		t.findings(rec, diagnose.SevWarning)
		t.printf("\n")
		return k
	}
	if len(rec.Timeline) > 0 {
		t.timeline(rec)
	}
	if c.Resumed() {
		t.printf("  Chain: none sent (TLS 1.3 session resumed with a pre-shared key)\n")
	}
	t.chain(rec, r)
	t.field("Verdict:", verdict, len(rec.Verdict), Escape(rec.VerdictDetail))
	if rec.Cause != "" {
		t.field("Cause:  ", t.color(bold, rec.Cause), len(rec.Cause), Escape(rec.CauseDetail))
	}
	if rec.ClientError != "" {
		t.printf("  %s would log: %s\n", r.Profile.Who, Escape(rec.ClientError))
	}
	if rec.Fix != "" {
		t.field("Fix:    ", "", 0, Escape(rec.Fix))
	}
	t.findings(rec, diagnose.SevWarning)
	t.printf("\n")
	return k
}

func fmtMS(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	}
	return (time.Duration(v*1000) * time.Microsecond).Round(time.Millisecond).String()
}

func (t *Text) timeline(rec *Record) {
	t.printf("  Timeline (frame numbers as Wireshark shows them):\n")
	for _, e := range rec.Timeline {
		arrow := "client -> server"
		if e.From == dissect.Server.String() {
			arrow = "server -> client"
		}
		name := e.Event
		if strings.HasPrefix(name, "FIN") || strings.HasPrefix(name, "RST") || strings.HasPrefix(name, "Alert") || name == "Encrypted alert" {
			name = t.color(yellow, name)
		}
		detail := ""
		if e.Detail != "" {
			detail = "  " + Escape(e.Detail)
		}
		if e.Decrypted {
			detail += "  (decrypted)"
		}
		if e.File != "" {
			// A connection cut by a capture rotation: the frame is in
			// the next file.
			detail += "  (frame in " + Escape(e.File) + ")"
		}
		t.printf("    #%-6d %10s  %s  %s%s\n", e.Frame, "+"+fmtMS(e.RelMS), arrow, name, detail)
	}
	if rec.EventsDropped > 0 {
		t.printf("    (%d more events not kept)\n", rec.EventsDropped)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func (t *Text) chainShort(rec *Record) {
	if len(rec.Chain) == 0 {
		return
	}
	leaf := rec.Chain[0]
	t.printf("  Certificate: %s (issuer %s), valid until %s\n", Escape(leaf.Subject), Escape(leaf.Issuer), leaf.NotAfter)
}

func (t *Text) chain(rec *Record, r *diagnose.Result) {
	if rec.ChainHidden {
		t.printf("  Chain: encrypted (TLS 1.3): not visible in the capture without the key log\n")
		return
	}
	if len(rec.Chain) == 0 {
		return
	}
	at := ""
	if r.Chain != nil {
		at = r.Chain.At.UTC().Format(time.RFC3339)
	}
	t.printf("  Chain sent by the server, checked against %s at capture time %s:\n", Escape(rec.TrustStore), at)
	for _, cc := range rec.Chain {
		if cc.ParseError != "" {
			t.printf("    [%d] %-12s unparsable: %s  sha256 %s\n", cc.Position, cc.Role, Escape(cc.ParseError), cc.SHA256)
			continue
		}
		valid := yesNo(cc.ValidAtCapture)
		if !cc.ValidAtCapture {
			valid = t.color(red, "NO")
		}
		inTrust := yesNo(cc.InTruststore)
		if cc.InTruststore {
			inTrust = t.color(green, "yes")
			if cc.TruststoreAlias != "" {
				inTrust += " (alias " + Escape(cc.TruststoreAlias) + ")"
			}
		}
		t.printf("    [%d] %-12s subject %s\n", cc.Position, cc.Role, Escape(cc.Subject))
		t.printf("        %-12s issuer  %s\n", "", Escape(cc.Issuer))
		names := ""
		if len(cc.DNSNames) > 0 || len(cc.IPAddresses) > 0 {
			names = "  names " + Escape(strings.Join(append(append([]string{}, cc.DNSNames...), cc.IPAddresses...), ", "))
		}
		t.printf("        %-12s valid %s .. %s (at capture: %s)  in truststore: %s%s\n", "", cc.NotBefore, cc.NotAfter, valid, inTrust, names)
		t.printf("        %-12s %s, %s, serial %s, sha256 %s\n", "", cc.Key, cc.SignatureAlgorithm, cc.Serial, cc.SHA256)
	}
	if r.Chain != nil {
		if r.Chain.Trusted {
			t.printf("  Trust: %s: path %s\n", t.color(green, "trusted"), Escape(strings.Join(r.Chain.Path, " -> ")))
		} else {
			t.printf("  Trust: %s: path %s, then nothing the truststore holds\n", t.color(red, "NOT trusted"), Escape(strings.Join(r.Chain.Path, " -> ")))
		}
	}
	if r.Host != "" {
		t.printf("  Name: \"%s\" (from %s): %s\n", Escape(r.Host), r.HostSource, Escape(r.NameCheck))
	} else if r.NameCheck != "" {
		t.printf("  Name: %s\n", Escape(r.NameCheck))
	}
}

func (t *Text) findings(rec *Record, min diagnose.Severity) {
	var lines []string
	for _, f := range rec.Findings {
		if f.Severity == diagnose.SevInfo || f.Code == diagnose.FindingUntrusted {
			continue
		}
		if min == diagnose.SevError && f.Severity != diagnose.SevError {
			continue
		}
		lines = append(lines, fmt.Sprintf("    %-7s %s", f.Severity, Escape(f.Summary)))
	}
	if len(lines) == 0 {
		return
	}
	t.printf("  Findings:\n%s\n", strings.Join(lines, "\n"))
}

// Close writes the summary: counts per verdict and per server, and what
// the analysis skipped.
func (t *Text) Close(s *Summary) error {
	sum := t.sum
	sum.Stats = s.Stats
	sum.finish()
	t.printf("%s\n", t.color(bold, "Summary"))
	if s.Selection != "" {
		t.printf("  selected by %s: %d of %s\n", Escape(s.Selection), sum.Connections, Count(s.Considered, "connection"))
	}
	if sum.Connections == 0 {
		if s.Selection != "" {
			t.printf("  no connection selected\n")
		} else {
			t.printf("  no TLS connections found\n")
		}
	} else {
		if st := s.Stats; st != nil && int64(sum.Connections) > st.TLSConns {
			// --all: connections without TLS are reported too.
			t.printf("  %s (%d with TLS): %s\n", Count(sum.Connections, "connection"), st.TLSConns, countList(sum.Verdicts))
		} else {
			t.printf("  %s: %s\n", Count(sum.Connections, "TLS connection"), countList(sum.Verdicts))
		}
		if len(sum.Causes) > 0 {
			t.printf("  causes: %s\n", countList(sum.Causes))
		}
		if n := sum.Verdicts[string(diagnose.VerdictOK)]; n > 0 && !t.o.Verbose && !t.o.Brief {
			t.printf("  %s that completed %s counted here, by server (-v shows them in full)\n", Count(n, "connection"), map[bool]string{true: "is", false: "are"}[n == 1])
		}
		t.printf("  by server:\n")
		for i, ss := range sum.Servers {
			if i == 20 {
				t.printf("    ... %s more\n", Count(len(sum.Servers)-20, "server"))
				break
			}
			name := ss.Server
			if ss.SNI != "" {
				name += " (" + Escape(ss.SNI) + ")"
			}
			line := fmt.Sprintf("    %-40s %s, %d failed: %s", name, Count(ss.Total, "connection"), ss.Failed, countList(ss.Verdicts))
			if len(ss.Causes) > 0 {
				line += "; causes " + countList(ss.Causes)
			}
			if len(ss.Warnings) > 0 {
				line += "; warnings " + countList(ss.Warnings)
			}
			t.printf("%s\n", line)
		}
		if sum.Failed > 0 && len(sum.ClientFingerprints) > 1 {
			t.printf("  failures by client fingerprint (ja4):\n")
			for i, fp := range sum.ClientFingerprints {
				if i == 10 || fp.Failed == 0 {
					break
				}
				t.printf("    %-40s %-24s %s, %d failed\n", fp.JA4, fp.Stack, Count(fp.Total, "connection"), fp.Failed)
			}
		}
	}
	if s.TrustStore != "" {
		t.printf("  trust judged against: %s\n", Escape(s.TrustStore))
	}
	if st := s.Stats; st != nil {
		line := fmt.Sprintf("  read %s, %s, %d with TLS", Count(st.Packets, "packet"), Count(st.TCPConns, "TCP connection"), st.TLSConns)
		if st.Refused > 0 {
			line += fmt.Sprintf(", %d refused (the server answered the SYN with a RST: nothing listening, or a firewall; --all lists them)", st.Refused)
		}
		if len(st.NotDecoded) > 0 {
			n := map[string]int{}
			var total int64
			for k, v := range st.NotDecoded {
				n[k] = int(v)
				total += v
			}
			line += fmt.Sprintf("; %s not analysed (%s)", Count(total, "packet"), countList(n))
		}
		t.printf("%s\n", line)
		var extra []string
		if st.Truncated > 0 {
			extra = append(extra, Count(st.Truncated, "packet")+" cut by the snapshot length")
		}
		if st.Gaps > 0 {
			extra = append(extra, Count(st.Gaps, "hole")+" in TCP streams")
		}
		if st.Retransmits > 0 {
			extra = append(extra, Count(st.Retransmits, "retransmitted segment"))
		}
		for _, k := range slices.Sorted(maps.Keys(st.LimitsReached)) {
			extra = append(extra, fmt.Sprintf("limit %q reached %s", k, Count(st.LimitsReached[k], "time")))
		}
		if st.Evicted > 0 {
			extra = append(extra, Count(st.Evicted, "connection")+" handed over before their end (flow table or buffer memory full)")
		}
		if len(extra) > 0 {
			t.printf("  not seen or not kept: %s\n", strings.Join(extra, "; "))
		}
	}
	for _, w := range s.Warnings {
		t.printf("  %s %s\n", t.color(yellow, "warning:"), Escape(w))
	}
	return t.err
}

// field writes "  Label: name: text" (name, shown with its colour, is
// nameLen columns wide; no name, no colon), wrapping text to o.Width under
// its first column when a width is set.
func (t *Text) field(label, name string, nameLen int, text string) {
	head := "  " + label + " "
	col := len(head)
	if name != "" {
		head += name + ": "
		col += nameLen + 2
	}
	if t.o.Width <= 0 || col+len(text) <= t.o.Width || t.o.Width-col < 20 {
		t.printf("%s%s\n", head, text)
		return
	}
	indent := strings.Repeat(" ", 11)
	prefix, width, cur := head, t.o.Width-col, ""
	for _, word := range strings.Fields(text) {
		if cur != "" && len(cur)+1+len(word) > width {
			t.printf("%s%s\n", prefix, cur)
			prefix, width, cur = indent, t.o.Width-len(indent), ""
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	t.printf("%s%s\n", prefix, cur)
}
