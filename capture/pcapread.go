package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
)

// pcapRecords reads the records of a classic pcap file after its header
// (parsed by pcapgo). It reads the input in large blocks straight into its
// own buffer and returns frames that point into it: no copy per packet
// (pcapgo's ZeroCopyReadPacketData still copies every frame out of a
// bufio.Reader). Its results, errors included, are those of pcapgo's
// ZeroCopyReadPacketData.
type pcapRecords struct {
	r       io.Reader
	order   byteOrder
	nanos   uint32 // 1 (nanosecond file) or 1000 (microseconds)
	snaplen uint32
	buf     []byte
	start   int // first unread byte of buf
	end     int // end of the bytes read into buf
	eof     error
	big     []byte // a record larger than buf
	inBig   bool   // the last frame returned lies in big

	// When frames may be held (File.Hold), buf is blk's and is never
	// written over while a frame of it is held: reading goes on in
	// another block.
	blk    *recBlock
	blocks uint64 // blocks made
	free   chan *recBlock
}

// recBlock is a read buffer whose frames can be held past the next read.
type recBlock struct {
	buf  []byte
	id   uint64
	refs atomic.Int32 // the reader's (while it reads into it) and one per hold
}

// holdable turns on holding: buf becomes the first block.
func (p *pcapRecords) holdable() {
	if p.blk != nil {
		return
	}
	p.free = make(chan *recBlock, 16)
	p.blk = p.newBlock(0)
	p.blk.buf = p.buf
}

func (p *pcapRecords) newBlock(size int) *recBlock {
	var b *recBlock
	select {
	case b = <-p.free:
		if len(b.buf) < size {
			b = nil
		}
	default:
	}
	if b == nil {
		b = &recBlock{buf: make([]byte, size)}
	}
	p.blocks++
	b.id = p.blocks
	b.refs.Store(1)
	return b
}

// release drops a reference to b; the last one gives it back.
func (p *pcapRecords) release(b *recBlock) {
	if b.refs.Add(-1) == 0 {
		select {
		case p.free <- b:
		default:
		}
	}
}

// moveTo continues reading in a new block of size bytes (at least what is
// buffered), with the bytes not read yet.
func (p *pcapRecords) moveTo(size int) {
	nb := p.newBlock(max(size, p.end-p.start))
	p.end = copy(nb.buf, p.buf[p.start:p.end])
	p.start = 0
	p.release(p.blk)
	p.blk, p.buf = nb, nb.buf
}

// pcapBlock is the size the read buffer grows to: large reads, few system
// calls.
const pcapBlock = 256 << 10

// pcapEagerMax is pcapgo's eagerReadMax: frames up to this size are read
// as a whole; larger ones grow as they are read (the length comes from the
// file, and the file may be cut short).
const pcapEagerMax = 262144

// byteOrder reads a capture's integers in its byte order. It is a concrete
// type rather than a binary.ByteOrder so that the reads of every record
// header inline instead of going through an interface.
type byteOrder struct{ big bool }

// The two byte orders.
var (
	littleEndian = byteOrder{}
	bigEndian    = byteOrder{big: true}
)

func (o byteOrder) Uint32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (o byteOrder) Uint16(b []byte) uint16 {
	if o.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func newPcapRecords(r io.Reader, order byteOrder, nanos bool, snaplen uint32) *pcapRecords {
	p := &pcapRecords{r: r, order: order, nanos: 1000, snaplen: snaplen, buf: make([]byte, 16<<10)}
	if nanos {
		p.nanos = 1
	}
	return p
}

// fill reads until at least n bytes are buffered or the input ends. It
// reports whether n bytes are buffered.
func (p *pcapRecords) fill(n int) bool {
	if p.end-p.start >= n {
		return true
	}
	size := len(p.buf)
	if p.start > 0 {
		// The buffer starts small (most inputs are small files) and
		// doubles each time it has been read through, up to pcapBlock.
		if p.end == len(p.buf) {
			size = max(size, min(2*size, pcapBlock))
		}
		if p.blk != nil && p.blk.refs.Load() > 1 {
			// Frames of this block are held: read on in another.
			p.moveTo(max(size, n))
		} else {
			p.end = copy(p.buf, p.buf[p.start:p.end])
			p.start = 0
		}
	}
	if size = max(size, n); size > len(p.buf) && p.eof == nil {
		if p.blk != nil {
			p.moveTo(size)
		} else {
			b := make([]byte, size)
			copy(b, p.buf[:p.end])
			p.buf = b
		}
	}
	for p.end < n && p.eof == nil {
		m, err := p.r.Read(p.buf[p.end:])
		p.end += m
		if err != nil {
			p.eof = err
		} else if m == 0 {
			p.eof = io.ErrNoProgress
		}
	}
	return p.end >= n
}

// err is the error for a read that wanted more bytes than are left, after
// got of them: io.EOF when none were there, as io.ReadFull says.
func (p *pcapRecords) err(got int) error {
	if p.eof == io.EOF {
		if got == 0 {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	return p.eof
}

// nextInto returns the next frame and fills in *ci (no copy of a
// CaptureInfo per frame); the data points into the buffer and is valid
// until the next call.
func (p *pcapRecords) nextInto(ci *gopacket.CaptureInfo) ([]byte, error) {
	if !p.fill(16) {
		n := p.end - p.start
		p.start = p.end
		return nil, p.err(n)
	}
	h := p.buf[p.start : p.start+16]
	p.start += 16
	ci.Timestamp = time.Unix(int64(p.order.Uint32(h[0:4])), int64(p.order.Uint32(h[4:8])*p.nanos)).UTC()
	ci.CaptureLength = int(p.order.Uint32(h[8:12]))
	ci.Length = int(p.order.Uint32(h[12:16]))
	max := pcapEagerMax
	if p.snaplen > pcapEagerMax {
		max = int(p.snaplen)
	}
	if ci.CaptureLength > max {
		return nil, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, p.snaplen)
	}
	// A record claiming more captured bytes than the packet had is read
	// on, as Wireshark does: its bytes are there (the framing checks they
	// fit), and the caller's watch warns about it.
	n := ci.CaptureLength
	p.inBig = n > pcapEagerMax
	if p.inBig {
		return p.readBig(n)
	}
	if !p.fill(n) {
		got := p.end - p.start
		p.start = p.end
		return nil, p.err(got)
	}
	data := p.buf[p.start : p.start+n : p.start+n]
	p.start += n
	return data, nil
}

// readBig reads a frame larger than pcapEagerMax, growing its buffer as
// the bytes come, as pcapgo does.
func (p *pcapRecords) readBig(n int) ([]byte, error) {
	b := bytes.NewBuffer(p.big[:0])
	have := min(n, p.end-p.start)
	b.Write(p.buf[p.start : p.start+have])
	p.start += have
	if have < n && p.eof == nil {
		m, err := io.CopyN(b, p.r, int64(n-have))
		have += int(m)
		if err != nil {
			p.eof = err
		}
	}
	p.big = b.Bytes()
	if have < n {
		if errors.Is(p.eof, io.EOF) {
			if have == 0 {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		}
		return nil, p.eof
	}
	return p.big, nil
}
