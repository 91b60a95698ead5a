package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/brokencaps"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestBrokenCaptures runs the command on every broken capture of
// internal/brokencaps, made from a good capture of three connections
// (TLS 1.2 completed, TLS 1.2 rejected after the Certificate, TLS 1.3
// completed) damaged in the fourth frame of the second connection:
//   - it never panics, and keeps its output contract;
//   - a damaged file gives exit status 3, one warning line naming the
//     frame and the problem, and the connections over before the damage
//     exactly as the good file gives them;
//   - a file that is not a capture gives exit status 2 and one error;
//   - a valid but odd file (frames cut by the snapshot length or longer
//     than it, empty frames, an unknown link type, time going backwards)
//     is read to its end: one warning line naming the first frame
//     concerned, the exit status of the verdicts;
//   - every warning is in the summary too.
func TestBrokenCaptures(t *testing.T) {
	pkts, last, err := brokencaps.Good()
	if err != nil {
		t.Fatal(err)
	}
	var p, ng bytes.Buffer
	if err := pcaptest.WritePcap(&p, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	if err := pcaptest.WritePcapng(&ng, []pcaptest.Interface{{Name: "eth0", LinkType: layers.LinkTypeEthernet, Packets: pkts}}); err != nil {
		t.Fatal(err)
	}
	k := last[0] + 4 // inside the second connection's handshake
	dir := t.TempDir()
	for format, good := range map[string][]byte{"pcap": p.Bytes(), "pcapng": ng.Bytes()} {
		goodPath := filepath.Join(dir, "good."+format)
		if err := os.WriteFile(goodPath, good, 0o644); err != nil {
			t.Fatal(err)
		}
		g := tlstriage(t, nil, "-r", goodPath, "--json", "--summary")
		if g.code != exitFailed || g.stderr != "tlstriage: read "+strconv.Itoa(len(pkts))+" packets, 3 TCP connections, 3 TLS connections\n" {
			t.Fatalf("%s: good capture: exit status %d, stderr:\n%s", format, g.code, g.stderr)
		}
		want, _ := records(t, g.stdout)
		if len(want) != 3 {
			t.Fatalf("%s: good capture: %d connections", format, len(want))
		}
		byID(t, want) // reported as they end; last is in the order they start
		cases, err := brokencaps.Cases(good, k)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("%d.%s", i, format))
				if err := os.WriteFile(path, c.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				r, panicked, stack := runRecover(t, "-r", path, "--json", "--summary")
				if panicked != nil {
					t.Fatalf("panic: %v\n%s", panicked, stack)
				}
				if c.Unreadable {
					// Nothing read: the error on stderr, nothing on stdout.
					if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "tlstriage: error: ") || !strings.Contains(r.stderr, c.Want) {
						t.Fatalf("exit status %d, stdout %q, stderr:\n%s\nwant 2, nothing, an error saying %q", r.code, r.stdout, r.stderr, c.Want)
					}
					return
				}
				checkSane(t, c.Name, true, r)
				got, sum := records(t, r.stdout)
				byID(t, got)
				var warns []string
				for _, l := range lines(r.stderr) {
					if w, ok := strings.CutPrefix(l, "tlstriage: warning: "); ok {
						warns = append(warns, w)
					}
				}
				wantCode := exitDamaged
				if !c.Damaged {
					wantCode = r.code // the verdicts decide; checked below
					if r.code != exitOK && r.code != exitFailed && r.code != exitUnjudged {
						t.Errorf("exit status %d for a valid file", r.code)
					}
					if r.code == exitUnjudged {
						// Every connection incomplete (frames cut short):
						// nothing could be judged.
						for _, o := range got {
							if str(t, o, "verdict") != "incomplete" {
								t.Errorf("exit status %d with connection %v %s", r.code, o["id"], str(t, o, "verdict"))
							}
						}
					}
				}
				if r.code != wantCode {
					t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, wantCode, r.stderr)
				}
				if strings.Contains(r.stderr, "tlstriage: error: ") {
					t.Errorf("an error line for a file that could be read:\n%s", r.stderr)
				}

				// The warning: one line naming the file, the frame and
				// the problem; in the summary too.
				lastRead := len(pkts) // frames before the damage
				switch {
				case c.Want == "":
					if len(warns) != 0 {
						t.Errorf("warnings for a valid file: %q", warns)
					}
				case len(warns) != 1:
					t.Fatalf("want one warning line, got:\n%s", r.stderr)
				default:
					w := warns[0]
					m := frameRE.FindStringSubmatch(w)
					if !strings.HasPrefix(w, path+": ") || m == nil || !strings.Contains(w, c.Want) {
						t.Fatalf("warning %q: want it to name %s, a frame and say %q", w, path, c.Want)
					}
					n, _ := strconv.Atoi(m[1])
					if c.Frame >= 0 && n != max(c.Frame, 1) {
						t.Errorf("warning %q names frame %d, want %d", w, n, max(c.Frame, 1))
					}
					if c.Damaged {
						lastRead = n - 1
					}
					if !containsString(sum["warnings"], w) {
						t.Errorf("summary warnings %v lack %q", sum["warnings"], w)
					}
				}

				// Connections over before the damage (or the oddity) are
				// reported as from the good file.
				intact := c.Intact
				if c.Damaged {
					intact = min(max(intact, lastRead), lastRead)
				}
				byClient := map[string]obj{}
				for _, rec := range got {
					byClient[str(t, rec, "client")] = rec
				}
				for j, w := range want {
					if last[j] > intact {
						continue
					}
					g, ok := byClient[str(t, w, "client")]
					if !ok {
						t.Errorf("connection %d (frames up to %d, %d intact) is missing", j+1, last[j], intact)
						continue
					}
					if !sameRecord(w, g) {
						t.Errorf("connection %d differs from the good file's:\n got %v\nwant %v", j+1, g, w)
					}
				}
				// Where a valid file only adds or moves a frame, every
				// connection keeps its verdict; cut by the snapshot length,
				// every connection is still reported, its evidence
				// incomplete.
				switch c.Name[strings.Index(c.Name, "/")+1:] {
				case "snaplen-96":
					if len(got) != len(want) {
						t.Fatalf("%d connections, want %d", len(got), len(want))
					}
					for j := range got {
						if v := str(t, got[j], "verdict"); v != "incomplete" {
							t.Errorf("connection %d: verdict %s, want incomplete", j+1, v)
						}
					}
				case "time-decades-ahead", "time-decades-back":
					// One wrong timestamp neither splits its connection
					// nor gives a negative or decades-long duration.
					if len(got) != len(want) {
						t.Fatalf("%d connections, want %d", len(got), len(want))
					}
					for j := range want {
						if a, b := str(t, got[j], "verdict"), str(t, want[j], "verdict"); a != b {
							t.Errorf("connection %d: verdict %s, good file %s", j+1, a, b)
						}
						if d, err := got[j]["duration_ms"].(json.Number).Float64(); err != nil || d < 0 || d > 60_000 {
							t.Errorf("connection %d: duration %v ms", j+1, d)
						}
					}
				case "zero-length-frame", "time-backwards", "longer-than-snaplen", "unknown-link-type-interface":
					if len(got) != len(want) {
						t.Fatalf("%d connections, want %d", len(got), len(want))
					}
					for j := range want {
						if a, b := str(t, got[j], "verdict"), str(t, want[j], "verdict"); a != b {
							t.Errorf("connection %d: verdict %s, good file %s", j+1, a, b)
						}
					}
				}
			})
		}
	}
}

// records splits --json --summary output into the connection records and
// the summary object.
// byID sorts connection records by ID: the order the connections started.
func byID(t *testing.T, recs []obj) {
	t.Helper()
	id := func(o obj) int64 {
		n, err := o["id"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("id %v: %v", o["id"], err)
		}
		return n
	}
	slices.SortFunc(recs, func(x, y obj) int { return cmp.Compare(id(x), id(y)) })
}

func records(t *testing.T, out string) (recs []obj, sum obj) {
	t.Helper()
	for _, o := range ndjson(t, out) {
		if o["type"] == "summary" {
			sum = o
			continue
		}
		recs = append(recs, o)
	}
	if sum == nil {
		t.Fatal("no summary object")
	}
	return recs, sum
}

// sameRecord reports whether two connection records are the same but for
// the file they came from.
func sameRecord(a, b obj) bool {
	norm := func(o obj) any {
		c := make(obj, len(o))
		for k, v := range o {
			if k != "file" {
				c[k] = v
			}
		}
		b, _ := json.Marshal(c)
		var v any
		json.Unmarshal(b, &v)
		return v
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func containsString(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
