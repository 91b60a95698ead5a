package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
)

// Writer renders connections one at a time and a summary at the end.
// JSON writes each record in one Write call (a log reopened between two
// records never splits one).
//
// A record can also be made ahead of time, on another goroutine (-j):
// one Preparer per goroutine, then WritePrepared in order, on the
// writer's, with each connection's ID as it is then.
type Writer interface {
	Conn(c *dissect.Conn, r *diagnose.Result) error
	Close(s *Summary) error
	Preparer() Preparer
	WritePrepared(c *dissect.Conn, x *Prepared) error
}

// Summary aggregates what was reported: counts per verdict, cause, server
// and client fingerprint, plus the analysis counters.
type Summary struct {
	Connections        int                   `json:"connections"`
	Failed             int                   `json:"failed"`
	Verdicts           map[string]int        `json:"verdicts"`
	Causes             map[string]int        `json:"causes"`
	Servers            []*ServerSummary      `json:"servers"`
	ClientFingerprints []*FingerprintSummary `json:"client_fingerprints"`
	Stats              *dissect.Stats        `json:"-"`
	Counters           map[string]any        `json:"counters"`
	TrustStore         string                `json:"trust_store"`
	Warnings           []string              `json:"warnings"`
	// Selection is the expression that selected the connections reported
	// (-Y), "" when all were; Considered is how many were judged before
	// it: Connections of Considered were selected.
	Selection  string `json:"selection,omitempty"`
	Considered int    `json:"considered,omitempty"`
	servers    map[serverKey]*ServerSummary
	fps        map[string]*FingerprintSummary
}

// ServerSummary counts connections to one server (address and SNI).
type ServerSummary struct {
	Server   string         `json:"server"`
	SNI      string         `json:"sni"`
	Total    int            `json:"connections"`
	Failed   int            `json:"failed"`
	Verdicts map[string]int `json:"verdicts"`
	Causes   map[string]int `json:"causes"`
	// Warnings counts the warning findings of its connections by code
	// (an intermediate expiring soon, a weak key the client accepted).
	Warnings map[string]int `json:"warnings,omitempty"`
	first    int
}

// FingerprintSummary counts connections by client fingerprint (JA4).
type FingerprintSummary struct {
	JA4      string         `json:"ja4"`
	JA3      string         `json:"ja3"`
	Stack    string         `json:"client_stack,omitempty"` // the stack that makes this offer, as client_stack names it ("openssl 3.0-3.4 (curl)")
	Total    int            `json:"connections"`
	Failed   int            `json:"failed"`
	Verdicts map[string]int `json:"verdicts"`
	first    int
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{Verdicts: map[string]int{}, Causes: map[string]int{}, servers: map[serverKey]*ServerSummary{}, fps: map[string]*FingerprintSummary{}}
}

// Add counts one connection.
// serverKey is a server and the name asked of it.
type serverKey struct{ server, sni string }

// Caps on the summary's tables, so that a capture running for days keeps
// them in bounded memory: the servers and client fingerprints past them
// are counted together under Other.
const (
	MaxSummaryServers      = 10_000
	MaxSummaryFingerprints = 1_000
)

// Other stands, in the summary's tables, for the servers (Server) or
// fingerprints (JA4) past their caps.
const Other = "other"

func (s *Summary) Add(rec *Record) {
	k := countedOf(rec)
	s.add(&k)
}

// countedOf is what the summary counts of rec.
func countedOf(rec *Record) counted {
	k := counted{Verdict: rec.Verdict, Cause: rec.Cause, Server: rec.Server, SNI: rec.SNI, JA3: rec.JA3, JA4: rec.JA4, Failed: rec.Failed}
	for _, f := range rec.Findings {
		if f.Severity == diagnose.SevWarning {
			k.Warnings = append(k.Warnings, string(f.Code))
		}
	}
	if cs := rec.ClientStack; cs != nil {
		k.Stack = stackLabel(cs.Name, cs.Version, cs.App)
	}
	return k
}

// counted is what the summary counts of a connection.
type counted struct {
	Verdict, Cause, Server, SNI, JA3, JA4, Stack string
	Failed                                       bool
	Warnings                                     []string // codes of its warning findings
}

