package report

import (
	"bytes"
	"encoding/json"
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
