package capture

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// DamageWarning is the warning line for the error that stopped reading a
// file after read frames: where the file is damaged (cut short, a bad
// header or block) and that the report covers the frames before.
func DamageWarning(name string, err error, read int) string {
	var d *DamageError
	if !errors.As(err, &d) {
		// A reader's own complaint about the bytes.
		d = &DamageError{Frame: read + 1, Msg: err.Error()}
	}
	covered := fmt.Sprintf("the report covers the %d frames read", read)
	if read == 0 {
		covered = "no frame could be read"
	}
	if d.Frame == 0 {
		return fmt.Sprintf("%s: before frame 1: %s: %s", name, d.Msg, covered)
	}
	return fmt.Sprintf("%s: frame %d: %s: reading stopped there; %s", name, d.Frame, d.Msg, covered)
}

// IsDamage reports whether err says that a capture file is damaged, rather
// than missing or not a capture.
func IsDamage(err error) bool {
	var d *DamageError
	return errors.As(err, &d)
}

// Watch reads a File (through r, which may add to what the File reads)
// and notes what is odd in it, valid as it is, for one warning line each:
// empty frames, frames cut by the snapshot length, frames longer than it
// or than their packet, time going backwards or impossible, link types
// the analysis skipped. Each names the first frame concerned. Frames with
// an impossible time are returned with the time of the frame before
// (TimeGuard).
type Watch struct {
	r      Reader
	holder Holder // r, when it is one
	file   *File
	frame  int
	last   time.Time
	// The link type and snapshot lengths of the frames so far, to look
	// up only when they change.
	lastLT layers.LinkType
	snaps  []int // by interface; -1 unknown yet

	empty, cut, long, over, back   int // frames
	emptyAt, cutAt, longAt, overAt int // the first of each
	backAt                         int
	cutLen, cutOrig, cutSnap       int
	longLen, longSnap              int
	overLen, overOrig              int
	backBy                         time.Duration
	ltAt                           map[layers.LinkType]int // first frame of each link type
	times                          TimeGuard
}

// implausibleJump is how far a frame's time may be from the frame before
// in the same file before it is taken for a wrong timestamp (a clock
// decades off, a corrupted record header) rather than time passing: no
// capture pauses for a year between two frames.
const implausibleJump = 365 * 24 * time.Hour

// TimeGuard keeps a frame with an impossible timestamp from splitting its
// connection or giving negative durations: such a frame is analysed at the
// time of the frame before. When the frame after it agrees with it, the
// clock moved instead (set mid-capture, or the frames before had the wrong
// time), and times are used as given from there.
type TimeGuard struct {
	clock    time.Time // the last time used
	clockSec int64     // clock.Unix()
	odd      time.Time // the time of the frame taken for wrong, pending the next
	oddAt    int       // its frame; 0 when none is pending

	n       int       // frames found wrong and given the time of the one before
	firstAt int       // the first of them
	first   time.Time // its own time

	steps  int           // clock moves
	stepAt int           // the first: the frame it starts at
	stepBy time.Duration // and by how much
}

// Fix returns the time frame (from 1) is analysed at, and whether the
// clock moved at the frame before (that frame and this one agree). It runs
// on every frame: whole seconds are compared, the jump being a year.
func (g *TimeGuard) Fix(ts time.Time, frame int) (time.Time, bool) {
	const jump = int64(implausibleJump / time.Second)
	sec := ts.Unix()
	far := func(other int64) bool { d := sec - other; return d > jump || d < -jump }
	if g.oddAt > 0 {
		if !far(g.odd.Unix()) {
			if g.steps++; g.steps == 1 {
				g.stepAt, g.stepBy = g.oddAt, g.odd.Sub(g.clock)
			}
			g.oddAt, g.clock, g.clockSec = 0, ts, sec
			return ts, true
		}
		g.confirm()
	}
	if g.clock.IsZero() || !far(g.clockSec) {
		g.clock, g.clockSec = ts, sec
		return ts, false
	}
	g.odd, g.oddAt = ts, frame
	return g.clock, false
}

