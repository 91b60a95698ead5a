// Package brokencaps makes broken and odd capture files from a good one,
// for tests: cut short at every kind of boundary, with a wrong magic,
// wrong lengths, frames longer than the snapshot length or cut by it,
// empty frames, an unknown link type, time going backwards, a packet on an
// interface never declared, and gzip-compressed variants.
//
// Good makes the good capture: three TLS connections one after the other
// (TLS 1.2 completed, TLS 1.2 rejected by the client right after the
// server's Certificate, TLS 1.3 completed). Cases takes a good pcap or
// pcapng file, as internal/pcaptest writes them, and returns the broken
// variants, each saying what a reader must make of it.
package brokencaps

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Case is one broken or odd capture file.
type Case struct {
	Name string // "pcap/truncated-mid-packet", "pcapng.gz/..."
	Data []byte
	// Damaged: reading must stop at the damage, the report covering the
	// frames before (tlstriage's exit status 3). Unreadable: not
	// recognisable as a capture at all (exit status 2). Neither: the file
	// is valid and read to its end; the oddity is a warning, or nothing.
	Damaged, Unreadable bool
	// Frame is the frame (from 1) the problem is in or starts at: 0 for
	// the file header, -1 when it depends on how gzip compressed the file.
	Frame int
	// Intact is how many leading frames are those of the good capture
	// unchanged: same bytes, same times, same frame numbers.
	Intact int
	// Want is part of what the warning (or error) must say; empty when
	// nothing is to be said.
	Want string
}

// Good returns the frames of the good capture (Ethernet) and the number
// of the last frame of each of its three connections.
func Good() (pkts []pcaptest.Packet, last []int, err error) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
	if err != nil {
		return nil, nil, err
	}
	scenarios := []pcaptest.TLSOptions{
		{PKI: pki, MaxVersion: tls.VersionTLS12, AppData: true, Close: pcaptest.CloseClientFirst},
		{PKI: pki, MaxVersion: tls.VersionTLS12, ClientRoots: x509.NewCertPool(), OnReject: pcaptest.DropAlert, Close: pcaptest.ClosePlaybook},
		{PKI: pki, MinVersion: tls.VersionTLS13, AppData: true, Close: pcaptest.CloseClientFirst},
	}
	for i, o := range scenarios {
		c, err := pcaptest.Record(o)
		if err != nil {
			return nil, nil, err
		}
		p, err := pcaptest.Frame(c, pcaptest.FrameOptions{
			Client: netip.AddrPortFrom(pcaptest.DefaultClient.Addr(), uint16(43210+i)),
			Start:  pcaptest.DefaultStart.Add(time.Duration(i) * time.Second),
		})
		if err != nil {
			return nil, nil, err
		}
		pkts = append(pkts, p...)
		last = append(last, len(pkts))
	}
	return pkts, last, nil
}

// record is one frame of a capture, or (raw != nil) a pcapng block that is
// not a frame, written as is.
type record struct {
	iface           uint32
	ts              uint64 // pcap: seconds<<32 | fraction; pcapng: the block's units
	capLen, origLen uint32
	data            []byte
	raw             []byte
}

// capture is a parsed capture file.
type capture struct {
	ng    bool
	order binary.ByteOrder
	head  []byte // pcap: the 24-byte file header; pcapng: the blocks before the first packet
	recs  []record
	unit  uint64 // timestamp units per second
}

// parse reads a capture as pcaptest writes them (pcap: either byte order;
// pcapng: one section, interface blocks before the packets).
func parse(b []byte) (*capture, error) {
	if len(b) < 24 {
		return nil, errors.New("brokencaps: file too short")
	}
	c := &capture{}
	if binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		return c, c.parseNg(b)
	}
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		c.order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		c.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("brokencaps: magic % x", b[:4])
	}
	c.unit = 1_000_000
	if c.order.Uint32(b) == 0xa1b23c4d {
		c.unit = 1_000_000_000
	}
	c.head = bytes.Clone(b[:24])
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, errors.New("brokencaps: truncated record")
		}
		h := b[off : off+16]
		r := record{ts: uint64(c.order.Uint32(h))<<32 | uint64(c.order.Uint32(h[4:])), capLen: c.order.Uint32(h[8:]), origLen: c.order.Uint32(h[12:])}
		off += 16
		if off+int(r.capLen) > len(b) {
			return nil, errors.New("brokencaps: truncated record")
		}
		r.data = bytes.Clone(b[off : off+int(r.capLen)])
		off += int(r.capLen)
		c.recs = append(c.recs, r)
	}
	return c, nil
}

