package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tlstriage/tlstriage/capture"
)

// fastProgress redraws the progress line every millisecond for the test,
// so that it is drawn while the files are read, not only at the end.
func fastProgress(t *testing.T) {
	old := progressEvery
	progressEvery = time.Millisecond
	t.Cleanup(func() { progressEvery = old })
}

// playTerminal plays s as a terminal would, for the progress line. It
// returns the text without the line's draws and clears, and the lines
// drawn; it reports a line drawn in the middle of a line of text, text
// written while the line is shown, a clear with no line shown, and a line
// left on the terminal at the end.
func playTerminal(t *testing.T, s string) (text string, bars []string) {
	t.Helper()
	var b strings.Builder
	shown, lineStart := false, true
	for s != "" {
		switch {
		case strings.HasPrefix(s, "\r\033[K"):
			if !shown {
				t.Errorf("progress line cleared when none is shown, after %q", tail(b.String()))
			}
			shown = false
			s = s[len("\r\033[K"):]
		case s[0] == '\r':
			end := strings.Index(s, "\033[K")
			if end < 0 || strings.ContainsAny(s[1:end], "\r\n") {
				t.Fatalf("\\r not followed by a progress line: %q", s[:min(len(s), 100)])
			}
			if !shown && !lineStart {
				t.Errorf("progress line drawn in the middle of a line, after %q", tail(b.String()))
			}
			bars = append(bars, s[1:end])
			shown = true
			s = s[end+len("\033[K"):]
		default:
			if shown {
				t.Errorf("text written over the progress line: %q", s[:min(len(s), 60)])
				shown = false
			}
			i := strings.IndexByte(s, '\r')
			if i < 0 {
				i = len(s)
			}
			b.WriteString(s[:i])
			lineStart = s[i-1] == '\n'
			s = s[i:]
		}
	}
	if shown {
		t.Errorf("progress line left on the terminal")
	}
	return b.String(), bars
}

func tail(s string) string { return s[max(0, len(s)-60):] }

// progressLine is a progress line for a file whose size is known.
var progressLine = regexp.MustCompile(`^\[[#-]{10}\] +(\d+)%  [\d.]+ MB/s  (\d+) conns, (\d+) failed  (.*)$`)

// TestProgressAlways: --progress=always draws the line on stderr whatever
// stderr is, ends with 100% and the counts of the report, and clears it
// before anything else is written there. stdout and the rest of stderr
// are those of --progress=never.
func TestProgressAlways(t *testing.T) {
	fastProgress(t)
	file := pcap("many-connections.pcap") // 20 connections, 9 failed
	for _, tc := range []struct {
		test         string
		args         []string
		conns, fails string
		name         string // in the last line
	}{
		{"json", []string{"-r", file, "--json"}, "20", "9", "many-connections.pcap"},
		{"json-j1", []string{"-r", file, "--json", "-j", "1"}, "20", "9", "many-connections.pcap"},
		{"text", []string{"-r", file, "-v"}, "20", "9", "many-connections.pcap"},
		// An error written while the line is shown; several files.
		{"missing", []string{"-r", file, "-r", "/no/such/file.pcap", "-r", file, "--json"}, "40", "18", "many-connections.pcap (3/3)"},
	} {
		t.Run(tc.test, func(t *testing.T) {
			plain := tlstriage(t, nil, append(tc.args, "--progress", "never")...)
			r := tlstriage(t, nil, append(tc.args, "--progress", "always")...)
			if r.code != plain.code {
				t.Errorf("exit status %d, want %d as with --progress=never", r.code, plain.code)
			}
			if r.stdout != plain.stdout {
				t.Errorf("stdout differs from --progress=never:\n%s", firstDiff(plain.stdout, r.stdout))
			}
			text, bars := playTerminal(t, r.stderr)
			if text != plain.stderr {
				t.Errorf("stderr without the progress line:\n%q\nwant (--progress=never):\n%q", text, plain.stderr)
			}
			if len(bars) == 0 {
				t.Fatalf("no progress line in stderr: %q", r.stderr)
			}
			for _, bar := range bars {
				if !progressLine.MatchString(bar) {
					t.Errorf("progress line %q: not in the expected form", bar)
				}
				if n := utf8.RuneCountInString(bar); n > progressWidth {
					t.Errorf("progress line %q: %d characters, want at most %d", bar, n, progressWidth)
				}
			}
			last := bars[len(bars)-1]
			if m := progressLine.FindStringSubmatch(last); m != nil && (m[1] != "100" || m[2] != tc.conns || m[3] != tc.fails || m[4] != tc.name) {
				t.Errorf("last progress line %q: want 100%%, %s conns, %s failed, %s", last, tc.conns, tc.fails, tc.name)
			}
		})
	}
}

// TestProgressAuto: with --progress=auto (the default) and stderr not a
// terminal, stderr is the same as with --progress=never.
func TestProgressAuto(t *testing.T) {
	fastProgress(t)
	args := []string{"-r", pcap("many-connections.pcap"), "--json"}
	plain := tlstriage(t, nil, append(args, "--progress", "never")...)
	for _, a := range [][]string{args, append(args, "--progress", "auto")} {
		r := tlstriage(t, nil, a...)
		if r.stderr != plain.stderr || r.stdout != plain.stdout {
			t.Errorf("%s: output differs from --progress=never; stderr:\n%q\nwant:\n%q", strings.Join(a, " "), r.stderr, plain.stderr)
		}
	}
	if r := tlstriage(t, nil, append(args, "--progress", "sometimes")...); r.code != exitUsage || !strings.Contains(r.stderr, "--progress takes auto, always or never") {
		t.Errorf("--progress sometimes: exit status %d, stderr %q; want %d and a usage error", r.code, r.stderr, exitUsage)
	}
}