// confirm counts the pending frame as one with a wrong time.
func (g *TimeGuard) confirm() {
	if g.n++; g.n == 1 {
		g.firstAt, g.first = g.oddAt, g.odd
	}
	g.oddAt = 0
}

// Done confirms a last frame still pending, at the end of the file.
func (g *TimeGuard) Done() {
	if g.oddAt > 0 {
		g.confirm()
	}
}

// NewWatch returns a Watch reading r, which reads f.
func NewWatch(r Reader, f *File) *Watch {
	h, _ := r.(Holder)
	return &Watch{r: r, holder: h, file: f, ltAt: map[layers.LinkType]int{}}
}

// ReadPacketData is ReadFrame returning the CaptureInfo.
func (w *Watch) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	data, err := w.ReadFrame(&ci)
	return data, ci, err
}

// LinkType is the link type of the frame last read.
func (w *Watch) LinkType() layers.LinkType { return w.r.LinkType() }

// Frames is the count of frames read.
func (w *Watch) Frames() int { return w.frame }

// Block is the Holder's Block of the reader, 0 when it cannot hold its
// frames.
func (w *Watch) Block() uint64 {
	if w.holder != nil {
		return w.holder.Block()
	}
	return 0
}

// Hold holds the block of the frame last read, whose Block is not 0.
func (w *Watch) Hold() (release func()) { return w.holder.Hold() }

var _ Holder = (*Watch)(nil)

// ReadFrame reads the next frame into *ci, noting what is odd in it.
func (w *Watch) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	data, err := w.r.ReadFrame(ci)
	if err != nil {
		return data, err
	}
	w.frame++
	if lt := w.r.LinkType(); lt != w.lastLT || w.frame == 1 {
		w.lastLT = lt
		if _, ok := w.ltAt[lt]; !ok && len(w.ltAt) < 64 {
			w.ltAt[lt] = w.frame
		}
	}
	snap := w.snaplen(ci.InterfaceIndex)
	switch {
	case ci.CaptureLength == 0:
		if w.empty++; w.empty == 1 {
			w.emptyAt = w.frame
		}
	case ci.CaptureLength < ci.Length:
		if w.cut++; w.cut == 1 {
			w.cutAt, w.cutLen, w.cutOrig, w.cutSnap = w.frame, ci.CaptureLength, ci.Length, snap
		}
	case ci.CaptureLength > ci.Length:
		if w.over++; w.over == 1 {
			w.overAt, w.overLen, w.overOrig = w.frame, ci.CaptureLength, ci.Length
		}
	}
	if snap > 0 && ci.CaptureLength > snap {
		if w.long++; w.long == 1 {
			w.longAt, w.longLen, w.longSnap = w.frame, ci.CaptureLength, snap
		}
	}
	var stepped bool
	ci.Timestamp, stepped = w.times.Fix(ci.Timestamp, w.frame)
	if stepped {
		w.last = ci.Timestamp // said as a clock move, not as time going back
	}
	if ci.Timestamp.Before(w.last) {
		if w.back++; w.back == 1 {
			w.backAt, w.backBy = w.frame, w.last.Sub(ci.Timestamp)
		}
	} else {
		w.last = ci.Timestamp
	}
	return data, nil
}

// snaplen is the snapshot length of interface i, looked up once.
func (w *Watch) snaplen(i int) int {
	if i < 0 || i >= 1<<16 {
		return 0
	}
	for len(w.snaps) <= i {
		w.snaps = append(w.snaps, -1)
	}
	if w.snaps[i] < 0 {
		w.snaps[i] = w.file.InterfaceSnaplen(i)
	}
	return w.snaps[i]
}