func (s *Summary) add(rec *counted) {
	s.Connections++
	s.Verdicts[rec.Verdict]++
	if rec.Failed {
		s.Failed++
	}
	if rec.Cause != "" {
		s.Causes[rec.Cause]++
	}
	key := serverKey{rec.Server, rec.SNI}
	ss := s.servers[key]
	if ss == nil && len(s.servers) >= MaxSummaryServers {
		key = serverKey{Other, ""}
		ss = s.servers[key]
	}
	if ss == nil {
		ss = &ServerSummary{Server: key.server, SNI: key.sni, Verdicts: map[string]int{}, Causes: map[string]int{}, first: len(s.servers)}
		s.servers[key] = ss
	}
	ss.Total++
	ss.Verdicts[rec.Verdict]++
	if rec.Failed {
		ss.Failed++
	}
	if rec.Cause != "" {
		ss.Causes[rec.Cause]++
	}
	for _, code := range rec.Warnings {
		if ss.Warnings == nil {
			ss.Warnings = map[string]int{}
		}
		ss.Warnings[code]++
	}
	if rec.JA4 != "" {
		ja4, ja3, stack := rec.JA4, rec.JA3, rec.Stack
		fp := s.fps[ja4]
		if fp == nil && len(s.fps) >= MaxSummaryFingerprints {
			ja4, ja3, stack = Other, "", ""
			fp = s.fps[ja4]
		}
		if fp == nil {
			fp = &FingerprintSummary{JA4: ja4, JA3: ja3, Stack: stack, Verdicts: map[string]int{}, first: len(s.fps)}
			s.fps[ja4] = fp
		}
		fp.Total++
		fp.Verdicts[rec.Verdict]++
		if rec.Failed {
			fp.Failed++
		}
	}
}

func (s *Summary) finish() {
	s.Servers = make([]*ServerSummary, 0, len(s.servers))
	for _, ss := range s.servers {
		s.Servers = append(s.Servers, ss)
	}
	slices.SortFunc(s.Servers, func(a, b *ServerSummary) int {
		if a.Failed != b.Failed {
			return b.Failed - a.Failed
		}
		return a.first - b.first
	})
	s.ClientFingerprints = make([]*FingerprintSummary, 0, len(s.fps))
	for _, fp := range s.fps {
		s.ClientFingerprints = append(s.ClientFingerprints, fp)
	}
	slices.SortFunc(s.ClientFingerprints, func(a, b *FingerprintSummary) int {
		if a.Failed != b.Failed {
			return b.Failed - a.Failed
		}
		return a.first - b.first
	})
	if s.Stats != nil {
		s.Counters = Counters(s.Stats)
	}
}

// Counters flattens the analysis counters for JSON and text.
// Maps are never nil, so that JSON shows {} rather than null.
func Counters(st *dissect.Stats) map[string]any {
	m := map[string]any{
		"packets":         st.Packets,
		"tcp_connections": st.TCPConns,
		"tls_connections": st.TLSConns,
		"not_decoded":     nonNil(st.NotDecoded),
		"truncated":       st.Truncated,
		"retransmissions": st.Retransmits,
		"gaps":            st.Gaps,
		"limits_reached":  nonNil(st.LimitsReached),
		"evicted":         st.Evicted,
		"late_segments":   st.LateSegments,
		"refused":         st.Refused,
	}
	return m
}

func nonNil(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// countList renders a map as "a 3, b 1", largest first.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// JSON writes one JSON object per connection (NDJSON) and, when asked, a
// final summary object.
type JSON struct {
	w       io.Writer
	enc     *json.Encoder
	sum     *Summary
	summary bool
	fast    *jsonEncoder
	buf     []byte
}

// NewJSON returns an NDJSON writer; withSummary adds the summary object.
func NewJSON(w io.Writer, withSummary bool) *JSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSON{w: w, enc: enc, sum: NewSummary(), summary: withSummary, fast: newJSONEncoder()}
}

// Conn writes one connection, in one Write call. The bytes are those
// encoding/json writes for NewRecord(c, r), made without reflection.
func (j *JSON) Conn(c *dissect.Conn, r *diagnose.Result) error {
	var k counted
	j.buf = j.fast.appendRecord(j.buf[:0], c, r, &k)
	k.Server = j.fast.serverString(c.Server)
	j.sum.add(&k)
	_, err := j.w.Write(j.buf)
	if cap(j.buf) > 1<<20 {
		j.buf = nil // one huge record does not pin its buffer
	}
	return err
}

// Preparer returns a maker of this writer's records for another goroutine.
func (j *JSON) Preparer() Preparer { return &Encoder{e: newJSONEncoder()} }

// WritePrepared writes a connection prepared ahead of time, with c.ID as
// its ID: the bytes Conn writes (the JSON writer is given a buffered
// writer). x is spent.
func (j *JSON) WritePrepared(c *dissect.Conn, x *Prepared) error {
	j.sum.add(&x.sum)
	return x.writeTo(j.w, c.ID, &j.buf)
}