func (c *capture) parseNg(b []byte) error {
	c.ng = true
	switch {
	case binary.LittleEndian.Uint32(b[8:]) == 0x1a2b3c4d:
		c.order = binary.LittleEndian
	case binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d:
		c.order = binary.BigEndian
	default:
		return errors.New("brokencaps: bad byte-order magic")
	}
	c.unit = 1_000_000
	for off := 0; off < len(b); {
		if off+12 > len(b) {
			return errors.New("brokencaps: truncated block")
		}
		typ, n := c.order.Uint32(b[off:]), int(c.order.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			return errors.New("brokencaps: bad block length")
		}
		blk := b[off : off+n]
		switch typ {
		case 6:
			r := record{iface: c.order.Uint32(blk[8:]), ts: uint64(c.order.Uint32(blk[12:]))<<32 | uint64(c.order.Uint32(blk[16:])),
				capLen: c.order.Uint32(blk[20:]), origLen: c.order.Uint32(blk[24:])}
			r.data = bytes.Clone(blk[28 : 28+r.capLen])
			c.recs = append(c.recs, r)
		case 1:
			c.unit = tsUnit(blk, c.order)
			fallthrough
		default:
			if len(c.recs) > 0 {
				return errors.New("brokencaps: a block other than a packet after the first packet")
			}
			c.head = append(c.head, blk...)
		}
		off += n
	}
	return nil
}

// tsUnit reads the if_tsresol option of an interface block: timestamp
// units per second (default microseconds).
func tsUnit(blk []byte, order binary.ByteOrder) uint64 {
	opts := blk[16 : len(blk)-4]
	for len(opts) >= 4 {
		code, n := order.Uint16(opts), int(order.Uint16(opts[2:]))
		if 4+n > len(opts) || code == 0 {
			break
		}
		if code == 9 && n == 1 {
			v := opts[4]
			u := uint64(1)
			for range v & 0x7f {
				if v&0x80 != 0 {
					u *= 2
				} else {
					u *= 10
				}
			}
			return u
		}
		opts = opts[4+(n+3)&^3:]
	}
	return 1_000_000
}

// layout is a written capture with where each frame starts and ends.
type layout struct {
	data        []byte
	start, stop []int // of each frame's record or block
}

// write serialises c; frames are numbered from 1 as the records that are
// not raw blocks.
func (c *capture) write() layout {
	var l layout
	b := bytes.Clone(c.head)
	o := c.order.(binary.AppendByteOrder)
	for _, r := range c.recs {
		if r.raw != nil {
			b = append(b, r.raw...)
			continue
		}
		l.start = append(l.start, len(b))
		if !c.ng {
			b = o.AppendUint32(b, uint32(r.ts>>32))
			b = o.AppendUint32(b, uint32(r.ts))
			b = o.AppendUint32(b, r.capLen)
			b = o.AppendUint32(b, r.origLen)
			b = append(b, r.data...)
		} else {
			n := 32 + (len(r.data)+3)&^3
			b = o.AppendUint32(b, 6)
			b = o.AppendUint32(b, uint32(n))
			b = o.AppendUint32(b, r.iface)
			b = o.AppendUint32(b, uint32(r.ts>>32))
			b = o.AppendUint32(b, uint32(r.ts))
			b = o.AppendUint32(b, r.capLen)
			b = o.AppendUint32(b, r.origLen)
			b = append(b, r.data...)
			b = append(b, make([]byte, (4-len(r.data)%4)%4)...)
			b = o.AppendUint32(b, uint32(n))
		}
		l.stop = append(l.stop, len(b))
	}
	l.data = b
	return l
}

