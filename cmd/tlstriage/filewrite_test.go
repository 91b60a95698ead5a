package main

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// readComments reads a pcapng file: its packets and their comments.
func readComments(t *testing.T, path string) (packets int, comments []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, _, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		packets++
		comments = append(comments, opts.Comments...)
	}
}

// TestWriteFromFiles: -w with -r writes the packets of the failed
// connections (the selected ones with -Y, all with --write-all), each
// commented with its connection's verdict and cause; read again, that
// file gives the same failures.
func TestWriteFromFiles(t *testing.T) {
	capture := pcap("many-connections.pcap")
	dir := t.TempDir()
	failed := dir + "/failed.pcapng"
	r := tlstriage(t, nil, "-r", capture, "-q", "-w", failed)
	if r.code != exitFailed || !strings.Contains(r.stderr, "packets of failed connections to "+failed) {
		t.Fatalf("exit %d, %s", r.code, r.stderr)
	}
	n, comments := readComments(t, failed)
	if n == 0 || len(comments) != n {
		t.Fatalf("%d packets, %d comments", n, len(comments))
	}
	for _, c := range comments {
		if !strings.HasPrefix(c, "tlstriage: connection #") || !strings.Contains(c, ": client_rejected_certificate, cause ") {
			t.Errorf("comment %q", c)
		}
	}
	again := runJSON(t, 1, "-r", failed)
	if len(again) != 9 {
		t.Errorf("the written file holds %d connections, want the 9 failed", len(again))
	}
	for _, o := range again {
		if !boolean(t, o, "failed") {
			t.Errorf("connection %v: %s", o["id"], str(t, o, "verdict"))
		}
	}
	// -Y chooses what is written.
	sel := dir + "/expired.pcapng"
	tlstriage(t, nil, "-r", capture, "-q", "-w", sel, "-Y", `cause == "expired"`)
	if got := runJSON(t, 1, "-r", sel); len(got) != 1 || str(t, got[0], "cause") != "expired" {
		t.Errorf("-Y: %d connections written", len(got))
	}
	// --write-all: every packet, each commented with its connection's
	// verdict, ok ones included.
	all := dir + "/all.pcapng"
	tlstriage(t, nil, "-r", capture, "-q", "-w", all, "--write-all")
	n, comments = readComments(t, all)
	if n != 389 || !strings.Contains(strings.Join(comments, "\n"), ": ok") {
		t.Errorf("--write-all: %d packets, %d comments", n, len(comments))
	}
	// Never over an existing file without --force; never from stdin.
	if r := tlstriage(t, nil, "-r", capture, "-w", failed); r.code != exitUsage || !strings.Contains(r.stderr, "already exists") || r.stdout != "" {
		t.Errorf("existing file: exit %d, %s", r.code, r.stderr)
	}
	if r := tlstriage(t, strings.NewReader(""), "-r", "-", "-w", dir+"/x.pcapng"); r.code != exitUsage || !strings.Contains(r.stderr, "standard input") {
		t.Errorf("stdin: exit %d, %s", r.code, r.stderr)
	}
}