// Close writes the summary object when asked for.
func (j *JSON) Close(s *Summary) error {
	if !j.summary {
		return nil
	}
	j.sum.Stats = s.Stats
	j.sum.TrustStore = s.TrustStore
	j.sum.Warnings = s.Warnings
	j.sum.Selection, j.sum.Considered = s.Selection, s.Considered
	if j.sum.Warnings == nil {
		j.sum.Warnings = []string{}
	}
	j.sum.finish()
	return j.enc.Encode(struct {
		Type string `json:"type"`
		*Summary
	}{"summary", j.sum})
}

// Summary returns what the writer has counted so far.
func (j *JSON) Summary() *Summary { return j.sum }

// Preparer makes what Writer.Conn writes for c diagnosed as r, but for the
// ID, which is filled in when it is written (Writer.WritePrepared).
type Preparer interface {
	Prepare(c *dissect.Conn, r *diagnose.Result) *Prepared
}

// Prepared is a connection's record made ahead of time: its bytes, where
// its ID goes in them, and what the summary counts of it.
type Prepared struct {
	b              []byte
	idStart, idEnd int
	sum            counted
	next           *Prepared // the second writer's, for Tee
}

// preparedBufs recycles the buffers of Prepared records once written.
var preparedBufs sync.Pool

// preparedBuf returns an empty buffer of capacity size at least. (The pool
// is emptied by every collection, and filled on the writer's goroutine: a
// record grown from nothing would be copied a dozen times on its way to a
// few kilobytes.)
func preparedBuf(size int) []byte {
	var b []byte
	if p, ok := preparedBufs.Get().(*[]byte); ok {
		b = (*p)[:0]
	}
	if cap(b) < size {
		b = make([]byte, 0, size)
	}
	return b
}

// writeTo writes x with id in its place, and gives its buffer back: x is
// spent. Into a bufio.Writer (the output when reading files) the pieces go
// straight into its buffer; any other writer gets the record in one Write
// call (made in out, the writer's buffer for it), so that a reader
// following a --json-file log never sees part of a record.
func (x *Prepared) writeTo(w io.Writer, id int, out *[]byte) error {
	if len(x.b) == 0 {
		return nil // nothing shown of this connection (counted only)
	}
	var err error
	if bw, ok := w.(*bufio.Writer); ok {
		var digits [20]byte
		bw.Write(x.b[:x.idStart])
		bw.Write(strconv.AppendInt(digits[:0], int64(id), 10))
		_, err = bw.Write(x.b[x.idEnd:]) // a bufio.Writer's errors stay: the last says
	} else {
		b := append((*out)[:0], x.b[:x.idStart]...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, x.b[x.idEnd:]...)
		_, err = w.Write(b)
		if cap(b) <= 64<<10 {
			*out = b
		}
	}
	if cap(x.b) <= 64<<10 { // one huge record does not stay pooled
		b := x.b[:0]
		preparedBufs.Put(&b)
	}
	x.b = nil
	return err
}

// stackLabel is "openssl 3.0-3.4 (curl)": a client stack in one phrase.
func stackLabel(name, version, app string) string {
	if version != "" {
		name += " " + version
	}
	if app != "" {
		name += " (" + app + ")"
	}
	return name
}

// Count is "1 connection", "2 connections": n and the noun, in the
// plural unless n is 1.
func Count[N ~int | ~int64 | ~uint64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Tee writes every connection and the summary to both writers, in order;
// then is run after the second writer's summary (a flush). Its records
// made ahead are both writers'.
func Tee(first, second Writer, then func() error) Writer {
	return &tee{first, second, then}
}

type tee struct {
	first, second Writer
	then          func() error
}

func (t *tee) Conn(c *dissect.Conn, r *diagnose.Result) error {
	err1 := t.first.Conn(c, r)
	err2 := t.second.Conn(c, r)
	return errors.Join(err1, err2)
}

// teePreparer prepares a record for each writer of a tee.
type teePreparer struct{ first, second Preparer }

func (t *tee) Preparer() Preparer {
	return &teePreparer{t.first.Preparer(), t.second.Preparer()}
}

func (p *teePreparer) Prepare(c *dissect.Conn, r *diagnose.Result) *Prepared {
	x := p.first.Prepare(c, r)
	x.next = p.second.Prepare(c, r)
	return x
}

func (t *tee) WritePrepared(c *dissect.Conn, x *Prepared) error {
	next := x.next
	x.next = nil
	err1 := t.first.WritePrepared(c, x)
	err2 := t.second.WritePrepared(c, next)
	return errors.Join(err1, err2)
}

func (t *tee) Close(s *Summary) error {
	err1 := t.first.Close(s)
	err2 := t.second.Close(s)
	var err3 error
	if t.then != nil {
		err3 = t.then()
	}
	return errors.Join(err1, err2, err3)
}
