package rotate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tlstriage/tlstriage/internal/safefile"
)

// lines returns the lines of file name; it fails the test on a last line
// without its newline (a record cut).
func lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s ends in a cut record: %q", filepath.Base(name), b[max(0, len(b)-40):])
	}
	return strings.Split(string(b[:len(b)-1]), "\n")
}

// TestLogReopen: a log moved away as logrotate does is created anew by
// Reopen, and no record is lost or cut.
func TestLogReopen(t *testing.T) {
	for _, bufSize := range []int{0, 64, 4096} {
		t.Run(fmt.Sprint("buffer ", bufSize), func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "tlstriage.json")
			l, err := OpenLog(name, false, bufSize)
			if err != nil {
				t.Fatal(err)
			}
			var want1, want2 []string
			for i := range 20 {
				rec := fmt.Sprintf(`{"id":%d,"pad":%q}`, i, strings.Repeat("x", i*3))
				want1 = append(want1, rec)
				if _, err := l.Write([]byte(rec + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Rename(name, name+".1"); err != nil {
				t.Fatal(err)
			}
			if err := l.Reopen(); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				rec := fmt.Sprintf(`{"id":%d}`, 100+i)
				want2 = append(want2, rec)
				if _, err := l.Write([]byte(rec + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := lines(t, name+".1"); !slices.Equal(got, want1) {
				t.Errorf("the moved file holds %q, want %q", got, want1)
			}
			if got := lines(t, name); !slices.Equal(got, want2) {
				t.Errorf("the new file holds %q, want %q", got, want2)
			}
			if _, err := l.Write([]byte("late\n")); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("Write after Close: %v", err)
			}
		})
	}
}

// TestLogReopenInPlace: a Reopen with nothing moved appends to the file
// (and to the one logrotate's create directive made).
func TestLogReopenInPlace(t *testing.T) {
	name := filepath.Join(t.TempDir(), "log")
	l, err := OpenLog(name, false, 1024)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("a\n"))
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("b\n"))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, name); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("holds %q", got)
	}
	// logrotate: rename, then create an empty file.
	os.Rename(name, name+".1")
	os.WriteFile(name, nil, 0o600)
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("c\n"))
	l.Close()
	if got := lines(t, name); !slices.Equal(got, []string{"c"}) {
		t.Errorf("holds %q", got)
	}
}

func TestLogExisting(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "log")
	if err := os.WriteFile(name, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLog(name, false, 0); !errors.Is(err, safefile.ErrExist) {
		t.Fatalf("existing log without force: %v", err)
	}
	l, err := OpenLog(name, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("new\n"))
	l.Close()
	if got := lines(t, name); !slices.Equal(got, []string{"new"}) {
		t.Errorf("with force the log holds %q", got)
	}
}

// TestLogSymlink: a link at the name is refused at the first opening and
// at Reopen, with and without force; writing resumes once it is gone.
func TestLogSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "log")
	if err := os.Symlink(victim, name); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		if _, err := OpenLog(name, force, 0); err == nil {
			t.Errorf("force %v: a link was opened", force)
		}
	}
	os.Remove(name)
	l, err := OpenLog(name, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("one\n"))
	os.Rename(name, name+".1")
	if err := os.Symlink(victim, name); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Reopen on a link: %v", err)
	}
	if _, err := l.Write([]byte("lost\n")); err == nil {
		t.Error("Write after a failed Reopen succeeded")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Fatalf("the link's target was written: %q", b)
	}
	os.Remove(name)
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("two\n"))
	l.Close()
	if got := lines(t, name+".1"); !slices.Equal(got, []string{"one"}) {
		t.Errorf("the moved log holds %q", got)
	}
	if got := lines(t, name); !slices.Equal(got, []string{"two"}) {
		t.Errorf("the new log holds %q", got)
	}
}

// TestLogConcurrent: writers and a rotator at once (run with -race):
// every record is in one of the files, once and whole.
func TestLogConcurrent(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "log")
	l, err := OpenLog(name, false, 512)
	if err != nil {
		t.Fatal(err)
	}
	const writers, records, rotations = 4, 300, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range records {
				rec := fmt.Sprintf("w%d-r%d %s\n", w, i, strings.Repeat("y", (i*7)%200))
				if _, err := l.Write([]byte(rec)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var moved []string
	wg.Go(func() {
		for r := range rotations {
			to := fmt.Sprintf("%s.%d", name, r)
			if err := os.Rename(name, to); err != nil {
				t.Error(err)
				return
			}
			moved = append(moved, to)
			if err := l.Reopen(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, fn := range append(moved, name) {
		for _, line := range lines(t, fn) {
			id, pad, ok := strings.Cut(line, " ")
			if !ok || strings.Trim(pad, "y") != "" {
				t.Fatalf("%s: cut or mixed record %q", filepath.Base(fn), line)
			}
			seen[id]++
		}
	}
	for w := range writers {
		for i := range records {
			if id := fmt.Sprintf("w%d-r%d", w, i); seen[id] != 1 {
				t.Errorf("%s seen %d times", id, seen[id])
			}
		}
	}
	if len(seen) != writers*records {
		t.Errorf("%d records, want %d", len(seen), writers*records)
	}
}

// Log is the io.Writer report.NewJSON takes.
var _ io.Writer = (*Log)(nil)
