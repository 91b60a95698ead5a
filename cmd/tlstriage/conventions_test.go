package main

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestConventions: habits users bring from tcpdump and every other tool.
func TestConventions(t *testing.T) {
	capture := pcap("tls12-ok.pcap")
	t.Run("--version", func(t *testing.T) {
		r := tlstriage(t, nil, "--version")
		if r.code != exitOK || !strings.HasPrefix(r.stdout, "tlstriage ") || !strings.Contains(r.stdout, runtime.Version()) || !strings.Contains(r.stdout, "libpcap: ") || r.stderr != "" {
			t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("-n is accepted", func(t *testing.T) {
		with, without := tlstriage(t, nil, "-n", "-r", capture), tlstriage(t, nil, "-r", capture)
		if with.code != exitOK || with.stdout != without.stdout {
			t.Errorf("-n: exit %d, stderr %q; report differs: %v", with.code, with.stderr, with.stdout != without.stdout)
		}
	})
	t.Run("a capture where the filter goes", func(t *testing.T) {
		r := tlstriage(t, nil, capture)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "did you mean -r "+capture+"?") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("plurals", func(t *testing.T) {
		r := tlstriage(t, nil, "-r", capture)
		for _, want := range []string{"1 TLS connection: ok 1", "1 TCP connection, 1 with TLS"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("report lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "1 connections") || strings.Contains(r.stderr, "1 TLS connections") {
			t.Errorf("a singular in the plural:\n%s\n%s", r.stdout, r.stderr)
		}
	})
}

// TestCountFiles: -c N with -r stops after N connections reported, with
// the same N first connections as a full run, and the summary counts them.
func TestCountFiles(t *testing.T) {
	for _, jobs := range []string{"1", "2"} {
		full := runJSON(t, 1, "-r", pcap("many-connections.pcap"), "-j", jobs)
		got := runJSON(t, 0, "-r", pcap("many-connections.pcap"), "-c", "3", "-j", jobs)
		if len(got) != 3 {
			t.Fatalf("-j %s -c 3: %d connections", jobs, len(got))
		}
		for i := range got {
			if num(t, got[i], "id") != num(t, full[i], "id") {
				t.Errorf("-j %s: connection %d is #%v, want #%v", jobs, i, got[i]["id"], full[i]["id"])
			}
		}
	}
	if r := tlstriage(t, nil, "-r", pcap("many-connections.pcap"), "-c", "-1"); r.code != exitUsage || !strings.Contains(r.stderr, "-c takes a positive number") {
		t.Errorf("-c -1: exit %d, %s", r.code, r.stderr)
	}
}

// TestUnreadableInput: a missing file, a directory or a text file prints
// its error on stderr and nothing on stdout, in text and JSON.
func TestUnreadableInput(t *testing.T) {
	dir := t.TempDir()
	text := writeTemp(t, "notes.txt", []byte("not a capture\n"))
	for _, path := range []string{dir + "/missing.pcap", dir, text} {
		for _, extra := range [][]string{nil, {"--json", "--summary"}} {
			r := tlstriage(t, nil, append([]string{"-r", path}, extra...)...)
			if r.code != exitUsage || r.stdout != "" || !strings.HasPrefix(r.stderr, "tlstriage: error: ") {
				t.Errorf("-r %s %v: exit %d\nstdout %q\nstderr %q", path, extra, r.code, r.stdout, r.stderr)
			}
		}
	}
}

// TestFailuresFirst: by default the text report shows the failed
// connections in full and counts the ones that completed by server; -v
// shows every connection, -q the summary only.
func TestFailuresFirst(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		shown int
	}{
		{nil, 9},
		{[]string{"-v"}, 20},
		{[]string{"-q"}, 0},
		{[]string{"-j", "2"}, 9},
	} {
		r := tlstriage(t, nil, append([]string{"-r", pcap("many-connections.pcap")}, tc.args...)...)
		if n := strings.Count(r.stdout, "\nConnection ") + map[bool]int{true: 1}[strings.HasPrefix(r.stdout, "Connection ")]; n != tc.shown || r.code != exitFailed {
			t.Errorf("%v: %d connections shown, exit %d; want %d, %d", tc.args, n, r.code, tc.shown, exitFailed)
		}
		if !strings.Contains(r.stdout, "10.0.0.2:443 (backend.example.test)      11 connections, 0 failed: ok 11") {
			t.Errorf("%v: no count line for the server whose connections completed:\n%s", tc.args, r.stdout)
		}
	}
}

// TestSelect: -Y selects the connections reported (text, JSON, the
// summary and the exit status follow the selection); a bad expression is
// a usage error naming the problem.
func TestSelect(t *testing.T) {
	capture := pcap("many-connections.pcap")
	for _, jobs := range []string{"1", "2"} {
		got := runJSON(t, 1, "-r", capture, "-j", jobs, "-Y", `cause == "truststore_missing_root"`)
		if len(got) != 6 {
			t.Fatalf("-j %s: %d connections selected, want 6", jobs, len(got))
		}
		for _, o := range got {
			if str(t, o, "cause") != "truststore_missing_root" {
				t.Errorf("selected %v", o["cause"])
			}
		}
	}
	if got := runJSON(t, 0, "-r", capture, "-Y", "!failed"); len(got) != 11 {
		t.Errorf("!failed: %d connections, want 11 (exit 0: none failed)", len(got))
	}
	r := tlstriage(t, nil, "-r", capture, "-q", "-Y", `sni == "backend.example.test" && server_port == 8443`)
	if !strings.Contains(r.stdout, "selected by sni == \"backend.example.test\" && server_port == 8443: 2 of 20 connections") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	r = tlstriage(t, nil, "-r", capture, "-Y", `snii == "x"`)
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "unknown name snii") {
		t.Errorf("bad expression: exit %d\n%s", r.code, r.stderr)
	}
}

// TestJSONFile: --json-file writes the JSON report with its summary while
// the text report goes to standard output; an existing file is kept
// unless --force, and a symbolic link is never written through.
func TestJSONFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/report.json"
	r := tlstriage(t, nil, "-r", pcap("many-connections.pcap"), "--json-file", path, "-j", "2")
	b, err := os.ReadFile(path)
	if err != nil || r.code != exitFailed || !strings.Contains(r.stdout, "Summary") {
		t.Fatalf("exit %d, %v\n%s", r.code, err, r.stderr)
	}
	objs := ndjson(t, string(b))
	if len(objs) != 21 || objs[20]["type"] != "summary" {
		t.Errorf("%d objects in the file, last %v; want 20 connections and the summary", len(objs), objs[len(objs)-1]["type"])
	}
	if r := tlstriage(t, nil, "-r", pcap("tls12-ok.pcap"), "--json-file", path); r.code != exitUsage || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("existing file: exit %d, %s", r.code, r.stderr)
	}
	victim := writeTemp(t, "victim", []byte("keep me"))
	link := dir + "/link.json"
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if r := tlstriage(t, nil, "-r", pcap("tls12-ok.pcap"), "--json-file", link, "--force"); r.code != exitUsage || !strings.Contains(r.stderr, "symbolic link") {
		t.Errorf("symbolic link: exit %d, %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("written through the link: %q", b)
	}
}

// TestHelpGroups: --help groups the options, names their values (no pflag
// "string" or "[=true|false]"), shows the filter words and an example of
// each mode, and wraps its lines.
func TestHelpGroups(t *testing.T) {
	r := tlstriage(t, nil, "--help")
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"Input:\n", "Selection:\n", "Output:\n", "Trust and the client:\n", "Live capture:\n", "  -Y, --select EXPR\n", "      --color WHEN\n", "portrange", "tlstriage probe https://", "tlstriage -i any"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, bad := range []string{"[=true|false]", " string\n", "More:"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("--help has %q", bad)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if len(line) > 100 {
			t.Errorf("line longer than 100 columns: %q", line)
		}
	}
}

// TestInterruptFiles: an interrupt while reading files ends as it does in
// live capture: the report of what was read, the warning, and the exit
// status of the verdicts (not "damaged").
func TestInterruptFiles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-r", pcap("many-connections.pcap"), "-q", "-j", "1"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK && code != exitFailed || !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stdout.String(), "Summary") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout.String(), stderr.String())
	}
}
