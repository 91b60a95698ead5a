// Package pcapout writes the packets of chosen connections to pcapng
// files for -w: every packet, or those of the connections judged failed
// (held per connection until its verdict), each with a comment naming its
// connection's verdict and cause (Wireshark's frame.comment), in files
// rotated as tcpdump's -C, -W and -G rotate them (internal/rotate).
package pcapout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/internal/rotate"
)

// Bounds of the packets held until their connection's verdict.
const (
	MaxConnBytes   = 4 << 20
	MaxConnPackets = 10_000
	MaxHeldBytes   = 256 << 20
	packetOverhead = 96 // bookkeeping per held packet, counted in the bounds
)

// Options say where and how packets are written.
type Options struct {
	Name   string
	Force  bool           // overwrite existing files
	Rotate rotate.Options // -C, -W, -G; Force and Start are set from here
	// Interface describes the packets' first interface: its name, link
	// type, snapshot length, filter. Packets of other link types get
	// interfaces of their own, named as Interface.
	Interface pcapgo.NgInterface
	// Opened, if set, is called with the name of each file opened.
	Opened func(name string)
}

// Writer writes packets to the -w files. It is not safe for concurrent
// use. A nil *Writer does nothing.
type Writer struct {
	o      Options
	files  *rotate.Files[*pcapgo.NgWriter]
	ifaces []pcapgo.NgInterface
	index  map[layers.LinkType]int
	err    error // the first error; nothing more is written after it
	closed bool

	conns map[int]*heldConn // by connection ID
	held  int               // bytes held over every connection

	stats Stats
}

// Stats are the counts of a Writer.
type Stats struct {
	Packets       int    // packets written
	Evicted       int    // connections whose packets outgrew the bounds
	EvictedFailed int    // of those, the failed ones
	Files         int    // files opened
	First, Last   string // the names of the first and the last
}

// Where says where the packets went: the file, the files from the first
// name to the last, or the ring of -W files (the oldest of which may have
// been written again).
func (w *Writer) Where() string {
	s := w.Stats()
	switch {
	case s.Files <= 1:
		return s.First
	case w.o.Rotate.FileCount > 0 && w.o.Rotate.FileSize > 0 && s.Files > w.o.Rotate.FileCount:
		return fmt.Sprintf("a ring of %d files (%s ...), %d files written in turn, the last %s", w.o.Rotate.FileCount, s.First, s.Files, s.Last)
	}
	return fmt.Sprintf("%d files, %s to %s", s.Files, s.First, s.Last)
}

// heldConn is the packets of one connection waiting for its verdict.
type heldConn struct {
	pkts    []packet
	bytes   int
	evicted bool
}

type packet struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// Create makes a Writer. Without -G the first file is created at once
// (refused if it exists, unless Force); with -G, names come from the
// packets' times, and the first file is created with the first packet.
func Create(o Options) (*Writer, error) {
	w := &Writer{o: o, index: map[layers.LinkType]int{}, conns: map[int]*heldConn{}}
	w.ifaces = []pcapgo.NgInterface{o.Interface}
	w.index[o.Interface.LinkType] = 0
	if o.Rotate.Seconds == 0 {
		if err := w.open(time.Time{}); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// open creates the file set, its first file named for time t (-G).
func (w *Writer) open(t time.Time) error {
	ro := w.o.Rotate
	ro.Force, ro.Start = w.o.Force, t
	ro.Opened = func(name string) {
		w.stats.Files++
		if w.stats.First == "" {
			w.stats.First = name
		}
		w.stats.Last = name
		if w.o.Opened != nil {
			w.o.Opened(name)
		}
	}
	files, err := rotate.Create(w.o.Name, ro, w.start)
	if err != nil {
		return err
	}
	w.files = files
	return nil
}

// start writes a new file's section header and every interface so far.
func (w *Writer) start(out io.Writer) (*pcapgo.NgWriter, error) {
	ng, err := pcapgo.NewNgWriterInterface(out, w.ifaces[0], pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Application: "tlstriage", OS: runtime.GOOS, Hardware: runtime.GOARCH},
	})
	if err != nil {
		return nil, err
	}
	for _, intf := range w.ifaces[1:] {
		if _, err := ng.AddInterface(intf); err != nil {
			return nil, err
		}
	}
	return ng, nil
}

