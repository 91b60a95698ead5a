package capture

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Reader is what a Merge reads from, such as a File wrapped by its
// caller: ReadFrame is ReadPacketData filling in *ci (File.ReadFrame).
type Reader interface {
	ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error)
	LinkType() layers.LinkType
}

// MergeFile is a file a Merge reads: its name and the time of its first
// frame (zero when it has none, could not be read, or was not looked at,
// as standard input: then it is a capture of its own, in its place in the
// order).
type MergeFile struct {
	Name  string
	First time.Time
}

// MergeHooks are how a Merge opens and closes the files it reads.
type MergeHooks struct {
	// Open opens file i of the Merge's list. start says that it starts a
	// capture (the first file, or one that follows the files before
	// after more than the Merge's gap); otherwise it is read with the
	// files open (they overlap in time) or after them (it continues
	// them), numbered n among the files of its capture. Open reports
	// false when it said on its own why the file cannot be read.
	Open func(i, n int, start bool) (Reader, bool)
	// Ended is called when file i ends: err is nil at its end, the read
	// error otherwise (the Merge goes on with the other files); frames is
	// the count of frames read from it.
	Ended func(i, frames int, err error)
}

// Merge reads the files of a capture as mergecap merges them: files
// captured at the same time (two interfaces, both ends of a link) merged
// frame by frame in time order, and files that follow each other in time
// (the rotations of tcpdump -C or -G) one after the other. A file whose
// first frame comes more than gap after the last frame of the files
// before starts a new capture: Merge then returns io.EOF, and
// reading on (after the caller has handed over what the capture held)
// starts that capture.
//
// Files are opened only when the merge reaches their first frame, so that
// a long rotation holds one or two files open, not all of them.
type Merge struct {
	files   []MergeFile
	order   []int // the files by the time of their first frame, not yet opened
	hooks   MergeHooks
	gap     time.Duration
	maxOpen int // files of one capture

	heads   []*mergeHead
	last    *mergeHead // the frame returned last: its file is read on first
	lastLT  layers.LinkType
	now     time.Time // the time of the last frame returned
	n       int       // files of the current capture
	started bool      // the current capture has begun
}

// mergeHead is an open file and its next frame.
type mergeHead struct {
	file   int
	no     uint8 // its number in its capture
	r      Reader
	holder Holder // r, when it is one
	data   []byte
	ci     gopacket.CaptureInfo
	lt     layers.LinkType
	frames int
}

// NewMerge returns a Merge of files, opened through hooks; a capture
// holds at most maxFiles files (a file past them starts a new capture
// when the files open have ended).
func NewMerge(files []MergeFile, gap time.Duration, maxFiles int, hooks MergeHooks) *Merge {
	m := &Merge{files: files, hooks: hooks, gap: gap, maxOpen: max(maxFiles, 1)}
	for i := range files {
		m.order = append(m.order, i)
	}
	// Files without a first frame keep their place after the file given
	// before them: sorted as if they began when it did.
	first := make([]time.Time, len(files))
	var prev time.Time
	for i, f := range files {
		if f.First.IsZero() {
			first[i] = prev
		} else {
			first[i], prev = f.First, f.First
		}
	}
	slices.SortStableFunc(m.order, func(a, b int) int { return first[a].Compare(first[b]) })
	return m
}

// More reports whether files remain to be read.
func (m *Merge) More() bool { return len(m.order) > 0 || len(m.heads) > 0 }

// LinkType is the link type of the frame last read.
func (m *Merge) LinkType() layers.LinkType { return m.lastLT }

// Origin is the file of the frame last read, numbered among the files of
// its capture, and the frame's number in that file.
func (m *Merge) Origin() (file uint8, frame int) {
	if m.last == nil {
		return 0, 0
	}
	return m.last.no, m.last.frames
}

