package capture_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/internal/brokencaps"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// goodFiles returns the good capture of brokencaps as pcap and pcapng, and
// the frame to damage: the fourth of the second connection.
func goodFiles(t *testing.T) (files map[string][]byte, frame int) {
	t.Helper()
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
	return map[string][]byte{"pcap": p.Bytes(), "pcapng": ng.Bytes()}, last[0] + 4
}

// TestDamagedFiles reads every broken capture of brokencaps: a damaged
// file yields the frames before the damage unchanged, then a
// *DamageError naming the frame and the problem; a file that is only odd
// is read to its end; one that is not a capture does not open.
func TestDamagedFiles(t *testing.T) {
	files, k := goodFiles(t)
	for format, good := range files {
		want := readAll(t, bytes.NewReader(good), len(good))
		if want.endErr != io.EOF || len(want.packets) < k+10 {
			t.Fatalf("%s: good capture: %d frames, ended with %v", format, len(want.packets), want.endErr)
		}
		cases, err := brokencaps.Cases(good, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				got := readAll(t, bytes.NewReader(c.Data), len(c.Data))
				// The framing checker must not depend on how reads cut the
				// bytes.
				sameResult(t, "one byte at a time", got, readAll(t, iotest.OneByteReader(bytes.NewReader(c.Data)), len(c.Data)))
				for i := range min(c.Intact, len(got.packets)) {
					g, w := got.packets[i], want.packets[i]
					if !bytes.Equal(g.data, w.data) || !g.ci.Timestamp.Equal(w.ci.Timestamp) || g.lt != w.lt {
						t.Fatalf("frame %d differs from the good capture's", i+1)
					}
				}
				var d *capture.DamageError
				end := got.endErr
				if got.openErr != "" {
					end = errors.New(got.openErr)
				}
				switch {
				case c.Unreadable:
					if got.openErr == "" || !strings.Contains(got.openErr, c.Want) {
						t.Fatalf("opened (%q), want an error saying %q", got.openErr, c.Want)
					}
					return
				case !c.Damaged:
					if got.openErr != "" || got.endErr != io.EOF {
						t.Fatalf("not read to its end: %q, %v", got.openErr, got.endErr)
					}
					if len(got.packets) < c.Intact {
						t.Fatalf("%d frames read, want at least %d", len(got.packets), c.Intact)
					}
					return
				}
				if got.openErr != "" {
					// OpenFile's error is a string here: open again for the type.
					_, err := capture.OpenFile("-", bytes.NewReader(c.Data))
					end = err
				}
				if !errors.As(end, &d) {
					t.Fatalf("ended with %v (%d frames), want a *capture.DamageError", end, len(got.packets))
				}
				t.Logf("%s (%d frames read)", d, len(got.packets))
				if !strings.Contains(d.Msg, c.Want) || d.Name != "-" {
					t.Errorf("damage %q, want it to say %q", d.Error(), c.Want)
				}
				if c.Frame >= 0 && d.Frame != c.Frame {
					t.Errorf("damage %q names frame %d, want %d", d.Error(), d.Frame, c.Frame)
				}
				// Frames before the damage are all read; the damaged one may
				// be (when only its end is wrong), none after it.
				if n := len(got.packets); n < max(d.Frame-1, c.Intact) || n > max(d.Frame, 0) {
					t.Errorf("%d frames read, damage in frame %d", n, d.Frame)
				}
			})
		}
	}
}
