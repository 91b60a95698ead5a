package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func TestScheduler(t *testing.T) {
	s := newScheduler([]int{80, 7, 7, 6})
	got := make([]int, 4)
	longestOK := 0
	run := 0
	for range 1000 {
		k := s.next()
		got[k]++
		if k == 0 {
			run++
			longestOK = max(longestOK, run)
		} else {
			run = 0
		}
	}
	if want := []int{800, 70, 70, 60}; !equal(got, want) {
		t.Errorf("1000 picks: %v, want %v", got, want)
	}
	if longestOK > 8 {
		t.Errorf("%d ok connections in a row: the failures are not spread", longestOK)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseMix(t *testing.T) {
	if w, err := parseMix("ok=1, client_cert=2"); err != nil || !equal(w, []int{1, 0, 0, 2}) {
		t.Errorf("got %v, %v", w, err)
	}
	for _, bad := range []string{"ok", "nope=1", "ok=-1", "ok=0", "ok=x"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRun makes 100 connections of each version on free ports: every ok
// one completes, every other one fails, as its kind says.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real handshakes")
	}
	for _, v := range []string{"1.2", "1.3"} {
		t.Run(v, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"--port", "0", "--rate", "400", "--duration", "250ms", "--tls", v,
				"--mix", "ok=1,unknown_ca=1,mismatch=1,client_cert=1"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var r Report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Total.Attempted != 100 || r.Started != 100 || r.Unexpected != 0 || r.Total.DialErrors != 0 {
				t.Errorf("report: %s", stdout.String())
			}
			for _, k := range kinds {
				c := r.Kinds[k]
				want := Counts{Attempted: 25, Failed: 25}
				if k == "ok" {
					want = Counts{Attempted: 25, OK: 25}
				}
				if c != want {
					t.Errorf("%s: %+v, want %+v", k, c, want)
				}
				if r.Servers[k] == "" {
					t.Errorf("%s: no server address", k)
				}
			}
		})
	}
}
