package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal, or skips the test.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// runOnTerminal runs the command with stdout on a pseudo-terminal and
// returns what the terminal received.
func runOnTerminal(t *testing.T, args ...string) (int, string) {
	t.Helper()
	master, tty := openPTY(t)
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once the terminal side is closed
		close(done)
	}()
	var stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), tty, &stderr)
	tty.Close()
	<-done
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return code, out.String()
}

// TestColorAuto: --color auto (the default) colours a terminal, unless
// NO_COLOR is set.
func TestColorAuto(t *testing.T) {
	args := []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--truststore", pki("truststore-other.pem")}

	t.Setenv("NO_COLOR", "")
	code, out := runOnTerminal(t, args...)
	if code != exitFailed {
		t.Errorf("exit status %d, want %d", code, exitFailed)
	}
	if !strings.Contains(out, "Summary") {
		t.Fatalf("the terminal did not receive the report: %q", out)
	}
	if !strings.Contains(out, ansi) {
		t.Errorf("--color auto on a terminal: no ANSI escape")
	}

	t.Setenv("NO_COLOR", "1")
	_, out = runOnTerminal(t, args...)
	if !strings.Contains(out, "Summary") {
		t.Fatalf("the terminal did not receive the report: %q", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("NO_COLOR=1 with --color auto on a terminal: ANSI escape in the output")
	}

	_, out = runOnTerminal(t, append(args, "--color", "always")...)
	if !strings.Contains(out, ansi) {
		t.Errorf("NO_COLOR=1 with --color always: no ANSI escape")
	}
}