// clone returns a deep enough copy of c to change its records.
func (c *capture) clone() *capture {
	d := *c
	d.head = bytes.Clone(c.head)
	d.recs = append([]record(nil), c.recs...)
	return &d
}

// block builds a pcapng block of type typ around body.
func (c *capture) block(typ uint32, body []byte) []byte {
	o := c.order.(binary.AppendByteOrder)
	n := 12 + (len(body)+3)&^3
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, uint32(n))
	b = append(b, body...)
	b = append(b, make([]byte, (4-len(body)%4)%4)...)
	return o.AppendUint32(b, uint32(n))
}

// Cases returns the broken and odd variants of good, a pcap or pcapng
// file. frame (from 2) is the frame damaged, or where an odd frame goes.
func Cases(good []byte, frame int) ([]Case, error) {
	c, err := parse(good)
	if err != nil {
		return nil, err
	}
	if frame < 2 || frame > len(c.recs) {
		return nil, fmt.Errorf("brokencaps: frame %d of %d", frame, len(c.recs))
	}
	if c.ng {
		return c.ngCases(frame)
	}
	return c.pcapCases(frame)
}

// common are the cases built the same way for both formats: cut short at
// a record boundary, in the middle of a packet, wrong magic, snapshot
// length oddities, empty frames, time going backwards, and the gzip
// variants of a cut.
func (c *capture) common(prefix string, k int) []Case {
	l := c.write()
	n := len(c.recs)
	mid := l.start[k-1] + (l.stop[k-1]-l.start[k-1])/2
	out := []Case{
		{Name: "truncated-at-frame-boundary", Data: l.data[:l.start[k-1]], Frame: k, Intact: k - 1},
		{Name: "truncated-mid-packet", Data: l.data[:mid], Damaged: true, Frame: k, Intact: k - 1},
		{Name: "wrong-magic", Data: append([]byte("\x00BAD"), l.data[4:]...), Unreadable: true, Want: "not a pcap or pcapng file"},
	}
	if c.ng {
		out[1].Want = "inside an Enhanced Packet Block"
	} else {
		out[1].Want = "inside the packet"
	}

	// The snapshot length: frames longer than the file says it keeps, and
	// frames cut by it (tcpdump -s 96).
	const snap = 96
	long, cut := c.clone(), c.clone()
	long.setSnaplen(snap)
	cut.setSnaplen(snap)
	first := 0
	for i := range cut.recs {
		r := &cut.recs[i]
		if len(r.data) > snap {
			r.data = r.data[:snap]
			r.capLen = snap
			if first == 0 {
				first = i + 1
			}
		}
	}
	firstLong := 0
	for i, r := range c.recs {
		if len(r.data) > snap {
			firstLong = i + 1
			break
		}
	}
	out = append(out,
		Case{Name: "longer-than-snaplen", Data: long.write().data, Frame: firstLong, Intact: n, Want: "longer than the snapshot length"},
		Case{Name: "snaplen-96", Data: cut.write().data, Frame: first, Intact: first - 1, Want: "cut by the snapshot length"},
	)

	// An empty frame before frame k.
	empty := c.clone()
	z := c.recs[k-2]
	z.capLen, z.origLen, z.data = 0, 0, nil
	empty.recs = append(empty.recs[:k-1], append([]record{z}, empty.recs[k-1:]...)...)
	out = append(out, Case{Name: "zero-length-frame", Data: empty.write().data, Frame: k, Intact: k - 1, Want: "empty"})

	// Frame k an hour before frame k-1.
	back := c.clone()
	back.recs[k-1].ts = c.recs[k-2].ts - c.tsDelta(time.Hour)
	out = append(out, Case{Name: "time-backwards", Data: back.write().data, Frame: k, Intact: k - 1, Want: "earlier than frame"})
	// Frame k alone decades ahead, or back: a wrong timestamp, not time
	// passing.
	decades := c.tsDelta(40 * 365 * 24 * time.Hour)
	ahead, behind := c.clone(), c.clone()
	ahead.recs[k-1].ts += decades
	behind.recs[k-1].ts -= decades
	out = append(out,
		Case{Name: "time-decades-ahead", Data: ahead.write().data, Frame: k, Intact: k - 1, Want: "more than a year from"},
		Case{Name: "time-decades-back", Data: behind.write().data, Frame: k, Intact: k - 1, Want: "more than a year from"},
	)

	// gzip: a cut file compressed (the gzip stream itself is whole); a
	// whole file whose gzip stream is cut, in its data or in its own
	// header; a wrong checksum; bytes after the stream that are no gzip
	// (read to the end, as gzip -d does, with a warning).
	zipped := gz(l.data)
	badSum := append([]byte(nil), zipped...)
	badSum[len(badSum)-6] ^= 0xff // the CRC-32, before the length
	out = append(out,
		Case{Name: "truncated-mid-packet.gz", Data: gz(out[1].Data), Damaged: true, Frame: k, Intact: k - 1, Want: out[1].Want},
		Case{Name: "gzip-stream-cut", Data: gzCut(l.data), Damaged: true, Frame: -1, Want: "compressed stream ends early"},
		Case{Name: "gzip-header-cut", Data: zipped[:5], Damaged: true, Frame: 0, Want: "inside the gzip header"},
		Case{Name: "gzip-checksum", Data: badSum, Damaged: true, Frame: -1, Intact: len(c.recs), Want: "invalid checksum"},
		Case{Name: "gzip-trailing-garbage", Data: append(append([]byte(nil), zipped...), "garbage\n"...), Frame: len(c.recs), Intact: len(c.recs), Want: "8 bytes of trailing garbage"},
	)
	for i := range out {
		out[i].Name = prefix + "/" + out[i].Name
	}
	return out
}