// Block is the Holder's Block of the file the frame last read came from,
// numbered apart from the blocks of the other files; 0 when that file
// cannot hold its frames.
func (m *Merge) Block() uint64 {
	if m.last == nil {
		return 0
	}
	h := m.last.holder
	if h == nil {
		return 0
	}
	blk := h.Block()
	if blk == 0 {
		return 0
	}
	return uint64(m.last.file+1)<<mergeBlockBits | blk&(1<<mergeBlockBits-1)
}

// mergeBlockBits are the bits of a Merge's block numbers that number the
// blocks of one file: 2^44 blocks of at least 16 KiB.
const mergeBlockBits = 44

// Hold holds the block of the frame last read, whose Block is not 0.
func (m *Merge) Hold() (release func()) { return m.last.holder.Hold() }

var _ Holder = (*Merge)(nil)

// ReadFrame reads the next frame in time order into *ci; io.EOF at the
// end of a capture (More then says whether another follows). The data is
// valid until the next call.
func (m *Merge) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	if h := m.last; h != nil {
		m.last = nil
		m.advance(h)
	}
	for {
		next := m.earliest()
		if !m.openNext(next) {
			break
		}
	}
	h := m.earliest()
	if h == nil {
		m.started, m.n = false, 0
		return nil, io.EOF
	}
	m.last, m.lastLT = h, h.lt
	if h.ci.Timestamp.After(m.now) {
		m.now = h.ci.Timestamp
	}
	*ci = h.ci
	return h.data, nil
}

// earliest is the open file whose next frame comes first (the file
// opened first on a tie), nil when none is open.
func (m *Merge) earliest() *mergeHead {
	var best *mergeHead
	for _, h := range m.heads {
		if best == nil || h.ci.Timestamp.Before(best.ci.Timestamp) {
			best = h
		}
	}
	return best
}

// openNext opens the next file when the merge has reached it: its first
// frame comes no later than next's frame, or no file is open and it
// continues the capture (or starts one). It reports whether it opened (or
// dropped) one.
func (m *Merge) openNext(next *mergeHead) bool {
	if len(m.order) == 0 {
		return false
	}
	i := m.order[0]
	first := m.files[i].First
	start := !m.started
	switch {
	case start:
	case next != nil:
		if m.n >= m.maxOpen || first.IsZero() || first.After(next.ci.Timestamp) {
			return false
		}
	default:
		// Nothing open: the file continues the capture when it begins
		// within gap of its last frame. (One that begins before it would
		// have been opened when the merge reached its first frame.) A
		// file whose first frame is not known is a capture of its own.
		if m.n >= m.maxOpen || first.IsZero() || first.Sub(m.now) > m.gap {
			return false
		}
	}
	m.order = m.order[1:]
	r, ok := m.hooks.Open(i, m.n, start)
	if !ok {
		return true
	}
	h := &mergeHead{file: i, no: uint8(m.n), r: r}
	h.holder, _ = r.(Holder)
	m.n++
	m.started = true
	m.advance(h)
	return true
}

// advance reads h's next frame; at its end (or a read error) h is closed
// and dropped.
func (m *Merge) advance(h *mergeHead) {
	data, err := h.r.ReadFrame(&h.ci)
	if err == nil {
		h.data, h.lt = data, h.r.LinkType()
		h.frames++
		if !slices.Contains(m.heads, h) {
			m.heads = append(m.heads, h)
		}
		return
	}
	m.heads = slices.DeleteFunc(m.heads, func(x *mergeHead) bool { return x == h })
	if errors.Is(err, io.EOF) {
		err = nil
	}
	m.hooks.Ended(h.file, h.frames, err)
}

// Close ends the files open (Ended is called for each, as at their end)
// and forgets those not opened yet: reading stops here.
func (m *Merge) Close() {
	heads := m.heads
	m.heads, m.order, m.last = nil, nil, nil
	for _, h := range heads {
		m.hooks.Ended(h.file, h.frames, nil)
	}
}
