package rotate

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/internal/safefile"
)

// tiny is a -C limit over a file's headers and under one packet of 300
// bytes: every packet but the first of a file rotates.
const tiny = 200

// t0 is the time of the first packet of the tests.
var t0 = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

// ngStart is the start function of a pcapng caller.
func ngStart(w io.Writer) (*pcapgo.NgWriter, error) {
	intf := pcapgo.DefaultNgInterface
	intf.LinkType = layers.LinkTypeEthernet
	return pcapgo.NewNgWriterInterface(w, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "rotate test"}})
}

// packet makes packet i, of size bytes, holding i in its first 8 bytes.
func packet(i, size int, ts time.Time) (gopacket.CaptureInfo, []byte) {
	data := make([]byte, size)
	binary.BigEndian.PutUint64(data, uint64(i))
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: size, Length: size}, data
}

// write writes packet i through f with a comment, as the -w writer does.
func write(t *testing.T, f *Files[*pcapgo.NgWriter], i, size int, ts time.Time) error {
	t.Helper()
	ng, err := f.Before(ts)
	if err != nil {
		return err
	}
	ci, data := packet(i, size, ts)
	if err := ng.WritePacketWithOptions(ci, data, pcapgo.NgPacketOptions{Comments: []string{"tlstriage: test"}}); err != nil {
		t.Fatal(err)
	}
	return nil
}

// readBack reads the pcapng file name and returns its packets' numbers
// and times; it fails the test if the file is not valid pcapng.
func readBack(t *testing.T, name string) (ids []int, times []time.Time) {
	t.Helper()
	fh, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return ids, times
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", name, len(ids), err)
		}
		ids = append(ids, int(binary.BigEndian.Uint64(data)))
		times = append(times, ci.Timestamp)
	}
}

// recorder collects the names Opened gives.
type recorder struct{ names []string }

func (r *recorder) opened(name string) { r.names = append(r.names, name) }

// base returns the names without their directory.
func base(names []string) []string {
	var b []string
	for _, n := range names {
		b = append(b, filepath.Base(n))
	}
	return b
}

