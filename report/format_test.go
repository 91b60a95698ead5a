package report

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/dissect"
)

func TestFmtMS(t *testing.T) {
	tests := []struct {
		ms   float64
		want string
	}{
		{0, "0µs"},
		{0.028, "28µs"},
		{0.5, "500µs"},
		{1, "1.0ms"},
		{1.269, "1.3ms"},
		{5.004, "5.0ms"},
		{999.9, "999.9ms"},
		{1000, "1s"},
		{1500, "1.5s"},
		{10_000.4, "10s"},
		{125_000, "2m5s"},
	}
	for _, tc := range tests {
		if got := fmtMS(tc.ms); got != tc.want {
			t.Errorf("fmtMS(%v) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}

func TestTimeFormats(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tm := time.Date(2026, 3, 2, 11, 0, 0, 1_234_567, paris)
	if got, want := rfc3339(tm), "2026-03-02T10:00:00.001234Z"; got != want {
		t.Errorf("rfc3339 = %q, want %q (UTC, microseconds)", got, want)
	}
	if got, err := time.Parse(time.RFC3339Nano, rfc3339(tm)); err != nil || !got.Equal(tm.Truncate(time.Microsecond)) {
		t.Errorf("rfc3339 output does not parse back as RFC 3339: %v, %v", got, err)
	}
	if got := rfc3339(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)); got != "2026-03-02T10:00:00.000000Z" {
		t.Errorf("rfc3339 of a whole second = %q, want a fixed width", got)
	}
	for _, tc := range []struct {
		d    time.Duration
		want float64
	}{
		{0, 0},
		{1269 * time.Microsecond, 1.269},
		{1269*time.Microsecond + 999*time.Nanosecond, 1.269}, // truncated to µs
		{3 * time.Second, 3000},
		{-28 * time.Microsecond, -0.028},
	} {
		if got := ms(tc.d); got != tc.want {
			t.Errorf("ms(%v) = %v, want %v", tc.d, got, tc.want)
		}
	}
}

func TestSerialHex(t *testing.T) {
	for _, tc := range []struct {
		serial *big.Int
		want   string
	}{
		{nil, ""},
		{big.NewInt(0x71510003), "71510003"},
		{new(big.Int).SetBytes([]byte{0xAB, 0xCD, 0xEF, 0x01}), "abcdef01"},
	} {
		if got := serialHex(&x509.Certificate{SerialNumber: tc.serial}); got != tc.want {
			t.Errorf("serialHex(%v) = %q, want %q", tc.serial, got, tc.want)
		}
	}
}

func TestCountList(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]int
		want string
	}{
		{nil, ""},
		{map[string]int{"ok": 1}, "ok 1"},
		// Largest first, then by name: stable whatever the map order.
		{map[string]int{"ok": 11, "client_rejected_certificate": 9, "b": 2, "a": 2}, "ok 11, client_rejected_certificate 9, a 2, b 2"},
	} {
		for range 5 {
			if got := countList(tc.m); got != tc.want {
				t.Fatalf("countList(%v) = %q, want %q", tc.m, got, tc.want)
			}
		}
	}
}

func TestCountersNeverNull(t *testing.T) {
	b, err := json.Marshal(Counters(&dissect.Stats{}))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("counters of empty stats: %s: want {} for maps, not null", b)
	}
}

func TestSummaryOrder(t *testing.T) {
	s := NewSummary()
	add := func(server, sni, verdict string, failed bool) {
		s.Add(&Record{Server: server, SNI: sni, Verdict: verdict, Failed: failed, JA4: "t12_" + verdict})
	}
	add("10.0.0.2:443", "a.example", "ok", false)
	add("10.0.0.3:443", "b.example", "client_rejected_certificate", true)
	add("10.0.0.2:443", "a.example", "ok", false)
	add("10.0.0.4:443", "c.example", "not_tls", true)
	add("10.0.0.3:443", "b.example", "client_rejected_certificate", true)
	s.finish()
	var got []string
	for _, ss := range s.Servers {
		got = append(got, ss.Server)
	}
	// Most failures first; ties in order of first appearance.
	if want := "10.0.0.3:443 10.0.0.4:443 10.0.0.2:443"; strings.Join(got, " ") != want {
		t.Errorf("servers %v, want %s", got, want)
	}
	if s.Connections != 5 || s.Failed != 3 || s.Verdicts["ok"] != 2 {
		t.Errorf("counts: %d connections, %d failed, %v", s.Connections, s.Failed, s.Verdicts)
	}
	if len(s.ClientFingerprints) != 3 || s.ClientFingerprints[0].JA4 != "t12_client_rejected_certificate" {
		t.Errorf("fingerprints not ordered by failures: %+v", s.ClientFingerprints[0])
	}
}

func TestJSONSummaryObject(t *testing.T) {
	for _, withSummary := range []bool{false, true} {
		var b bytes.Buffer
		w := NewJSON(&b, withSummary)
		if err := w.Close(&Summary{Stats: &dissect.Stats{}, TrustStore: "ts.pem"}); err != nil {
			t.Fatal(err)
		}
		if !withSummary {
			if b.Len() != 0 {
				t.Errorf("summary written without being asked for: %s", b.String())
			}
			continue
		}
		if strings.Count(b.String(), "\n") != 1 || !strings.HasSuffix(b.String(), "\n") {
			t.Errorf("summary is not one line: %q", b.String())
		}
		var m map[string]any
		if err := json.Unmarshal(b.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] != "summary" || m["trust_store"] != "ts.pem" {
			t.Errorf("summary %v", m)
		}
		for _, k := range []string{"verdicts", "causes", "servers", "client_fingerprints", "counters", "warnings"} {
			if m[k] == nil {
				t.Errorf("summary %q is null or missing with no connections", k)
			}
		}
	}
}
