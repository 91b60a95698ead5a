package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// readFrames reads every frame of a capture.
func readFrames(t *testing.T, path string) []pcaptest.Packet {
	t.Helper()
	f, err := capture.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pkts []pcaptest.Packet
	for {
		data, ci, err := f.ReadPacketData()
		if err != nil {
			return pkts
		}
		pkts = append(pkts, pcaptest.Packet{Data: bytes.Clone(data), CI: ci})
	}
}

// writeFrames writes an Ethernet capture of pkts named name in dir.
func writeFrames(t *testing.T, dir, name string, pkts []pcaptest.Packet) string {
	t.Helper()
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// splitCapture writes the frames of a capture into two files, as tcpdump
// -C rotates: the first n frames, then the rest.
func splitCapture(t *testing.T, path string, n int) (first, second string) {
	t.Helper()
	pkts := readFrames(t, path)
	dir := t.TempDir()
	return writeFrames(t, dir, "rot.pcap0", pkts[:n]), writeFrames(t, dir, "rot.pcap1", pkts[n:])
}

// laterCopy writes a copy of the capture at path, of the same base name,
// taken d later: given with the original (or another capture of the
// same time) it is a capture of its own, not merged with it.
func laterCopy(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	pkts := readFrames(t, path)
	for i := range pkts {
		pkts[i].CI.Timestamp = pkts[i].CI.Timestamp.Add(d)
	}
	return writeFrames(t, t.TempDir(), filepath.Base(path), pkts)
}

// TestRotatedCapture: the playbook's handshake cut by a rotation between
// the server's Certificate and the client's hang-up, given as two -r
// files, is one connection judged as the whole capture judges it, its
// timeline naming the file of the frames in the second; frame numbers
// restart in it. Files that overlap in time stay apart.
func TestRotatedCapture(t *testing.T) {
	whole := runJSON(t, 1, "-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"))
	a, b := splitCapture(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), 8)
	for _, jobs := range []string{"1", "2"} {
		got := runJSON(t, 1, "-r", a, "-r", b, "-j", jobs)
		if len(got) != 1 {
			t.Fatalf("-j %s: %d connections, want 1", jobs, len(got))
		}
		o := got[0]
		if str(t, o, "verdict") != str(t, whole[0], "verdict") || str(t, o, "cause") != str(t, whole[0], "cause") || str(t, o, "file") != a {
			t.Errorf("-j %s: %s/%s in %s, want %s/%s in %s", jobs, str(t, o, "verdict"), str(t, o, "cause"), str(t, o, "file"), str(t, whole[0], "verdict"), str(t, whole[0], "cause"), a)
		}
		var inB int
		for _, e := range array(t, o, "timeline") {
			ev := e
			if f, _ := ev["file"].(string); f == b {
				inB++
				if fr := num(t, ev, "frame"); fr > 4 {
					t.Errorf("frame %v in the second file: frame numbers do not restart", fr)
				}
			}
		}
		if inB == 0 {
			t.Errorf("-j %s: no timeline event names %s", jobs, b)
		}
	}
	r := tlstriage(t, nil, "-r", a, "-r", b)
	if !strings.Contains(r.stdout, "(frame in "+b+")") {
		t.Errorf("text timeline does not name the second file:\n%s", r.stdout)
	}
	// A file that begins long after the one before ends is a capture of
	// its own.
	later := laterCopy(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), time.Hour)
	if got := runJSON(t, 1, "-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "-r", later); len(got) != 2 {
		t.Errorf("files an hour apart: %d connections, want 2", len(got))
	}
}

// TestRotatedInputs: a directory or a quoted glob gives its files in the
// order tcpdump wrote them (f.pcap2 before f.pcap10), read as one capture.
func TestRotatedInputs(t *testing.T) {
	names := []string{"f.pcap10", "f.pcap", "f.pcap2", "f.pcap1"}
	slices.SortFunc(names, naturalCompare)
	if want := []string{"f.pcap", "f.pcap1", "f.pcap2", "f.pcap10"}; !slices.Equal(names, want) {
		t.Errorf("natural order %v, want %v", names, want)
	}
	a, _ := splitCapture(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), 8)
	dir := filepath.Dir(a)
	for _, arg := range []string{dir, filepath.Join(dir, "rot.pcap*")} {
		if got := runJSON(t, 1, "-r", arg); len(got) != 1 || str(t, got[0], "verdict") != "client_rejected_certificate" {
			t.Errorf("-r %s: %d connections", arg, len(got))
		}
	}
	if r := tlstriage(t, nil, "-r", filepath.Join(dir, "nothing*")); r.code != exitUsage || !strings.Contains(r.stderr, "no file matches") {
		t.Errorf("empty glob: exit %d, %s", r.code, r.stderr)
	}
}