// Settle takes in the error that ended the file: a damage found in the
// frame the watch would warn about as longer or shorter than its packet
// is that frame's one warning.
func (w *Watch) Settle(err error) {
	var d *DamageError
	if !errors.As(err, &d) {
		return
	}
	if w.over == 1 && d.Frame == w.overAt {
		w.over = 0
	}
	if w.cut == 1 && d.Frame == w.cutAt {
		w.cut = 0
	}
}

// Notes returns the warning lines about the file read, named name;
// skipped, if set, says how many frames of a link type the analysis
// skipped in it (not decoded).
func (w *Watch) Notes(name string, skipped func(layers.LinkType) int64) []string {
	var out []string
	add := func(frame int, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: frame %d: ", name, frame)+fmt.Sprintf(format, args...))
	}
	if w.empty > 0 {
		add(w.emptyAt, "an empty frame (0 bytes captured): %d empty frames skipped", w.empty)
	}
	if w.cut > 0 {
		if w.cutSnap > 0 && w.cutSnap != w.cutLen {
			// Cut by something else than the length the file declares
			// (editcap -s afterwards, a per-interface length in pcapng).
			add(w.cutAt, "%d of its %d bytes captured: %d frames cut short (the file declares a snapshot length of %d: cut afterwards, by editcap -s or a filter), TLS bytes in them are missing (capture with -s 0 and keep the frames whole)", w.cutLen, w.cutOrig, w.cut, w.cutSnap)
		} else {
			snap := ""
			if w.cutSnap > 0 {
				snap = fmt.Sprintf(" (%d)", w.cutSnap)
			}
			add(w.cutAt, "%d of its %d bytes captured: %d frames cut by the snapshot length%s, TLS bytes in them are missing (capture with -s 0)", w.cutLen, w.cutOrig, w.cut, snap)
		}
	}
	if w.over > 0 {
		add(w.overAt, "%d bytes captured, more than the packet's original length (%d) the record header gives: %d such frames, read anyway (as Wireshark does)", w.overLen, w.overOrig, w.over)
	}
	if w.long > 0 {
		add(w.longAt, "%d bytes captured, longer than the snapshot length the file declares (%d): %d such frames, read anyway", w.longLen, w.longSnap, w.long)
	}
	w.times.Done()
	if g := w.times; g.steps > 0 {
		add(g.stepAt, "its time is %v from the previous frame's, and the frames after it follow it: the clock was set during the capture, or the frames before have wrong times (%s so), times are used as given", g.stepBy, count(g.steps, "clock move"))
	}
	if g := w.times; g.n > 0 {
		add(g.firstAt, "its time, %s, is more than a year from the previous frame's: %s with such an impossible time analysed at the previous frame's time (the times in the file are kept)", g.first.Format(time.RFC3339Nano), count(g.n, "frame"))
	}
	if w.back > 0 {
		add(w.backAt, "its time is %v earlier than frame %d's: %d frames go back in time, times are used as given", w.backBy, w.backAt-1, w.back)
	}
	// Link types the analysis skipped in this file.
	type skippedLT struct {
		lt    layers.LinkType
		frame int
		n     int64
	}
	var sk []skippedLT
	for lt, frame := range w.ltAt {
		if skipped == nil {
			break
		}
		if n := skipped(lt); n > 0 {
			sk = append(sk, skippedLT{lt, frame, n})
		}
	}
	slices.SortFunc(sk, func(a, b skippedLT) int { return a.frame - b.frame })
	for _, s := range sk {
		name := fmt.Sprintf("%s (%d)", s.lt, int(s.lt))
		if strings.HasPrefix(s.lt.String(), "Unknown") {
			name = strconv.Itoa(int(s.lt))
		}
		add(s.frame, "link type %s is not supported: %d frames skipped", name, s.n)
	}
	if n := w.file.TrailingGarbage(); n > 0 {
		out = append(out, fmt.Sprintf("%s: after frame %d: %s of trailing garbage after the gzip stream, ignored (as gzip -d does)", name, w.frame, count(n, "byte")))
	}
	return out
}

// count is "1 frame", "2 frames": n and the noun, in the plural unless n
// is 1.
func count[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
