// Package safefile creates the files tlstriage writes (-w, --json-file,
// --export-certs) without replacing a file unless asked, and never through
// a symbolic link: a link planted where a root run writes could otherwise
// make it overwrite any file.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrExist is the error of Create for a file that exists and force unset.
var ErrExist = fs.ErrExist

// Create creates name for writing. Without force an existing file is an
// error (wrapping ErrExist); with force it is truncated, unless it is a
// symbolic link or not a regular file: those are refused, never followed.
func Create(name string, force bool) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL // O_EXCL also refuses a symbolic link
	if force {
		if fi, err := os.Lstat(name); err == nil {
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				return nil, fmt.Errorf("%s is a symbolic link: refusing to write through it (remove it first)", name)
			case !fi.Mode().IsRegular():
				return nil, fmt.Errorf("%s is not a regular file: refusing to replace it", name)
			}
		}
		// O_NOFOLLOW closes the window between the check and the open.
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC | syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(name, flags, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, existError(name)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s is a symbolic link: refusing to write through it (remove it first)", name)
	}
	return f, err
}

// existError says a file exists; it wraps ErrExist.
type existError string

func (e existError) Error() string {
	return string(e) + " already exists (use --force to overwrite it)"
}
func (e existError) Unwrap() error { return ErrExist }