func TestSizeRotation(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "fail.pcapng")
	var rec recorder
	const limit, size, n = 2000, 300, 40
	f, err := Create(name, Options{FileSize: limit, Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := write(t, f, i, size, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	stats := f.Stats()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// FILE, then FILE1, FILE2...: no number on the first without -W.
	if len(rec.names) < 4 {
		t.Fatalf("opened %v, want several files", base(rec.names))
	}
	for i, got := range rec.names {
		want := name
		if i > 0 {
			want += strconv.Itoa(i)
		}
		if got != want {
			t.Errorf("file %d is %s, want %s", i, filepath.Base(got), filepath.Base(want))
		}
	}
	var all []int
	var total int64
	for i, fn := range rec.names {
		ids, _ := readBack(t, fn)
		if len(ids) == 0 {
			t.Errorf("%s holds no packet", filepath.Base(fn))
		}
		all = append(all, ids...)
		fi, err := os.Stat(fn)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
		// A file is rotated once it is over the limit, before the next
		// packet: so it is over it, by less than one packet.
		if i < len(rec.names)-1 && (fi.Size() <= limit || fi.Size() > limit+size+100) {
			t.Errorf("%s is %d bytes, limit %d", filepath.Base(fn), fi.Size(), limit)
		}
	}
	if want := seq(0, n); !slices.Equal(all, want) {
		t.Errorf("packets %v, want %v", all, want)
	}
	if stats.Files != len(rec.names) || stats.Bytes != total {
		t.Errorf("stats %+v, want %d files, %d bytes", stats, len(rec.names), total)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(rec.names) {
		t.Errorf("%d files in the directory, %d opened", len(entries), len(rec.names))
	}
}

// seq returns from, from+1, ..., to-1.
func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// TestSizeCountsBuffered: the size rotation sees the bytes the
// NgWriter wrote into the buffer, before any reach the file.
func TestSizeCountsBuffered(t *testing.T) {
	name := filepath.Join(t.TempDir(), "w.pcapng")
	f, err := Create(name, Options{FileSize: 1_000_000}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := f.Stats().Bytes
	if before == 0 {
		t.Fatal("the headers are not counted")
	}
	if err := write(t, f, 0, 100, t0); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(name); fi.Size() != before {
		t.Fatalf("the packet reached the file at once (%d bytes): not a buffered test", fi.Size())
	}
	// 28 bytes of header, 100 of data, the comment option (4 + 15 + 1
	// padding + 4 end of options) and 4 of trailer.
	if got, want := f.Stats().Bytes-before, int64(28+100+4+15+1+4+4); got != want {
		t.Errorf("a packet counted %d bytes, want %d", got, want)
	}
}

func TestRing(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "ring.pcapng")
	var rec recorder
	const n = 30
	f, err := Create(name, Options{FileSize: 1000, FileCount: 3, Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := write(t, f, i, 400, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := base(rec.names)
	for i, g := range got {
		if want := "ring.pcapng" + string(rune('0'+i%3)); g != want {
			t.Fatalf("opened %v, want ring.pcapng0, 1, 2, 0...", got)
		}
	}
	if len(got) < 6 {
		t.Fatalf("opened %v: the ring did not come round twice", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("%d files, want 3", len(entries))
	}
	// The ring holds the last files: the newest packets, each once.
	last := len(rec.names) - 1
	var all []int
	for k := 2; k >= 0; k-- {
		ids, _ := readBack(t, rec.names[last-k])
		all = append(all, ids...)
	}
	if len(all) == 0 || all[len(all)-1] != n-1 || !slices.Equal(all, seq(all[0], n)) {
		t.Errorf("the ring holds %v, want the last packets up to %d", all, n-1)
	}
}

// TestNames: tcpdump's MakeFilename, padded to the width of -W minus 1.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		count int
		want  []string
	}{
		{0, []string{"w", "w1", "w2", "w3"}},
		{1, []string{"w", "w", "w"}},
		{2, []string{"w0", "w1", "w0"}},
		{10, []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w0"}},
		{11, []string{"w00", "w01", "w02", "w03", "w04", "w05", "w06", "w07", "w08", "w09", "w10", "w00"}},
		{101, []string{"w000", "w001"}},
	} {
		dir := t.TempDir()
		var rec recorder
		f, err := Create(filepath.Join(dir, "w"), Options{FileSize: tiny, FileCount: tc.count, Opened: rec.opened}, ngStart)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(tc.want) {
			if err := write(t, f, i, 300, t0); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		if got := base(rec.names); !slices.Equal(got, tc.want) {
			t.Errorf("-W %d: names %v, want %v", tc.count, got, tc.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	dir := t.TempDir()
	var rec recorder
	f, err := Create(filepath.Join(dir, "cap-%Y%m%d-%H%M%S.pcapng"),
		Options{Seconds: 60, Start: t0, Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	offsets := []time.Duration{
		0, 30 * time.Second, 59*time.Second + 900*time.Millisecond, // 59 whole seconds: same file
		60 * time.Second, 61 * time.Second, // rotation at 10:01:00
		200 * time.Second, // rotation at 10:03:20
		199 * time.Second, // time going back: no rotation
		260 * time.Second, // 10:04:20
	}
	for i, d := range offsets {
		if err := write(t, f, i, 80, t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"cap-20240305-100000.pcapng", "cap-20240305-100100.pcapng", "cap-20240305-100320.pcapng", "cap-20240305-100420.pcapng"}
	if got := base(rec.names); !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	wantIDs := [][]int{{0, 1, 2}, {3, 4}, {5, 6}, {7}}
	for i, fn := range rec.names {
		if ids, _ := readBack(t, fn); !slices.Equal(ids, wantIDs[i]) {
			t.Errorf("%s holds %v, want %v", filepath.Base(fn), ids, wantIDs[i])
		}
	}
}

// TestSecondsLocation: names are made in Options.Location.
func TestSecondsLocation(t *testing.T) {
	var rec recorder
	f, err := Create(filepath.Join(t.TempDir(), "%H%M"), Options{Seconds: 1, Start: t0, Location: time.FixedZone("X", 90*60), Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := base(rec.names); !slices.Equal(got, []string{"1130"}) {
		t.Errorf("names %v, want [1130]", got)
	}
}

// TestStrftime: the verbs of -G names.
func TestStrftime(t *testing.T) {
	ts := time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct{ pattern, want string }{
		{"%Y-%m-%d_%H:%M:%S", "2024-03-05_07:08:09"},
		{"%y%j", "24065"},
		{"%s", "1709622489"},
		{"%b %a %e", "Mar Tue  5"},
		{"100%%", "100%"},
		{"%F_%T", "2024-03-05_07:08:09"},
		{"plain", "plain"},
	} {
		var rec recorder
		f, err := Create(filepath.Join(t.TempDir(), tc.pattern), Options{Seconds: 1, Start: ts, Opened: rec.opened}, ngStart)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		f.Close()
		if got := base(rec.names); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%q gives %v, want %q", tc.pattern, got, tc.want)
		}
	}
	if _, err := Create(filepath.Join(t.TempDir(), "bad%"), Options{Seconds: 1, Start: ts}, ngStart); err == nil {
		t.Error("a stray % was taken")
	}
}

// TestSecondsFileLimit: -G with -W stops after -W files.
func TestSecondsFileLimit(t *testing.T) {
	dir := t.TempDir()
	var rec recorder
	f, err := Create(filepath.Join(dir, "g-%H%M%S"), Options{Seconds: 10, FileCount: 2, Start: t0, Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []int{0, 5, 10, 15} {
		if err := write(t, f, i, 80, t0.Add(time.Duration(d)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := write(t, f, 4, 80, t0.Add(20*time.Second)); !errors.Is(err, ErrFileLimit) {
		t.Fatalf("third interval: %v, want ErrFileLimit", err)
	}
	if err := write(t, f, 5, 80, t0.Add(21*time.Second)); !errors.Is(err, ErrFileLimit) {
		t.Fatalf("after the limit: %v, want ErrFileLimit", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := base(rec.names); !slices.Equal(got, []string{"g-100000", "g-100010"}) {
		t.Fatalf("names %v", got)
	}
	for i, fn := range rec.names {
		if ids, _ := readBack(t, fn); !slices.Equal(ids, []int{2 * i, 2*i + 1}) {
			t.Errorf("%s holds %v", filepath.Base(fn), ids)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files, want 2", len(entries))
	}
}

// TestSecondsAndSize: with -G and -C the counter starts again at each
// interval; with -W it is a ring within each interval, without a limit.
func TestSecondsAndSize(t *testing.T) {
	for _, tc := range []struct {
		count int
		want  []string
	}{
		{0, []string{"c-00", "c-001", "c-002", "c-01", "c-011", "c-02"}},
		{2, []string{"c-000", "c-001", "c-000", "c-010", "c-011", "c-020"}},
	} {
		var rec recorder
		f, err := Create(filepath.Join(t.TempDir(), "c-%M"), Options{Seconds: 60, FileSize: tiny, FileCount: tc.count, Start: t0, Opened: rec.opened}, ngStart)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range []int{0, 1, 2, 60, 61, 120} {
			if err := write(t, f, i, 300, t0.Add(time.Duration(d)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		if got := base(rec.names); !slices.Equal(got, tc.want) {
			t.Errorf("-W %d: names %v, want %v", tc.count, got, tc.want)
		}
	}
}

func TestExisting(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "w.pcapng")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(name, Options{}, ngStart); !errors.Is(err, safefile.ErrExist) {
		t.Fatalf("existing file without force: %v", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "old" {
		t.Fatalf("the file was written: %q", b)
	}
	f, err := Create(name, Options{Force: true}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, f, 7, 300, t0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if ids, _ := readBack(t, name); !slices.Equal(ids, []int{7}) {
		t.Errorf("with force the file holds %v", ids)
	}

	// A ring's later names are refused at start.
	if err := os.WriteFile(filepath.Join(dir, "r2"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(filepath.Join(dir, "r"), Options{FileSize: tiny, FileCount: 3}, ngStart); !errors.Is(err, safefile.ErrExist) {
		t.Errorf("ring with r2 existing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r0")); err == nil {
		t.Error("r0 was created before the ring was refused")
	}
	// A later name of -C alone is refused when reached.
	if err := os.WriteFile(filepath.Join(dir, "c1"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = Create(filepath.Join(dir, "c"), Options{FileSize: tiny}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	write(t, f, 0, 300, t0)
	if err := write(t, f, 1, 300, t0); !errors.Is(err, safefile.ErrExist) {
		t.Errorf("c1 existing: %v", err)
	}
	if err := write(t, f, 2, 300, t0); err == nil {
		t.Error("writing went on after the error")
	}
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "c1")); string(b) != "old" {
		t.Errorf("c1 was written: %q", b)
	}
}

// TestSymlink: a link planted at a name the set opens is never followed,
// with or without force, even at a ring name this run created.
func TestSymlink(t *testing.T) {
	for _, force := range []bool{false, true} {
		dir := t.TempDir()
		victim := filepath.Join(dir, "victim")
		if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("force %v, %s: no error", force, what)
			}
			if b, _ := os.ReadFile(victim); string(b) != "keep me" {
				t.Fatalf("force %v, %s: the link's target was written: %q", force, what, b)
			}
		}

		// The next name of -C.
		if err := os.Symlink(victim, filepath.Join(dir, "c1")); err != nil {
			t.Fatal(err)
		}
		f, err := Create(filepath.Join(dir, "c"), Options{FileSize: tiny, Force: force}, ngStart)
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, 0, 300, t0)
		check("-C next name", write(t, f, 1, 300, t0))
		f.Close()

		// The first name.
		if err := os.Symlink(victim, filepath.Join(dir, "first")); err != nil {
			t.Fatal(err)
		}
		_, err = Create(filepath.Join(dir, "first"), Options{Force: force}, ngStart)
		check("first name", err)

		// A ring name, planted after the ring created it.
		f, err = Create(filepath.Join(dir, "r"), Options{FileSize: tiny, FileCount: 2, Force: force}, ngStart)
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, 0, 300, t0) // r0
		write(t, f, 1, 300, t0) // r1
		if err := os.Remove(filepath.Join(dir, "r0")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(dir, "r0")); err != nil {
			t.Fatal(err)
		}
		err = write(t, f, 2, 300, t0) // back to r0
		check("ring name", err)
		if err != nil && !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("ring name: %v, want it to name the symbolic link", err)
		}
		f.Close()

		// A -G name.
		if err := os.Symlink(victim, filepath.Join(dir, "g-100100")); err != nil {
			t.Fatal(err)
		}
		f, err = Create(filepath.Join(dir, "g-%H%M%S"), Options{Seconds: 60, Start: t0, Force: force}, ngStart)
		if err != nil {
			t.Fatal(err)
		}
		check("-G name", write(t, f, 0, 300, t0.Add(time.Minute)))
		f.Close()
	}
}

// TestRingRewritesOwnFiles: the ring overwrites the files it created
// without force, and a -G name that comes back is rewritten.
func TestRingRewritesOwnFiles(t *testing.T) {
	dir := t.TempDir()
	var rec recorder
	f, err := Create(filepath.Join(dir, "h-%S"), Options{Seconds: 30, Start: t0, Opened: rec.opened}, ngStart)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []int{0, 30, 60, 90} {
		if err := write(t, f, i, 300, t0.Add(time.Duration(d)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if got := base(rec.names); !slices.Equal(got, []string{"h-00", "h-30", "h-00", "h-30"}) {
		t.Errorf("names %v", got)
	}
	if ids, _ := readBack(t, filepath.Join(dir, "h-00")); !slices.Equal(ids, []int{2}) {
		t.Errorf("h-00 holds %v, want [2]", ids)
	}
}

func TestCreateOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"", Options{}, "empty"},
		{"w", Options{FileCount: 3}, "-W needs"},
		{"w", Options{Seconds: 5}, "start time"},
		{"w", Options{FileSize: -1}, "negative"},
	} {
		name := tc.name
		if name != "" {
			name = filepath.Join(dir, name)
		}
		if _, err := Create(name, tc.opts, ngStart); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %+v: %v, want %q", tc.name, tc.opts, err, tc.want)
		}
	}
}

func TestParseFileSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: an error
	}{
		{"1", 1_000_000},
		{"250", 250_000_000},
		{"10k", 10 << 10},
		{"3m", 3 << 20},
		{"2g", 2 << 30},
		{"0", 0},
		{"-1", 0},
		{"", 0},
		{"k", 0},
		{"1.5", 0},
		{"5M", 0},
		{"99999999999999999", 0},
	} {
		got, err := ParseFileSize(tc.in)
		if got != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("ParseFileSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
