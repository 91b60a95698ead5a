package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// DamageError says where and how a capture file is damaged: cut short, or
// with a header or block whose lengths cannot be right. The frames before
// Frame were read; nothing after it can be trusted, so reading stops.
type DamageError struct {
	Name  string // the file, as given
	Frame int    // the frame (from 1) the damage is in; 0: the file header
	// Offset is where in the (decompressed) file the damaged record or
	// block starts, or where the file ends.
	Offset int64
	Msg    string // what is wrong, in words: "the file ends inside ..."
}

func (e *DamageError) Error() string {
	if e.Frame == 0 {
		return fmt.Sprintf("capture: %s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("capture: %s: frame %d: %s", e.Name, e.Frame, e.Msg)
}

// maxRecord is the largest frame a capture record may hold: libpcap's
// MAXIMUM_SNAPLEN, what tcpdump and Wireshark accept too (unless the file
// header declares a larger snapshot length).
const maxRecord = 262144

// Formats as the framing checker sees the byte stream.
const (
	framingSniff  = iota // reading the first bytes
	framingPcap          // classic pcap
	framingPcapng        // pcapng
	framingOff           // not a capture (or compressed): passed through unchecked
)

// framing watches the bytes of a capture on their way to the reader and
// checks how they are framed: the file header, then each record header
// (pcap) or block (pcapng) and its lengths, skipping over the data without
// copying it. When a length cannot be right it ends the stream after the
// bad header (readers never see the bytes after it, so they cannot misread
// them); when the input ends inside a header, a record or a block, it
// notes where. Either way it keeps a *DamageError naming the frame, which
// File returns instead of whatever the reader made of the end. Readers get
// the errors they would get without it. The result depends only on the
// bytes, not on how reads cut them.
type framing struct {
	r      io.Reader
	name   string
	format int
	// err is what reads return once the input ended or the framing
	// stopped it (io.EOF then, as if the file ended there); dmg says why
	// when the file is damaged.
	err error
	dmg *DamageError
	// readerSays is part of the error the readers give for the same
	// damage, when they check it too: on the same header both stop.
	readerSays string
	readerAt   int // the frame the readers' error is about

	off   int64 // stream offset of the next byte
	frame int   // frames whose first byte has been seen

	// The header under way (file header, record header, block header,
	// the fixed part of a block, its trailing length): want bytes of it,
	// hdrN collected in hdr.
	hdr   [28]byte
	hdrN  int
	want  int
	start int64  // where the current header, record or block starts
	skip  int64  // bytes to pass before the next header
	what  string // the current part, for messages: "the packet"...
	total int64  // its length, 0 when not known yet

	order   byteOrder
	ordered bool   // order is known: the pcap file header or a pcapng section header was read
	snaplen uint32 // pcap: from the file header
	// pcap: the record before claimed more or fewer captured bytes than
	// its packet had, not cut by the snapshot length (where it starts);
	// readers read on, and blame it when no record follows it.
	over      [2]int64 // captured, original
	overStart int64

	// pcapng: the interfaces the current section declared and the
	// snapshot length of the first (Simple Packet Blocks use it); the
	// block under way.
	ifaces   int
	snaplen0 uint32
	typ      uint32
	inBlock  bool // its type and length were read
	ngPacket bool // it is a packet block (a frame)
	trailer  bool // its trailing length is being read
	header0  bool // still in the file header (pcap) or first block (pcapng)
}

// pcapng block types.
const (
	ngInterface      = 0x00000001
	ngPacketObsolete = 0x00000002
	ngSimplePacket   = 0x00000003
	ngEnhancedPacket = 0x00000006
)

func newFraming(r io.Reader, name string) *framing {
	return &framing{r: r, name: name, want: 4, header0: true, what: "the file header"}
}

func (f *framing) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.r.Read(p)
	if f.format != framingOff {
		if i := f.scan(p[:n]); i < n || f.err != nil {
			return i, nil // the end comes with the next read
		}
	}
	if err != nil {
		f.err = err
		if f.format != framingOff {
			f.end(err)
		}
		return n, err
	}
	return n, nil
}

// same notes a damage the readers check too (their error says s).
func (f *framing) same(s string, frame int, format string, args ...any) {
	f.damage(frame, format, args...)
	f.readerSays, f.readerAt = s, frame
}

// damage notes a *DamageError and stops the stream there.
func (f *framing) damage(frame int, format string, args ...any) {
	f.dmg = &DamageError{Name: f.name, Frame: frame, Offset: f.start, Msg: fmt.Sprintf(format, args...)}
	if f.err == nil {
		f.err = io.EOF
	}
}

// here is the frame the current position belongs to: the packet record or
// block under way, else the next frame; 0 in the file header.
func (f *framing) here() int {
	switch {
	case f.header0:
		return 0
	case f.format == framingPcap || f.ngPacket:
		return f.frame
	}
	return f.frame + 1
}

// end judges an input that ended with err.
func (f *framing) end(err error) {
	atBoundary := f.hdrN == 0 && f.skip == 0 && !f.inBlock && !f.header0
	if f.format == framingSniff {
		atBoundary = f.hdrN == 0 || !magicPrefix(f.hdr[:f.hdrN])
	}
	switch {
	case err == io.EOF && atBoundary:
		return // a clean end
	case errors.Is(err, io.ErrUnexpectedEOF):
		// Only a decompressor says so: the gzip stream is cut short.
		if atBoundary && f.format != framingSniff {
			f.damage(f.frame+1, "the compressed stream ends early, after frame %d", f.frame)
			return
		}
		f.damage(f.here(), "the compressed stream ends early, %s", f.where())
	case err == io.EOF:
		f.damage(f.here(), "the file ends %s", f.where())
	case errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || isFlateError(err):
		f.damage(f.here(), "the compressed stream is corrupt (%v), %s", err, f.where())
	}
}

func isFlateError(err error) bool {
	var c flate.CorruptInputError
	return errors.As(err, &c)
}

// where says how far the current part of the file got.
func (f *framing) where() string {
	got := f.off - f.start
	switch {
	case f.format == framingSniff:
		return fmt.Sprintf("inside the file header (%d bytes)", got)
	case f.hdrN == 0 && f.skip == 0 && !f.inBlock && !f.header0 && !f.trailer:
		return fmt.Sprintf("after frame %d", f.frame)
	case f.what == "":
		if got == 0 {
			return fmt.Sprintf("after frame %d", f.frame)
		}
		return fmt.Sprintf("inside a block header (%d of 8 bytes)", got)
	case f.total > 0:
		return fmt.Sprintf("inside %s (%d of %d bytes)", f.what, got, f.total)
	}
	return fmt.Sprintf("inside %s (%d bytes)", f.what, got)
}

// magicPrefix reports whether b is the start of a capture file's magic.
func magicPrefix(b []byte) bool {
	for _, m := range [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
		{0x0a, 0x0d, 0x0d, 0x0a},
	} {
		if bytes.HasPrefix(m, b) {
			return true
		}
	}
	return false
}

// scan follows the framing through p and returns how many of its bytes
// may go on: all of them, or those up to the end of the bad header
// (f.err is then set).
func (f *framing) scan(p []byte) int {
	i := 0
	for i < len(p) && f.err == nil && f.format != framingOff {
		if f.skip > 0 {
			n := int(min(int64(len(p)-i), f.skip))
			f.skip -= int64(n)
			f.off += int64(n)
			i += n
			if f.skip == 0 {
				f.bodyDone()
			}
			continue
		}
		if f.hdrN == 0 && !f.trailer {
			f.begin()
			if f.format == framingPcap && !f.header0 && len(p)-i >= f.want {
				// A whole record header: read where it is.
				i += f.want
				f.off += int64(f.want)
				f.pcapHeader(p[i-f.want : i])
				continue
			}
		}
		n := copy(f.hdr[f.hdrN:f.want], p[i:])
		f.hdrN += n
		f.off += int64(n)
		i += n
		if f.hdrN == f.want {
			f.header()
		}
	}
	if f.format == framingOff {
		return len(p) // not a capture: everything passes
	}
	return i
}

// begin starts a record or block at the current position.
func (f *framing) begin() {
	f.start = f.off
	switch f.format {
	case framingPcap:
		f.frame++
		f.what, f.total, f.want = "the record header", 16, 16
	case framingPcapng:
		f.what, f.total, f.want = "", 0, 8
		f.inBlock, f.ngPacket = false, false
	}
}

// bodyDone is called when the data of a record or block has passed.
func (f *framing) bodyDone() {
	if f.format == framingPcapng {
		f.trailer, f.want, f.hdrN = true, 4, 0
		return
	}
	f.what = ""
}

// header handles a complete header (f.want bytes in f.hdr).
func (f *framing) header() {
	switch f.format {
	case framingSniff:
		f.sniff()
	case framingPcap:
		f.pcapHeader(f.hdr[:f.hdrN])
	case framingPcapng:
		f.ngHeader()
	}
}

func (f *framing) sniff() {
	m := f.hdr[:4]
	switch {
	case m[0] == 0x1f && m[1] == 0x8b:
		f.format = framingOff // gzip: the checker of the decompressed stream takes over
	case bytes.Equal(m, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		f.format = framingPcapng
		f.want = 8 // go on collecting the block header
	case isPcapMagic(m):
		f.format = framingPcap
		f.order, f.ordered = littleEndian, true
		if m[0] == 0xa1 {
			f.order = bigEndian
		}
		f.total, f.want = 24, 24
	default:
		f.format = framingOff
	}
}

func (f *framing) pcapHeader(h []byte) {
	f.hdrN = 0
	if f.header0 {
		f.header0 = false
		f.snaplen = f.order.Uint32(h[16:20])
		f.what = ""
		return
	}
	capLen, origLen := int64(f.order.Uint32(h[8:12])), int64(f.order.Uint32(h[12:16]))
	limit := max(int64(maxRecord), int64(f.snaplen))
	prev := f.over
	f.over = [2]int64{}
	switch {
	case capLen > limit && prev[0] > 0:
		// The record before claimed more or fewer bytes than its packet
		// had, and after them comes no record: its captured length is
		// what is wrong (one flipped byte), so the damage is there.
		f.same("capture length exceeds snap length", f.frame, "the record header claims %d captured bytes of a %d-byte packet, and no record header follows them: its captured length is wrong", prev[0], prev[1])
		f.dmg.Frame, f.dmg.Offset = f.frame-1, f.overStart
	case capLen > limit:
		f.same("capture length exceeds snap length", f.frame, "the record header claims %d captured bytes, more than a capture holds (%d)", capLen, limit)
	case capLen == 0:
		f.what = ""
	default:
		f.what, f.total = "the packet", 16+capLen
		f.skip = capLen
		if capLen != origLen && capLen != int64(f.snaplen) {
			f.over, f.overStart = [2]int64{capLen, origLen}, f.start
		}
	}
}

// ngMinLen is the smallest total length of a block of type typ.
func ngMinLen(typ uint32) int64 {
	switch typ {
	case ngSectionHeader:
		return 28
	case ngInterface:
		return 20
	case ngSimplePacket:
		return 16
	case ngEnhancedPacket, ngPacketObsolete:
		return 32
	}
	return 12
}

func ngName(typ uint32) string {
	switch typ {
	case ngSectionHeader:
		return "a Section Header Block"
	case ngInterface:
		return "an Interface Description Block"
	case ngPacketObsolete:
		return "a Packet Block"
	case ngSimplePacket:
		return "a Simple Packet Block"
	case ngEnhancedPacket:
		return "an Enhanced Packet Block"
	}
	return fmt.Sprintf("a block of type %#x", typ)
}

func (f *framing) ngHeader() {
	h := f.hdr[:f.hdrN]
	switch {
	case f.trailer:
		if end := int64(f.order.Uint32(h)); end != f.total {
			f.damage(f.here(), "%s at byte %d: length %d at its start, %d at its end", ngName(f.typ), f.start, f.total, end)
		}
		f.hdrN, f.trailer, f.inBlock, f.ngPacket, f.what = 0, false, false, false, ""
		f.header0 = false
	case !f.inBlock && len(h) == 8 && binary.LittleEndian.Uint32(h) == ngSectionHeader:
		f.want = 12 // the byte-order magic too
		f.what = ngName(ngSectionHeader)
	case !f.inBlock:
		f.blockStart(h)
	default:
		f.blockFixed(h)
	}
}

// blockStart handles a block's type and total length (and the byte-order
// magic of a section header).
func (f *framing) blockStart(h []byte) {
	if binary.LittleEndian.Uint32(h) == ngSectionHeader {
		switch {
		case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			f.order, f.ordered = littleEndian, true
		case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			f.order, f.ordered = bigEndian, true
		default:
			f.same("Wrong byte order", f.here(), "a Section Header Block at byte %d has a bad byte-order magic (% x)", f.start, h[8:12])
			return
		}
		f.ifaces, f.snaplen0 = 0, 0
	}
	if !f.ordered {
		f.damage(f.here(), "the file does not start with a Section Header Block")
		return
	}
	f.typ = f.order.Uint32(h[0:4])
	f.total = int64(f.order.Uint32(h[4:8]))
	f.what = ngName(f.typ)
	f.inBlock = true
	switch f.typ {
	case ngEnhancedPacket, ngPacketObsolete, ngSimplePacket:
		f.frame++
		f.ngPacket = true
		f.header0 = false
	}
	if f.total < ngMinLen(f.typ) || f.total%4 != 0 {
		f.damage(f.here(), "%s at byte %d: total length %d is impossible (at least %d, a multiple of 4)", f.what, f.start, f.total, ngMinLen(f.typ))
		return
	}
	switch f.typ {
	case ngEnhancedPacket, ngPacketObsolete:
		f.want = 28
	case ngInterface:
		f.want = 16
	case ngSimplePacket:
		f.want = 12
	default:
		f.fixedDone(int64(len(h)))
	}
}

// blockFixed handles the fixed part of an interface or packet block.
func (f *framing) blockFixed(h []byte) {
	var capLen int64
	switch f.typ {
	case ngInterface:
		f.ifaces++
		if f.ifaces == 1 {
			f.snaplen0 = f.order.Uint32(h[12:16])
		}
	case ngEnhancedPacket, ngPacketObsolete:
		iface := int(f.order.Uint32(h[8:12]))
		if f.typ == ngPacketObsolete {
			iface = int(f.order.Uint16(h[8:10]))
		}
		if iface >= f.ifaces {
			f.same("not present in section", f.frame, "the packet is on interface %d, but the section declares %d interface(s)", iface, f.ifaces)
			return
		}
		capLen = int64(f.order.Uint32(h[20:24]))
	case ngSimplePacket:
		if f.ifaces == 0 {
			f.same("At least one Interface", f.frame, "a Simple Packet Block comes before any Interface Description Block")
			return
		}
		capLen = int64(f.order.Uint32(h[8:12]))
		if f.snaplen0 != 0 && capLen > int64(f.snaplen0) {
			capLen = int64(f.snaplen0)
		}
	}
	if need := int64(len(h)) + (capLen+3)&^3 + 4; need > f.total {
		f.damage(f.frame, "%s at byte %d: %d captured bytes do not fit in its %d bytes", f.what, f.start, capLen, f.total)
		return
	}
	f.fixedDone(int64(len(h)))
}

// fixedDone goes on to the rest of the block after its first n bytes.
func (f *framing) fixedDone(n int64) {
	f.hdrN = 0
	f.skip = f.total - n - 4
	if f.skip == 0 {
		f.bodyDone()
	}
}

// explain returns what File reports for err, the error a reader returned
// while reading frame (0: the file header): the framing checker's
// *DamageError when it explains err, else err. It does when the reader met
// the end of the stream (where the input ended, or where the checker
// stopped it after a bad header), or failed the same check on the same
// header. The checker reads ahead of the readers, so damage it saw further
// on does not explain an error of theirs before it: the answer depends
// only on the bytes, never on how reads cut them.
func (f *File) explain(err error, frame int) error {
	d := f.framing.dmg
	if d == nil || err == nil {
		return err
	}
	end := f.framing.err
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return d
	case end != nil && !errors.Is(end, io.EOF) && !errors.Is(end, io.ErrUnexpectedEOF) && strings.Contains(err.Error(), end.Error()):
		return d // the input's own error (a corrupt gzip stream), passed on
	case f.framing.readerSays != "" && f.framing.readerAt == frame && strings.Contains(err.Error(), f.framing.readerSays):
		return d
	}
	return err
}

// InterfaceSnaplen is the snapshot length that applies to frames of
// interface i (the file header's for pcap), 0 when unknown.
func (f *File) InterfaceSnaplen(i int) int {
	if f.ng != nil {
		intf, err := f.ng.Interface(i)
		if err != nil {
			return 0
		}
		return int(intf.SnapLength)
	}
	return f.Snaplen()
}

// badHeader is the error for a file whose header the reader of format
// refused: the magic said it is a capture, so it is damaged.
func (f *File) badHeader(format string, err error) error {
	if d := f.explain(err, 0); d != err {
		return d
	}
	return &DamageError{Name: f.Name, Msg: fmt.Sprintf("bad %s header: %v", format, err)}
}
