package main

import (
	"os"
	"testing"
)

// testTerminal is a terminal for the tests: a pseudo-terminal.
func testTerminal(t *testing.T) *os.File {
	_, tty := openPTY(t)
	return tty
}

// TestNullIsNoTerminal: 2>/dev/null (a character device) draws no progress
// line and >/dev/null gets no colour.
func TestNullIsNoTerminal(t *testing.T) {
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer dev.Close()
	if isTerminal(dev) {
		t.Errorf("%s taken for a terminal", os.DevNull)
	}
	if tty := testTerminal(t); !isTerminal(tty) {
		t.Errorf("pseudo-terminal %s not taken for a terminal", tty.Name())
	}
}