// tsDelta is d in the capture's timestamp units.
func (c *capture) tsDelta(d time.Duration) uint64 {
	if !c.ng {
		// seconds<<32 | fraction: whole seconds only.
		return uint64(d/time.Second) << 32
	}
	return uint64(d.Seconds() * float64(c.unit))
}

// setSnaplen sets the snapshot length of the file header (pcap) or of the
// interface blocks (pcapng).
func (c *capture) setSnaplen(n uint32) {
	if !c.ng {
		c.order.PutUint32(c.head[16:], n)
		return
	}
	for off := 0; off < len(c.head); {
		typ, l := c.order.Uint32(c.head[off:]), int(c.order.Uint32(c.head[off+4:]))
		if typ == 1 {
			c.order.PutUint32(c.head[off+12:], n)
		}
		off += l
	}
}

func (c *capture) pcapCases(k int) ([]Case, error) {
	l := c.write()
	out := c.common("pcap", k)
	hdr := l.start[k-1]
	set := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		c.order.PutUint32(b[off:], v)
		return b
	}
	unknown := set(l.data, 20, 147) // LINKTYPE_USER0
	out = append(out,
		Case{Name: "pcap/truncated-file-header", Data: l.data[:10], Damaged: true, Frame: 0, Want: "inside the file header"},
		Case{Name: "pcap/truncated-magic", Data: l.data[:2], Damaged: true, Frame: 0, Want: "inside the file header"},
		Case{Name: "pcap/truncated-record-header", Data: l.data[:hdr+7], Damaged: true, Frame: k, Intact: k - 1, Want: "inside the record header"},
		Case{Name: "pcap/caplen-huge", Data: set(set(l.data, hdr+8, 0x7fffffff), hdr+12, 0x7fffffff), Damaged: true, Frame: k, Intact: k - 1, Want: "captured bytes, more than"},
		Case{Name: "pcap/caplen-above-length", Data: set(l.data, hdr+12, c.recs[k-1].capLen-1), Frame: k, Intact: len(c.recs), Want: "more than the packet's original length"},
		// One flipped byte makes a captured length wrong: the record
		// reads into the next, after which no record header follows.
		Case{Name: "pcap/caplen-flipped-up", Data: set(l.data, hdr+8, c.recs[k-1].capLen+100), Damaged: true, Frame: k, Intact: k - 1, Want: "its captured length is wrong"},
		Case{Name: "pcap/caplen-flipped-down", Data: set(l.data, hdr+8, c.recs[k-1].capLen-30), Damaged: true, Frame: k, Intact: k - 1, Want: "its captured length is wrong"},
		Case{Name: "pcap/unknown-link-type", Data: unknown, Frame: 1, Want: "link type"},
	)
	return out, nil
}

