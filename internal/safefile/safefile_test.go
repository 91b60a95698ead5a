package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		path  string
		force bool
		want  string // "" for success
	}{
		{"new file", filepath.Join(dir, "new"), false, ""},
		{"existing, no force", existing, false, "already exists"},
		{"existing, force", existing, true, ""},
		{"link, no force", link, false, "already exists"},
		{"link, force", link, true, "symbolic link"},
		{"dangling link, force", dangling, true, "symbolic link"},
		{"dangling link, no force", dangling, false, "already exists"},
		{"a directory, force", dir, true, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Create(tc.path, tc.force)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if tc.want == "already exists" && !errors.Is(err, ErrExist) {
				t.Errorf("%v does not wrap ErrExist", err)
			}
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the link's target was written: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("a dangling link's target was created")
	}
}
