package main

import (
	"os"

	"golang.org/x/term"
)

// isTTY reports whether f is a terminal (golang.org/x/term: it answers a
// terminal's ioctl; the null device, a character device too, does not).
func isTTY(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// termWidth is the width of the terminal f, or 0 when f is none.
func termWidth(f *os.File) int {
	if !isTTY(f) {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}