func (c *capture) ngCases(k int) ([]Case, error) {
	l := c.write()
	out := c.common("pcapng", k)
	blk := l.start[k-1]
	end := l.stop[k-1]
	set := func(offs []int, v uint32) []byte {
		b := bytes.Clone(l.data)
		for _, off := range offs {
			c.order.PutUint32(b[off:], v)
		}
		return b
	}
	size := uint32(end - blk)
	shbLen := int(c.order.Uint32(c.head[4:]))

	// A second interface of an unknown link type, and a frame on it,
	// before frame k.
	other := c.clone()
	o := c.order.(binary.AppendByteOrder)
	idb := o.AppendUint16(nil, 147) // LINKTYPE_USER0
	idb = o.AppendUint16(idb, 0)
	idb = o.AppendUint32(idb, 0)
	if c.unit == 1_000_000_000 {
		// if_tsresol 9 (nanoseconds) as the first interface, so that the
		// timestamps of the frame on it mean the same.
		idb = o.AppendUint16(idb, 9)
		idb = o.AppendUint16(idb, 1)
		idb = append(idb, 9, 0, 0, 0)
		idb = o.AppendUint32(idb, 0) // opt_endofopt
	}
	extra := c.recs[k-2]
	extra.iface = 1
	other.recs = append(other.recs[:k-1], append([]record{{raw: c.block(1, idb)}, extra}, other.recs[k-1:]...)...)
	// Frame k on interface 5, which no block declared.
	stray := c.clone()
	stray.recs[k-1].iface = 5

	out = append(out,
		Case{Name: "pcapng/truncated-section-header", Data: l.data[:10], Damaged: true, Frame: 0, Want: "inside a Section Header Block"},
		Case{Name: "pcapng/truncated-interface-block", Data: l.data[:shbLen+12], Damaged: true, Frame: 1, Want: "inside an Interface Description Block"},
		Case{Name: "pcapng/truncated-block-header", Data: l.data[:blk+5], Damaged: true, Frame: k, Intact: k - 1, Want: "inside a block header"},
		Case{Name: "pcapng/truncated-block-trailer", Data: l.data[:end-2], Damaged: true, Frame: k, Intact: k - 1, Want: "inside an Enhanced Packet Block"},
		Case{Name: "pcapng/bad-byte-order-magic", Data: set([]int{8}, 0x01020304), Damaged: true, Frame: 0, Want: "byte-order magic"},
		Case{Name: "pcapng/block-length-too-small", Data: set([]int{blk + 4}, 8), Damaged: true, Frame: k, Intact: k - 1, Want: "total length 8"},
		Case{Name: "pcapng/block-length-unaligned", Data: set([]int{blk + 4, end - 4}, size+1), Damaged: true, Frame: k, Intact: k - 1, Want: "total length"},
		Case{Name: "pcapng/block-length-mismatch", Data: set([]int{blk + 4}, size+4), Damaged: true, Frame: k, Intact: k - 1, Want: "at its start"},
		Case{Name: "pcapng/caplen-beyond-block", Data: set([]int{blk + 20}, 100_000), Damaged: true, Frame: k, Intact: k - 1, Want: "do not fit"},
		Case{Name: "pcapng/undeclared-interface", Data: stray.write().data, Damaged: true, Frame: k, Intact: k - 1, Want: "interface 5"},
		Case{Name: "pcapng/unknown-link-type-interface", Data: other.write().data, Frame: k, Intact: k - 1, Want: "link type"},
	)
	return out, nil
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gzCut compresses b and cuts the gzip stream at three fifths.
func gzCut(b []byte) []byte {
	z := gz(b)
	return z[:len(z)*3/5]
}
