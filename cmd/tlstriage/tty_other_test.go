//go:build !linux

package main

import (
	"os"
	"testing"
)

// testTerminal is a terminal for the tests: there is no pseudo-terminal
// helper here, so the tests that need one are skipped.
func testTerminal(t *testing.T) *os.File {
	t.Skip("no pseudo-terminal for the tests on this system")
	return nil
}
