package capture

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/gopacket/gopacket"
)

// Bounds of a batch of frames a Queue hands over: at most MaxBatchBytes
// of frame data (the caller may ask for less: with a small capture
// buffer, a batch may hold a good part of it) and MaxBatchPackets frames.
const (
	MaxBatchBytes   = 1 << 20
	MaxBatchPackets = 4096
)

// Holder is a source that can keep the frames it returns valid past its
// next read: File does for pcap files, block by block, Merge and Watch do
// when what they read does, and the AF_PACKET ring does. Block numbers
// are unique among the source's blocks.
type Holder interface {
	// Block is the number of the block the frame last read lies in, 0
	// when it cannot be held.
	Block() uint64
	// Hold keeps that block unchanged until release is called (from any
	// goroutine).
	Hold() (release func())
}

// Packet is a frame a Queue handed over. Its data is valid until the
// batch is recycled: whatever keeps it longer copies it.
type Packet struct {
	Data []byte
	CI   gopacket.CaptureInfo
}

// Batch is frames handed over at once: copied into an arena, or left in
// the source's buffer, in blocks held until the batch is recycled.
type Batch struct {
	Packets  []Packet
	arena    []byte   // copies of the frames the source cannot hold
	releases []func() // of the source's blocks held for Packets
	last     uint64   // the block held last
	bytes    int      // frame bytes, copied or held
}

// full reports whether a frame of n bytes must wait for the next batch.
func (b *Batch) full(n, maxBytes int) bool {
	return len(b.Packets) > 0 && (len(b.Packets) >= MaxBatchPackets || b.bytes+n > maxBytes)
}

// copy returns a copy of data, in the arena (of size bytes) when it fits.
func (b *Batch) copy(data []byte, size int) []byte {
	if cap(b.arena)-len(b.arena) < len(data) {
		if cap(b.arena) > 0 || len(data) > size {
			return bytes.Clone(data)
		}
		b.arena = make([]byte, 0, size)
	}
	n := len(b.arena)
	b.arena = append(b.arena, data...)
	return b.arena[n:len(b.arena):len(b.arena)]
}

// hold holds block blk of h for the batch, once.
func (b *Batch) hold(h Holder, blk uint64) {
	if blk != b.last {
		b.releases = append(b.releases, h.Hold())
		b.last = blk
	}
}

// Queue hands the frames a capture goroutine reads from a live source to
// the goroutine that analyses them, in batches: one channel operation
// each instead of one per packet, and no copy when the source can hold
// its buffers (Holder). The reader appends to the pending batch and
// signals Ready when it was empty; the consumer takes all that is pending
// at once. A frame is never held back: batches are what was read while
// the consumer was busy. A full batch makes the reader wait for the
// consumer, and the kernel drop (and count) what no longer fits in its
// buffer.
type Queue struct {
	src      Source
	hold     Holder // nil when src cannot hold its buffers
	maxBytes int

	ready chan struct{} // 1 slot: frames are pending, or the reader stopped
	taken chan struct{} // 1 slot: the consumer took a batch

	mu      sync.Mutex
	pending *Batch
	spare   *Batch // recycled
	done    bool   // the reader stopped
	err     error  // why, when it is not the end of the capture
}

// NewQueue returns a Queue of src's frames, in batches of at most
// maxBytes of frame data. Start its reader with go Read().
func NewQueue(src Source, maxBytes int) *Queue {
	q := &Queue{
		src:      src,
		maxBytes: maxBytes,
		ready:    make(chan struct{}, 1),
		taken:    make(chan struct{}, 1),
		pending:  &Batch{},
	}
	q.hold, _ = src.(Holder)
	return q
}

func signal1(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Read reads the source until it fails or is closed: the capture
// goroutine.
func (q *Queue) Read() {
	for {
		data, ci, err := q.src.ReadPacketData()
		if err != nil {
			q.mu.Lock()
			q.done = true
			if !errors.Is(err, io.EOF) {
				q.err = err
			}
			q.mu.Unlock()
			signal1(q.ready)
			return
		}
		q.put(data, ci)
	}
}

// put adds a frame to the pending batch, waiting while it is full.
func (q *Queue) put(data []byte, ci gopacket.CaptureInfo) {
	q.mu.Lock()
	for q.pending.full(len(data), q.maxBytes) {
		q.mu.Unlock()
		<-q.taken
		q.mu.Lock()
	}
	b := q.pending
	var blk uint64
	if q.hold != nil {
		blk = q.hold.Block()
	}
	if blk == 0 {
		data = b.copy(data, q.maxBytes)
	} else {
		b.hold(q.hold, blk)
	}
	b.Packets = append(b.Packets, Packet{Data: data, CI: ci})
	b.bytes += len(data)
	first := len(b.Packets) == 1
	q.mu.Unlock()
	if first {
		signal1(q.ready)
	}
}

// Ready receives when frames are pending or the reader stopped.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Take returns the pending frames (nil when there are none) and whether
// the reader has stopped, after which no more frames come.
func (q *Queue) Take() (*Batch, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending.Packets) == 0 {
		return nil, q.done
	}
	b := q.pending
	q.pending, q.spare = q.spare, nil
	if q.pending == nil {
		q.pending = &Batch{}
	}
	signal1(q.taken)
	return b, q.done
}

// Idle reports whether no frame is pending.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending.Packets) == 0
}

// Recycle gives back the buffers of a batch the consumer is done with.
func (q *Queue) Recycle(b *Batch) {
	for i, release := range b.releases {
		release()
		b.releases[i] = nil
	}
	clear(b.Packets) // no stale references into released blocks
	*b = Batch{Packets: b.Packets[:0], arena: b.arena[:0], releases: b.releases[:0]}
	q.mu.Lock()
	q.spare = b
	q.mu.Unlock()
}

// Err is why the reader stopped, when it is not the end of the capture
// (nil while it reads).
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// The sources that hold their buffers.
var _ Holder = (*File)(nil)
