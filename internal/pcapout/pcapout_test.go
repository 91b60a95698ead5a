package pcapout

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/internal/rotate"
)

var eth = pcapgo.NgInterface{Name: "lo", LinkType: layers.LinkTypeEthernet, SnapLength: 65535, TimestampResolution: 9}

// readBack reads every packet of a pcapng file with its comment.
func readBack(t *testing.T, name string) (pkts []string, lts []layers.LinkType) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return pkts, lts
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		intf, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		lts = append(lts, intf.LinkType)
		pkts = append(pkts, fmt.Sprintf("%s|%s", data, strings.Join(opts.Comments, ";")))
	}
}

func ci(sec int, n int) gopacket.CaptureInfo {
	ts := time.Date(2026, 3, 1, 10, 0, sec, 0, time.UTC)
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: n, Length: n}
}

// TestHoldDone: the packets of a connection wait for its verdict, and are
// written with its comment when it is to be written, in the order held;
// the others are forgotten.
func TestHoldDone(t *testing.T) {
	name := filepath.Join(t.TempDir(), "failed.pcapng")
	w, err := Create(Options{Name: name, Interface: eth})
	if err != nil {
		t.Fatal(err)
	}
	w.Hold(1, []byte("a1"), ci(1, 2))
	w.Hold(2, []byte("b1"), ci(2, 2))
	w.Hold(1, []byte("a2"), ci(3, 2))
	w.Hold(0, []byte("none"), ci(4, 4)) // of no connection: not kept
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(name); st.Size() > 200 {
		t.Errorf("packets written before any verdict: %d bytes", st.Size())
	}
	if !w.Done(2, false, "", layers.LinkTypeEthernet) || !w.Done(1, true, Comment(1, "10.0.0.1:5", "10.0.0.2:443", "client_rejected_certificate", "expired"), layers.LinkTypeEthernet) {
		t.Fatal("Done reported the packets lost")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readBack(t, name)
	c := "tlstriage: connection #1 10.0.0.1:5 -> 10.0.0.2:443: client_rejected_certificate, cause expired"
	if want := []string{"a1|" + c, "a2|" + c}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if w.Stats().Packets != 2 {
		t.Errorf("Stats().Packets = %d, want 2", w.Stats().Packets)
	}
}

// TestBounds: a connection whose packets outgrow MaxConnPackets is
// counted, and Done says its packets are not written.
func TestBounds(t *testing.T) {
	w, err := Create(Options{Name: filepath.Join(t.TempDir(), "f.pcapng"), Interface: eth})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i <= MaxConnPackets; i++ {
		w.Hold(7, []byte{1}, ci(1, 1))
	}
	if w.Done(7, true, "x", layers.LinkTypeEthernet) {
		t.Error("Done says the packets of an evicted connection were written")
	}
	if s := w.Stats(); s.Evicted != 1 || s.EvictedFailed != 1 || s.Packets != 0 {
		t.Errorf("stats %+v, want 1 evicted, 1 of them failed, 0 packets", s)
	}
}

// TestRotation: with -C and -W the packets go to a ring of files, each a
// pcapng with every interface (a second link type added on the way), every
// packet once across the files kept.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "ring.pcapng")
	var opened []string
	w, err := Create(Options{Name: name, Interface: eth, Rotate: rotate.Options{FileSize: 3000, FileCount: 3},
		Opened: func(n string) { opened = append(opened, filepath.Base(n)) }})
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 500)
	var wrote []string
	for i := range 20 {
		lt := layers.LinkTypeEthernet
		if i%2 == 1 {
			lt = layers.LinkTypeLinuxSLL2
		}
		data := append(fmt.Appendf(nil, "%02d", i), payload...)
		w.Write(data, ci(i, len(data)), lt, fmt.Sprint("c", i))
		wrote = append(wrote, fmt.Sprintf("%s|c%d", data, i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(opened) < 4 || opened[0] != "ring.pcapng0" {
		t.Fatalf("opened %v: want a ring of ring.pcapng0..2 coming round", opened)
	}
	seen := map[string]bool{}
	for _, f := range []string{"ring.pcapng0", "ring.pcapng1", "ring.pcapng2"} {
		pkts, lts := readBack(t, filepath.Join(dir, f))
		for i, p := range pkts {
			if seen[p] {
				t.Errorf("%s: packet %.2s written twice", f, p)
			}
			seen[p] = true
			n := int(p[0]-'0')*10 + int(p[1]-'0')
			if want := map[bool]layers.LinkType{false: layers.LinkTypeEthernet, true: layers.LinkTypeLinuxSLL2}[n%2 == 1]; lts[i] != want {
				t.Errorf("%s: packet %d on a %v interface, want %v", f, n, lts[i], want)
			}
		}
	}
	// The last packets are all there: the ring keeps the newest.
	if !seen[wrote[len(wrote)-1]] || !seen[wrote[len(wrote)-2]] {
		t.Error("the newest packets are not in the ring")
	}
	if _, err := os.Stat(filepath.Join(dir, "ring.pcapng3")); err == nil {
		t.Error("a fourth file was made: the ring has three")
	}
}

// TestNoOverwrite: -w never replaces an existing file unless --force, and
// never writes through a symbolic link.
func TestNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "failed.pcapng")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(Options{Name: existing, Interface: eth}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("without force: %v, want an error saying the file exists", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the file was changed without force: %q", b)
	}
	link, target := filepath.Join(dir, "link.pcapng"), filepath.Join(dir, "target.pcapng")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		if _, err := Create(Options{Name: link, Interface: eth, Force: force}); err == nil {
			t.Errorf("force %v: a dangling symbolic link was written through", force)
		}
		if _, err := os.Lstat(target); err == nil {
			t.Errorf("force %v: the symbolic link's target was created", force)
		}
	}
	w, err := Create(Options{Name: existing, Interface: eth, Force: true})
	if err != nil {
		t.Fatalf("with force: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(existing); !bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Errorf("with force the file is not a fresh pcapng: % x", b[:min(8, len(b))])
	}
}

// TestWhere: the closing line names the file, the files, or the ring.
func TestWhere(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		rot  rotate.Options
		n    int
		want string
	}{
		{rotate.Options{}, 3, "one.pcapng"},
		{rotate.Options{FileSize: 1000}, 3, "3 files, "},
		{rotate.Options{FileSize: 1000, FileCount: 2}, 5, "a ring of 2 files ("},
	} {
		name := filepath.Join(dir, fmt.Sprint("one.pcapng", tc.rot.FileSize, tc.rot.FileCount))
		if tc.rot.FileSize == 0 {
			name = filepath.Join(dir, "one.pcapng")
		}
		w, err := Create(Options{Name: name, Interface: eth, Rotate: tc.rot})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.n {
			w.Write(bytes.Repeat([]byte{1}, 1200), ci(i, 1200), layers.LinkTypeEthernet, "")
		}
		w.Close()
		if got := w.Where(); !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q in it", tc.rot, got, tc.want)
		}
	}
}