// TestProgressStart: auto shows the line on a terminal (testTerminal),
// unless TERM is dumb; never on a buffer or a plain file.
func TestProgressStart(t *testing.T) {
	dev := testTerminal(t)
	if !isTerminal(dev) {
		t.Skipf("%s is not a terminal here", dev.Name())
	}
	plain, err := os.Create(t.TempDir() + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var buf bytes.Buffer
	for _, tc := range []struct {
		mode   string
		term   string
		stderr io.Writer
		want   bool
	}{
		{"auto", "xterm", dev, true},
		{"auto", "dumb", dev, false},
		{"auto", "xterm", plain, false},
		{"auto", "xterm", &buf, false},
		{"always", "dumb", &buf, true},
		{"never", "xterm", dev, false},
	} {
		t.Setenv("TERM", tc.term)
		p, _, _ := startProgress(tc.mode, 1, &bytes.Buffer{}, tc.stderr)
		if got := p != nil; got != tc.want {
			t.Errorf("--progress=%s, TERM=%s, stderr %T: shown %v, want %v", tc.mode, tc.term, tc.stderr, got, tc.want)
		}
		p.stop()
	}
}

// TestProgressSharedTerminal: with stdout on the same terminal as stderr,
// the report's lines and the progress line take turns: the line is drawn
// only at the start of a line, and the report is whole. Several files, one
// missing, and a report longer than the 64 KiB written at a time.
func TestProgressSharedTerminal(t *testing.T) {
	fastProgress(t)
	file := pcap("many-connections.pcap")
	// Captures of other times (laterCopy): read one after the other.
	args := []string{"-r", file, "-r", laterCopy(t, file, time.Hour), "-r", "/no/such/file.pcap", "-r", laterCopy(t, file, 2*time.Hour), "-v"}
	var plain, term bytes.Buffer
	code := run(t.Context(), append(args, "--progress", "never"), strings.NewReader(""), &plain, &plain)
	if got := run(t.Context(), append(args, "--progress", "always"), strings.NewReader(""), &term, &term); got != code {
		t.Errorf("exit status %d, want %d as with --progress=never", got, code)
	}
	if plain.Len() < 3*64<<10/2 {
		t.Fatalf("report of %d bytes: too short for the test", plain.Len())
	}
	text, bars := playTerminal(t, term.String())
	// Without the progress line, the error may land in the middle of a
	// line of the report; with it, on a line of its own.
	const missing = "tlstriage: error: capture: /no/such/file.pcap: no such file or directory\n"
	if !strings.Contains(text, "\n"+missing) {
		t.Errorf("the error about the missing file is not on a line of its own:\n%s", text)
	}
	if want, got := strings.Replace(plain.String(), missing, "", 1), strings.Replace(text, missing, "", 1); got != want {
		t.Errorf("terminal without the progress line differs from --progress=never:\n%s", firstDiff(want, got))
	}
	seen := map[string]bool{}
	for _, bar := range bars {
		if m := progressLine.FindStringSubmatch(bar); m != nil {
			seen[m[4]] = true
		}
	}
	for _, i := range []int{1, 2, 4} {
		if name := fmt.Sprintf("many-connections.pcap (%d/4)", i); !seen[name] {
			t.Errorf("no progress line for %s; got %q", name, bars)
		}
	}
}

// TestProgressLine: the line for standard input (no size: bytes read, no
// percentage), and a long file name shortened to keep the line within
// progressWidth.
func TestProgressLine(t *testing.T) {
	data := readFile(t, pcap("many-connections.pcap"))
	f, err := capture.OpenFile("-", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := f.ReadPacketData(); err != nil {
			break
		}
	}
	var p progress
	p.conns.Store(1234567)
	p.failed.Store(7)
	p.file = f
	p.name = "stdin"
	want := fmt.Sprintf("%.1f MB read  ", float64(len(data))/1e6)
	if got := p.line(time.Second); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "  1234567 conns, 7 failed  stdin") {
		t.Errorf("standard input: %q, want %q... 1234567 conns, 7 failed  stdin", got, want)
	}

	long := writeTemp(t, strings.Repeat("ÿ", 50)+"-capture.pcap", data)
	f, err = capture.OpenFile(long, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p = progress{files: 12, term: io.Discard}
	p.setFile(10, long, f)
	got := p.line(time.Second)
	if n := utf8.RuneCountInString(got); n != progressWidth {
		t.Errorf("long name: %q: %d characters, want %d", got, n, progressWidth)
	}
	if !strings.HasSuffix(got, "ÿÿÿ-capture.pcap (10/12)") || !strings.Contains(got, "  …ÿ") {
		t.Errorf("long name: %q, want the end of the name and (10/12)", got)
	}
	if !progressLine.MatchString(got) {
		t.Errorf("long name: %q: not in the expected form", got)
	}
}
