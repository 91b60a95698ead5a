package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// splitCapture writes the frames of a capture into two files, as tcpdump
// -C rotates: the first n frames, then the rest.
func splitCapture(t *testing.T, path string, n int) (first, second string) {
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
			break
		}
		pkts = append(pkts, pcaptest.Packet{Data: bytes.Clone(data), CI: ci})
	}
	dir := t.TempDir()
	write := func(name string, pkts []pcaptest.Packet) string {
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
	return write("rot.pcap0", pkts[:n]), write("rot.pcap1", pkts[n:])
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
	// The same file twice overlaps itself in time: two captures.
	if got := runJSON(t, 1, "-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "-r", pcap("tls12-playbook-fin-rst-after-cert.pcap")); len(got) != 2 {
		t.Errorf("overlapping files: %d connections, want 2", len(got))
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
