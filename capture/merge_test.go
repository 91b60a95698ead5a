package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// fakeReader returns frames at the given seconds past t0 (the frame's
// data names its file and frame), then err (io.EOF when nil).
type fakeReader struct {
	name  string
	secs  []int
	err   error
	frame int
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func (r *fakeReader) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	if r.frame >= len(r.secs) {
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	}
	r.frame++
	*ci = gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(r.secs[r.frame-1]) * time.Second)}
	return fmt.Appendf(nil, "%s#%d", r.name, r.frame), nil
}

func (r *fakeReader) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

func TestMerge(t *testing.T) {
	damaged := errors.New("damaged")
	tests := []struct {
		name  string
		files map[string][]int // seconds of each file's frames
		order []string
		err   map[string]error
		want  string // frames read, "|" where a capture ends
	}{
		{"one file", map[string][]int{"a": {1, 2, 3}}, []string{"a"}, nil, "a#1/0 a#2/0 a#3/0 |"},
		{"rotated: one after the other", map[string][]int{"a": {1, 2}, "b": {3, 4}}, []string{"a", "b"}, nil, "a#1/0 a#2/0 b#1/1 b#2/1 |"},
		{"overlapping: merged by time", map[string][]int{"a": {1, 3, 5}, "b": {2, 3, 6}}, []string{"a", "b"}, nil, "a#1/0 b#1/1 a#2/0 b#2/1 a#3/0 b#3/1 |"},
		{"given out of order: by first frame", map[string][]int{"a": {10, 11}, "b": {1, 2}}, []string{"a", "b"}, nil, "b#1/0 b#2/0 a#1/1 a#2/1 |"},
		{"far apart: two captures", map[string][]int{"a": {1, 2}, "b": {1000, 1001}}, []string{"a", "b"}, nil, "a#1/0 a#2/0 | b#1/0 b#2/0 |"},
		{"first frame unknown: a capture of its own", map[string][]int{"a": {1, 2}, "-": {3}}, []string{"a", "-"}, nil, "a#1/0 a#2/0 | -#1/0 |"},
		{"a damaged file ends, the others go on", map[string][]int{"a": {1, 4}, "b": {2, 3, 5}}, []string{"a", "b"}, map[string]error{"a": damaged}, "a#1/0 b#1/1 b#2/1 a#2/0 b#3/1 |"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files []MergeFile
			for _, name := range tc.order {
				f := MergeFile{Name: name}
				if name != "-" {
					f.First = t0.Add(time.Duration(tc.files[name][0]) * time.Second)
				}
				files = append(files, f)
			}
			var ended []string
			m := NewMerge(files, 5*time.Minute, 256, MergeHooks{
				Open: func(i, n int, start bool) (Reader, bool) {
					name := tc.order[i]
					return &fakeReader{name: name, secs: tc.files[name], err: tc.err[name]}, true
				},
				Ended: func(i, frames int, err error) {
					ended = append(ended, fmt.Sprintf("%s:%d:%v", tc.order[i], frames, err))
				},
			})
			var got []string
			for m.More() {
				for {
					var ci gopacket.CaptureInfo
					data, err := m.ReadFrame(&ci)
					if err == io.EOF {
						got = append(got, "|")
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					no, frame := m.Origin()
					if want := fmt.Sprintf("#%d", frame); !strings.HasSuffix(string(data), want) {
						t.Errorf("frame %s: Origin says frame %d", data, frame)
					}
					got = append(got, fmt.Sprintf("%s/%d", data, no))
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("read %s, want %s", g, tc.want)
			}
			if len(ended) != len(tc.order) {
				t.Errorf("ended %v: want every file once", ended)
			}
			for name, err := range tc.err {
				if !slices.Contains(ended, fmt.Sprintf("%s:%d:%v", name, len(tc.files[name]), err)) {
					t.Errorf("ended %v: %s's error not given", ended, name)
				}
			}
		})
	}
}

// pcapOf is a pcap file (Ethernet) of frames, frame i at start + i*step.
func pcapOf(t *testing.T, frames [][]byte, start time.Time, step time.Duration) []byte {
	pkts := make([]pcaptest.Packet, len(frames))
	for i, fr := range frames {
		pkts[i] = pcaptest.Packet{Data: fr, CI: gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * step), CaptureLength: len(fr), Length: len(fr)}}
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcap(&b, layers.LinkTypeEthernet, pkts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMergeHold: a Merge of files that overlap in time holds the frames
// of each where that file read them (through a Watch too). Every frame
// can be held, the files' block numbers do not collide, and frames
// held stay unchanged while the files are read on through many blocks.
func TestMergeHold(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var want [2][][]byte
	var data [2][]byte
	for f := range 2 {
		for i := range 3000 {
			want[f] = append(want[f], bytes.Repeat([]byte{byte(f), byte(i), byte(i >> 8)}, 20+i*13%500))
		}
		data[f] = pcapOf(t, want[f], start.Add(time.Duration(f)*time.Millisecond), 2*time.Millisecond)
	}
	files := []MergeFile{{Name: "a.pcap", First: start}, {Name: "b.pcap", First: start.Add(time.Millisecond)}}
	m := NewMerge(files, time.Minute, 8, MergeHooks{
		Open: func(i, _ int, _ bool) (Reader, bool) {
			f, err := NewReader(files[i].Name, bytes.NewReader(data[i]))
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				return NewWatch(f, f), true
			}
			return f, true
		},
		Ended: func(i, _ int, err error) {
			if err != nil {
				t.Errorf("file %d: %v", i, err)
			}
		},
	})
	type frame struct {
		file, i int
		data    []byte
	}
	var held []frame
	var releases []func()
	blocks := map[uint64]uint8{} // the file of each block held
	n := [2]int{}
	for {
		var ci gopacket.CaptureInfo
		d, err := m.ReadFrame(&ci)
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		file, _ := m.Origin()
		blk := m.Block()
		if blk == 0 {
			t.Fatalf("file %d frame %d cannot be held", file, n[file])
		}
		if f, ok := blocks[blk]; !ok {
			blocks[blk] = file
			releases = append(releases, m.Hold())
		} else if f != file {
			t.Fatalf("block %#x of file %d is a block of file %d too", blk, f, file)
		}
		held = append(held, frame{int(file), n[file], d})
		n[file]++
	}
	if n != [2]int{3000, 3000} {
		t.Fatalf("frames read %v", n)
	}
	if len(blocks) < 8 {
		t.Errorf("%d blocks: too few to show holding", len(blocks))
	}
	for _, h := range held {
		if !bytes.Equal(h.data, want[h.file][h.i]) {
			t.Fatalf("file %d frame %d changed while the files were read on", h.file, h.i)
		}
	}
	for _, r := range releases {
		r()
	}
}
