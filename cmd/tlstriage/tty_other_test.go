//go:build !linux

package main

import (
	"os"
	"testing"
)

// testTerminal is a terminal for the tests: the null device stands in for
// one (a character device).
func testTerminal(t *testing.T) *os.File {
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}