// Write writes one packet of link type lt, with comment if not empty.
func (w *Writer) Write(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, comment string) {
	if w == nil || w.err != nil || w.closed {
		return
	}
	if w.files == nil {
		if w.err = w.open(ci.Timestamp); w.err != nil {
			return
		}
	}
	ng, err := w.files.Before(ci.Timestamp)
	if err != nil {
		w.err = err
		return
	}
	idx, ok := w.index[lt]
	if !ok {
		intf := w.ifaces[0]
		intf.LinkType = lt
		if idx, w.err = ng.AddInterface(intf); w.err != nil {
			return
		}
		w.ifaces = append(w.ifaces, intf)
		w.index[lt] = idx
	}
	ci.InterfaceIndex = idx
	ci.AncillaryData = nil
	var opts pcapgo.NgPacketOptions
	if comment != "" {
		opts.Comments = []string{comment}
	}
	if w.err = ng.WritePacketWithOptions(ci, data, opts); w.err == nil {
		w.stats.Packets++
	}
}

// Hold keeps a packet of connection id (not 0) until Done tells its
// verdict; it copies what it keeps. Past the bounds (MaxConnBytes,
// MaxConnPackets, MaxHeldBytes) the connection's packets are dropped.
func (w *Writer) Hold(id int, data []byte, ci gopacket.CaptureInfo) {
	if w == nil || w.err != nil || id == 0 {
		return
	}
	hc := w.conns[id]
	if hc == nil {
		hc = &heldConn{}
		w.conns[id] = hc
	}
	if hc.evicted {
		return
	}
	n := len(data) + packetOverhead
	if hc.bytes+n > MaxConnBytes || len(hc.pkts) >= MaxConnPackets || w.held+n > MaxHeldBytes {
		w.held -= hc.bytes
		*hc = heldConn{evicted: true}
		w.stats.Evicted++
		return
	}
	hc.pkts = append(hc.pkts, packet{data: bytes.Clone(data), ci: ci})
	hc.bytes += n
	w.held += n
}

// Done is told the verdict of connection id: with write, its packets held
// are written, each with comment, then forgotten. It reports false when
// they were to be written but had outgrown the bounds.
func (w *Writer) Done(id int, write bool, comment string, lt layers.LinkType) bool {
	if w == nil {
		return true
	}
	hc := w.conns[id]
	if hc == nil {
		return true
	}
	delete(w.conns, id)
	w.held -= hc.bytes
	if !write {
		return true
	}
	if hc.evicted {
		w.stats.EvictedFailed++
		return false
	}
	for _, p := range hc.pkts {
		w.Write(p.data, p.ci, lt, comment)
	}
	return true
}

// Flush writes out what is buffered, so that the files are whole up to
// the last packet written. It returns the first error met, once.
func (w *Writer) Flush() error {
	if w == nil || w.files == nil || w.closed {
		return w.Err()
	}
	if w.err == nil {
		w.err = w.files.Flush()
	}
	return w.Err()
}

// Err is the first error met writing (nil for a nil Writer).
func (w *Writer) Err() error {
	if w == nil || w.err == nil {
		return nil
	}
	if errors.Is(w.err, rotate.ErrFileLimit) {
		return fmt.Errorf("-w %s: %d files written (-G with -W): no more packets written", w.o.Name, w.o.Rotate.FileCount)
	}
	return fmt.Errorf("-w %s: %w", w.o.Name, w.err)
}

// Close flushes and closes the file; it returns the first error met.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	err := w.Flush()
	if w.files != nil {
		if cerr := w.files.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("-w %s: %w", w.o.Name, cerr)
		}
	}
	w.closed = true
	return err
}

// Stats returns the counts so far.
func (w *Writer) Stats() Stats {
	if w == nil {
		return Stats{}
	}
	return w.stats
}

// Comment is the comment on each packet of connection id, from client to
// server, judged verdict with cause (may be empty).
func Comment(id int, client, server, verdict, cause string) string {
	s := fmt.Sprintf("tlstriage: connection #%d %s -> %s: %s", id, client, server, verdict)
	if cause != "" {
		s += ", cause " + cause
	}
	return s
}
