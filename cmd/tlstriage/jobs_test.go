package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/bigcap"
)

// TestJobsSameOutput checks that -j N writes the very bytes -j 1 writes,
// with the same exit status: text and JSON reports of every committed
// capture, several files in one run, the summary, --all, a filter, and a
// generated capture of many interleaved connections.
func TestJobsSameOutput(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if err != nil || len(paths) == 0 {
		t.Fatal("no captures", err)
	}
	var runs [][]string
	var all []string
	for _, p := range paths {
		runs = append(runs, []string{"-r", p, "--json"}, []string{"-r", p, "--color", "never", "-v"})
		all = append(all, "-r", p)
	}
	runs = append(runs,
		append(append([]string{}, all...), "--json", "--summary", "--all"),
		append(append([]string{}, all...), "--color", "never", "--brief"),
		append(append([]string{}, all...), "--json", "--truststore", pki("truststore-root.pem"), "port", "443"),
	)
	ts, err := bigcap.NewTemplates(bigcap.Handshake, 0)
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(gen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Write(f, bigcap.Options{Sessions: 2000, Span: 20 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	runs = append(runs, []string{"-r", gen, "--json", "--summary"}, []string{"-r", gen, "-r", gen, "--color", "never"},
		[]string{"-r", gen, "--color", "always"}, []string{"-r", gen, "--color", "always", "--brief"})
	for _, args := range runs {
		want := tlstriage(t, nil, append(args, "-j", "1")...)
		for _, j := range []string{"2", "3", "8"} {
			got := tlstriage(t, nil, append(args, "-j", j)...)
			if got.code != want.code || got.stdout != want.stdout || got.stderr != want.stderr {
				t.Fatalf("tlstriage %s -j %s differs from -j 1:\nexit %d, want %d\n%s", strings.Join(args, " "), j, got.code, want.code,
					firstDiff(want.stdout+"\n-- stderr --\n"+want.stderr, got.stdout+"\n-- stderr --\n"+got.stderr))
			}
		}
	}
}

// TestJobsJSONFile: with --json-file beside the text report, the records
// made on workers (-j) are the very bytes -j 1 writes, in both outputs.
func TestJobsJSONFile(t *testing.T) {
	dir := t.TempDir()
	var text [2]string
	var file [2][]byte
	later := laterCopy(t, pcap("tls12-ok.pcap"), time.Hour)
	for i, j := range []string{"1", "2"} {
		name := filepath.Join(dir, "j"+j+".json")
		r := tlstriage(t, nil, "-r", pcap("many-connections.pcap"), "-r", later, "--json-file", name, "--color", "never", "-j", j)
		if r.code != exitFailed {
			t.Fatalf("-j %s: exit %d; stderr:\n%s", j, r.code, r.stderr)
		}
		text[i], file[i] = r.stdout, readFile(t, name)
	}
	if text[0] != text[1] {
		t.Errorf("-j 2 text differs:\n%s", firstDiff(text[0], text[1]))
	}
	if string(file[0]) != string(file[1]) || len(file[0]) == 0 {
		t.Errorf("-j 2 --json-file differs:\n%s", firstDiff(string(file[0]), string(file[1])))
	}
}
