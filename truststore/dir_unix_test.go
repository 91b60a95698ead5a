//go:build unix

package truststore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// unreadable returns a path in dir that exists and cannot be read, with the
// error EACCES: a file with mode 0 when not running as root, else (root
// reads any file) a symbolic link to a write-only sysfs attribute, which
// the kernel refuses to open for reading even to root.
func unreadable(t *testing.T, dir, name string) string {
	t.Helper()
	p := writeFile(t, dir, name, []byte("x"))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(p); errors.Is(err, fs.ErrPermission) {
		return p
	}
	os.Remove(p)
	targets, _ := filepath.Glob("/sys/bus/*/uevent")
	for _, target := range targets {
		if _, err := os.ReadFile(target); errors.Is(err, syscall.EACCES) {
			symlink(t, target, p)
			return p
		}
	}
	t.Skip("no file here refuses to be read (root without a write-only sysfs attribute)")
	return ""
}

// TestLoadDirectoryUnreadable: a file of a directory that cannot be read is
// an error naming it, as the file given by name is.
func TestLoadDirectoryUnreadable(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the file that cannot be read
		is    error
		msg   string
	}{
		{"permission denied", func(t *testing.T, dir string) string { return unreadable(t, dir, "key.pem") },
			fs.ErrPermission, "permission denied"},
		{"dangling symlink", func(t *testing.T, dir string) string {
			symlink(t, "gone.pem", filepath.Join(dir, "5ed36f99.0"))
			return filepath.Join(dir, "5ed36f99.0")
		}, fs.ErrNotExist, "no such file (symbolic link to gone.pem, which does not exist)"},
		{"named pipe", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "pipe.pem")
			if err := syscall.Mkfifo(f, 0o644); err != nil {
				t.Skip(err)
			}
			return f
		}, fs.ErrInvalid, "not a regular file (named pipe)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "root.pem", pemOf(t, p.root))
			bad := tt.setup(t, dir)
			s, err := Load([]string{dir}, "")
			if err == nil {
				t.Fatalf("Load succeeded: %s", s.Name)
			}
			var te *Error
			if !errors.As(err, &te) || te.Path != bad {
				t.Errorf("error %v names %q, want %q", err, te.Path, bad)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if want := "truststore: " + bad + ": " + tt.msg; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if tt.is == fs.ErrInvalid {
				return // a named pipe given by name is read (bash's <(...))
			}
			_, direct := Load([]string{bad}, "")
			if direct == nil || direct.Error() != err.Error() {
				t.Errorf("given by name: %v\nin a directory: %v", direct, err)
			}
		})
	}
}
