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

func TestAppend(t *testing.T) {
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
	for _, tc := range []struct{ name, path, want string }{
		{"link", link, "symbolic link"},
		{"dangling link", dangling, "symbolic link"},
		{"a directory", dir, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Append(tc.path)
			if err == nil {
				f.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the link's target was written: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("a dangling link's target was created")
	}

	// A new file is created, an existing one appended to.
	log := filepath.Join(dir, "log")
	for _, line := range []string{"one\n", "two\n"} {
		f, err := Append(log)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if b, _ := os.ReadFile(log); string(b) != "one\ntwo\n" {
		t.Errorf("log holds %q", b)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(existing, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		force bool
		want  string
	}{
		{filepath.Join(dir, "new"), false, ""},
		{existing, false, "already exists"},
		{existing, true, ""},
		{link, false, "already exists"},
		{link, true, "symbolic link"},
	} {
		err := Check(tc.path, tc.force)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%s, %v) = %v, want %q", filepath.Base(tc.path), tc.force, err, tc.want)
		}
	}
}
