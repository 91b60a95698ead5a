package main

import (
	"strings"
	"testing"
)

const ansi = "\x1b["

func TestColorFlag(t *testing.T) {
	// TestMain sets NO_COLOR: an explicit --color always still wins.
	args := []string{"-r", pcap("tls12-playbook-fin-rst-after-cert.pcap"), "--truststore", pki("truststore-other.pem")}
	r := tlstriage(t, nil, append(args, "--color", "always")...)
	if !strings.Contains(r.stdout, ansi) {
		t.Errorf("--color always: no ANSI escape in stdout")
	}
	// The colour codes are the only difference with --color never.
	plain := tlstriage(t, nil, append(args, "--color", "never")...)
	if strings.Contains(plain.stdout, "\x1b") {
		t.Errorf("--color never: ANSI escape in stdout")
	}
	if got := stripANSI(r.stdout); got != plain.stdout {
		t.Errorf("--color always without its escapes differs from --color never:\n%s", firstDiff(plain.stdout, got))
	}
	// Colour is for people: never in JSON.
	j := tlstriage(t, nil, append(args, "--color", "always", "--json")...)
	if strings.Contains(j.stdout, "\x1b") {
		t.Errorf("--json --color always: ANSI escape in stdout")
	}
	// auto, with stdout not a terminal: no colour.
	t.Setenv("NO_COLOR", "")
	if r := tlstriage(t, nil, append(args, "--color", "auto")...); strings.Contains(r.stdout, "\x1b") {
		t.Errorf("--color auto to a pipe: ANSI escape in stdout")
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, ansi)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+len(ansi):]
		j := strings.IndexByte(s, 'm')
		if j < 0 {
			return b.String()
		}
		s = s[j+1:]
	}
}
