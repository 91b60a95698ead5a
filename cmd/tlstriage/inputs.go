package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
)

// expandInputs turns the -r arguments into files: a directory gives the
// capture files in it, a glob pattern (quoted, so that the shell left it)
// the files it matches, both in natural order so that tcpdump's rotations
// (f.pcap, f.pcap1, ... f.pcap10) come in the order they were written.
//
// Files of a directory that are no capture (by their first bytes) are
// left out and returned in skipped, to be named.
func expandInputs(args []string) (out, skipped []string, err error) {
	for _, arg := range args {
		if arg == "-" {
			out = append(out, arg)
			continue
		}
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			entries, err := os.ReadDir(arg)
			if err != nil {
				return nil, nil, err
			}
			var names []string
			for _, e := range entries {
				if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				name := filepath.Join(arg, e.Name())
				if !looksLikeCaptureFile(name) {
					skipped = append(skipped, e.Name())
					continue
				}
				names = append(names, name)
			}
			if len(names) == 0 {
				return nil, nil, fmt.Errorf("%s: a directory with no capture file (pcap, pcapng or gzip)", arg)
			}
			slices.SortFunc(names, naturalCompare)
			out = append(out, names...)
			continue
		} else if err == nil || !strings.ContainsAny(arg, "*?[") {
			out = append(out, arg) // a file, or a missing one: said when opened
			continue
		}
		names, err := filepath.Glob(arg)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", arg, err)
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("%s: no file matches", arg)
		}
		slices.SortFunc(names, naturalCompare)
		out = append(out, names...)
	}
	return out, skipped, nil
}

// looksLikeCaptureFile reports whether the file starts as a pcap, pcapng
// or gzip file does.
func looksLikeCaptureFile(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	switch binary.BigEndian.Uint32(magic[:]) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return magic[0] == 0x1f && magic[1] == 0x8b
}

// naturalCompare orders strings with their runs of digits compared as
// numbers: "f.pcap2" before "f.pcap10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && unicode.IsDigit(rune(s[n])) {
		n++
	}
	return n
}

// fileInputs opens and closes the files analyzeFiles reads, for the
// capture.Merge that reads them: each file's secrets blocks feed the key
// log, and what is odd or damaged in it is said once, when it ends.
type fileInputs struct {
	cfg    *config
	an     analyzer
	bar    *progress
	sync   func() // before secrets found in a file are used (-j)
	stdin  io.Reader
	stderr io.Writer

	open1 map[int]*inputFile // the files open, by their index in cfg.files

	warnings            []string
	unreadable, damaged bool
	opened              int
}

// inputFile is a file being read, with its readers.
type inputFile struct {
	f    *capture.File
	keys *secretsFeed
	seen *capture.Watch
	lts  map[string]int64 // frames of link types not decoded, before this file
}

// warn says msg on stderr and keeps it for the summary.
func (in *fileInputs) warn(msg string) {
	warnf(in.stderr, "%s", msg)
	in.warnings = append(in.warnings, msg)
}

// open is the capture.MergeHooks.Open of the files.
func (in *fileInputs) open(i, n int, start bool) (capture.Reader, bool) {
	r := in.openFile(i, start)
	if r == nil {
		return nil, false
	}
	return r.seen, true
}

// openFile opens file i of cfg.files, starting a capture or added to the
// capture being read; nil when it could not (said on stderr).
func (in *fileInputs) openFile(i int, start bool) *inputFile {
	name := in.cfg.files[i]
	f, err := capture.OpenFile(name, in.stdin)
	if err != nil {
		if capture.IsDamage(err) {
			in.warn(capture.DamageWarning(name, err, 0))
			in.damaged = true
		} else {
			errorf(in.stderr, "%v", err)
			in.unreadable = true
		}
		return nil
	}
	in.opened++
	if start {
		in.an.SetFile(name)
	} else {
		in.an.AddFile(name) // a rotated capture (tcpdump -C, -G), or files captured together
	}
	in.bar.setFile(i+1, name, f)
	keys := &secretsFeed{keys: in.cfg.keys, sync: in.sync}
	f.OnSecrets(keys.add)
	r := &inputFile{f: f, keys: keys, seen: capture.NewWatch(f, f), lts: maps.Clone(in.an.Stats().LinkTypes)}
	if in.open1 == nil {
		in.open1 = map[int]*inputFile{}
	}
	in.open1[i] = r
	return r
}

// ended is the capture.MergeHooks.Ended of the files.
func (in *fileInputs) ended(i, frames int, err error) {
	name := in.cfg.files[i]
	r := in.open1[i]
	delete(in.open1, i)
	r.seen.Settle(err)
	r.f.Close()
	r.keys.report(name, r.f, in.stderr)
	now := in.an.Stats().LinkTypes
	skipped := func(lt layers.LinkType) int64 { return now[lt.String()] - r.lts[lt.String()] }
	for _, msg := range r.seen.Notes(name, skipped) {
		in.warn(msg)
	}
	if err != nil {
		in.warn(capture.DamageWarning(name, err, frames))
		in.damaged = true
	}
}
