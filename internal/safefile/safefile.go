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
	"path/filepath"
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
		if err := checkReplaceable(name); err != nil {
			return nil, err
		}
		// O_NOFOLLOW closes the window between the check and the open.
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC | syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(name, flags, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, existError(name)
	case errors.Is(err, syscall.ELOOP):
		return nil, linkError(name)
	}
	return f, err
}

// Check returns the error Create(name, force) would give because of what
// is at name now (an existing file without force, a symbolic link, not a
// regular file), or nil: it lets a caller refuse at start the files it
// will create later.
func Check(name string, force bool) error {
	if !force {
		if _, err := os.Lstat(name); err == nil {
			return existError(name)
		}
		return nil
	}
	return checkReplaceable(name)
}

// Append opens name for appending, creating it if it does not exist: the
// log file that a rotation (logrotate) may have moved away. A symbolic
// link or a file that is not regular is refused, never followed.
func Append(name string) (*os.File, error) {
	if err := checkReplaceable(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, linkError(name)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s is not a regular file: refusing to write to it", name)
	}
	return f, nil
}

// checkReplaceable refuses a symbolic link or a file that is not regular
// at name; nothing there is fine.
func checkReplaceable(name string) error {
	fi, err := os.Lstat(name)
	switch {
	case err != nil:
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		return linkError(name)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file: refusing to replace it", name)
	}
	return nil
}

// linkError says name is a symbolic link.
func linkError(name string) error {
	return fmt.Errorf("%s is a symbolic link: refusing to write through it (remove it first)", name)
}

// existError says a file exists; it wraps ErrExist.
type existError string

func (e existError) Error() string {
	return string(e) + " already exists (use --force to overwrite it)"
}
func (e existError) Unwrap() error { return ErrExist }

// Replace writes name anew, atomically: write fills a temporary file in
// the same directory, which then takes name's place (a symbolic link at
// name is replaced, never followed), so that a reader (node_exporter's
// textfile collector) never sees half a file. Without force, an existing
// file at name is refused the first time: first says whether this is the
// first time (later calls replace the file the earlier ones wrote).
func Replace(name string, force, first bool, write func(f *os.File) error) error {
	if first && !force {
		if _, err := os.Lstat(name); err == nil {
			return existError(name)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
