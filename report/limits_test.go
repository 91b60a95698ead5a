package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/dissect"
)

// TestSummaryLimits: what the caps dropped (dissect.Stats LimitsReached and
// Evicted) is in the text summary, limits in a stable order, and in the
// JSON summary's counters.
func TestSummaryLimits(t *testing.T) {
	st := dissect.Stats{
		Packets:       1_000_000,
		TCPConns:      1_000_000,
		LimitsReached: map[string]int64{"flow table": 950_190, "buffer memory": 12, "events per connection": 3, "handshake message size": 1},
		Evicted:       950_202,
	}
	var text bytes.Buffer
	if err := NewText(&text, TextOptions{}).Close(&Summary{Stats: &st}); err != nil {
		t.Fatal(err)
	}
	want := `limit "buffer memory" reached 12 times; limit "events per connection" reached 3 times; limit "flow table" reached 950190 times; ` +
		`limit "handshake message size" reached 1 time; 950202 connections handed over before their end (flow table or buffer memory full)`
	if !strings.Contains(text.String(), "not seen or not kept: "+want) {
		t.Errorf("text summary:\n%s\nwant the limits and evictions: %s", text.String(), want)
	}

	var js bytes.Buffer
	if err := NewJSON(&js, true).Close(&Summary{Stats: &st}); err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Counters struct {
			LimitsReached map[string]int64 `json:"limits_reached"`
			Evicted       int64            `json:"evicted"`
		} `json:"counters"`
	}
	if err := json.Unmarshal(js.Bytes(), &sum); err != nil {
		t.Fatalf("%v: %s", err, js.Bytes())
	}
	if sum.Counters.Evicted != st.Evicted || len(sum.Counters.LimitsReached) != 4 || sum.Counters.LimitsReached["flow table"] != 950_190 {
		t.Errorf("JSON counters %+v, want %v and %d evicted", sum.Counters, st.LimitsReached, st.Evicted)
	}
}

// TestSummaryCaps: past MaxSummaryServers servers and
// MaxSummaryFingerprints fingerprints, the summary counts the rest under
// Other, so that a capture running for days keeps it bounded; the totals
// stay exact.
func TestSummaryCaps(t *testing.T) {
	s := NewSummary()
	n := MaxSummaryServers + 5
	for i := range n {
		s.add(&counted{Verdict: "ok", Server: fmt.Sprintf("10.%d.%d.%d:443", i>>16, i>>8&255, i&255), JA4: fmt.Sprintf("t13d_%d", i)})
	}
	s.add(&counted{Verdict: "client_rejected_certificate", Cause: "expired", Failed: true, Server: "192.0.2.1:443", JA4: "t13d_new"})
	s.finish()
	if len(s.Servers) != MaxSummaryServers+1 || len(s.ClientFingerprints) != MaxSummaryFingerprints+1 {
		t.Fatalf("%d servers, %d fingerprints; want %d and %d (the caps and other)", len(s.Servers), len(s.ClientFingerprints), MaxSummaryServers+1, MaxSummaryFingerprints+1)
	}
	// The failed one sorts first: it is in other.
	if o := s.Servers[0]; o.Server != Other || o.Total != 6 || o.Failed != 1 || o.Causes["expired"] != 1 {
		t.Errorf("first server %+v: want other with 6 connections, 1 failed (expired)", o)
	}
	if o := s.ClientFingerprints[0]; o.JA4 != Other || o.Total != n+1-MaxSummaryFingerprints || o.Failed != 1 {
		t.Errorf("first fingerprint %+v: want other with %d connections, 1 failed", o, n+1-MaxSummaryFingerprints)
	}
	if s.Connections != n+1 || s.Failed != 1 {
		t.Errorf("totals %d connections, %d failed; want %d, 1", s.Connections, s.Failed, n+1)
	}
}
