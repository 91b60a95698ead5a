package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	var log, stderr bytes.Buffer
	if code := run([]string{"-out", dir}, &log, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		info, _ := e.Info()
		total += info.Size()
		if info.Size() > 200<<10 {
			t.Errorf("%s: %d bytes, too big", e.Name(), info.Size())
		}
		if !strings.Contains(string(readme), "| "+e.Name()+" |") {
			t.Errorf("%s missing from README.md", e.Name())
		}
	}
	if total > 2<<20 {
		t.Errorf("captures total %d bytes, over 2 MB", total)
	}
	for _, f := range []string{"root.pem", "intermediate.pem", "other-root.pem", "truststore-root.pem", "truststore-other.pem"} {
		if _, err := os.Stat(filepath.Join(dir, "pki", f)); err != nil {
			t.Error(err)
		}
	}
}