// TestAllIncomplete: a capture in which every connection is incomplete
// does not exit 0 as if every handshake had completed: exit status 4.
func TestAllIncomplete(t *testing.T) {
	a, b := splitCapture(t, pcap("tls12-playbook-fin-rst-after-cert.pcap"), 4)
	if got := runJSON(t, exitUnjudged, "-r", a); len(got) != 1 || str(t, got[0], "verdict") != "incomplete" {
		t.Errorf("%d connections", len(got))
	}
	// With the rest of the capture, the handshake is judged again.
	runJSON(t, exitFailed, "-r", a, "-r", b)
}

// TestMergedCapture: files captured at the same time (here the
// connections of a capture split between two files, alternately) are
// merged frame by frame in time order, as mergecap merges them: the same
// connections, verdicts and IDs as the whole capture, each with the
// frame numbers of its own file and naming it; the same with -j 2; and
// -w writes the same failed packets.
func TestMergedCapture(t *testing.T) {
	whole := pcap("many-connections.pcap")
	pkts := readFrames(t, whole)
	dir := t.TempDir()
	// Frames go to the file of their connection: by the TCP ports, every
	// other connection to each file.
	type place struct {
		file  string
		frame int
	}
	var parts [2][]pcaptest.Packet
	where := make([]place, len(pkts)+1) // by frame number in the whole
	conns := map[uint32]int{}
	names := [2]string{filepath.Join(dir, "eth0.pcap"), filepath.Join(dir, "eth1.pcap")}
	for i, p := range pkts {
		pkt := gopacket.NewPacket(p.Data, layers.LinkTypeEthernet, gopacket.NoCopy)
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("frame %d is not TCP", i+1)
		}
		key := uint32(tcp.SrcPort) * uint32(tcp.DstPort)
		if _, ok := conns[key]; !ok {
			conns[key] = len(conns) % 2
		}
		part := conns[key]
		parts[part] = append(parts[part], p)
		where[i+1] = place{names[part], len(parts[part])}
	}
	if len(conns) < 4 {
		t.Fatalf("%d connections: too few for the test", len(conns))
	}
	for i, name := range names {
		writeFrames(t, dir, filepath.Base(name), parts[i])
	}
	want := runJSON(t, exitFailed, "-r", whole)
	for _, jobs := range []string{"1", "2"} {
		got := runJSON(t, exitFailed, "-r", names[0], "-r", names[1], "-j", jobs)
		if len(got) != len(want) {
			t.Fatalf("-j %s: %d connections, want %d as in the whole capture", jobs, len(got), len(want))
		}
		for i := range want {
			for _, k := range []string{"client", "verdict", "cause"} {
				if str(t, got[i], k) != str(t, want[i], k) {
					t.Errorf("-j %s: connection %d: %s %q, want %q", jobs, i+1, k, str(t, got[i], k), str(t, want[i], k))
				}
			}
			if num(t, got[i], "id") != num(t, want[i], "id") {
				t.Errorf("-j %s: connection %d: id %d, want %d", jobs, i+1, num(t, got[i], "id"), num(t, want[i], "id"))
			}
			at := where[num(t, object(t, want[i], "frames"), "syn")]
			if f := str(t, got[i], "file"); f != at.file {
				t.Errorf("-j %s: connection %d: file %s, want %s", jobs, i+1, f, at.file)
			}
			if fr := num(t, object(t, got[i], "frames"), "syn"); fr != at.frame {
				t.Errorf("-j %s: connection %d: SYN at frame %d, want %d (its number in %s)", jobs, i+1, fr, at.frame, at.file)
			}
		}
	}
	// -w: the packets of the failed connections, from both files.
	wWhole, wMerged := filepath.Join(dir, "whole.pcapng"), filepath.Join(dir, "merged.pcapng")
	tlstriage(t, nil, "-r", whole, "-w", wWhole)
	tlstriage(t, nil, "-r", names[0], "-r", names[1], "-w", wMerged)
	a, b := readFrames(t, wWhole), readFrames(t, wMerged)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("-w wrote %d packets from the merged files, %d from the whole capture", len(b), len(a))
	}
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) || !a[i].CI.Timestamp.Equal(b[i].CI.Timestamp) {
			t.Fatalf("-w packet %d differs between the merged files and the whole capture", i+1)
		}
	}
}
