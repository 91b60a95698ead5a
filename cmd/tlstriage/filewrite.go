package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcapout"
)

// fileMarks are the connections whose packets -w writes when reading
// files, by connection ID, with the comment each packet gets.
type fileMarks map[int]string

// mark notes connection c, judged as r, for -w: a failed one (or, with
// -Y, a selected one; with --write-all, any).
func (m fileMarks) mark(cfg *config, c *dissect.Conn, r *diagnose.Result) {
	if m == nil || !(r.Failed || cfg.sel != nil || cfg.live.writeAll) {
		return
	}
	m[c.ID] = pcapout.Comment(c.ID, c.Client.String(), c.Server.String(), string(r.Verdict), string(r.Cause))
}

// writeMarkedPackets reads the files again (files: as the report merged
// them) and writes to the -w file the
// packets of the marked connections (every packet with --write-all), in
// capture order, each with a comment naming its connection's verdict and
// cause (Wireshark shows it as frame.comment). The second reading assigns
// the connections the IDs the first one did: the same frames, filter and
// options.
func writeMarkedPackets(cfg *config, files []capture.MergeFile, marks fileMarks, dopts dissect.Options, stderr io.Writer) error {
	var pw *pcapout.Writer // made with the first packet: its interface is that of the packet's file
	var werr error
	dopts.Keys, dopts.ReuseEvents = nil, true
	an := dissect.NewAnalyzer(dopts, func(*dissect.Conn) {})
	write := func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, name string) {
		id := an.FrameConn()
		comment, marked := marks[id]
		if werr != nil || !cfg.live.writeAll && (id == 0 || !marked) {
			return
		}
		if pw == nil {
			intf := pcapgo.NgInterface{Name: "from " + name, LinkType: lt, SnapLength: capture.DefaultSnaplen, TimestampResolution: 9, OS: runtime.GOOS,
				Comment: "packets of the connections tlstriage reported as failed (or selected with -Y)"}
			if cfg.live.writeAll {
				intf.Comment = "every packet read"
			}
			ro := cfg.live.rotation()
			if pw, werr = pcapout.Create(pcapout.Options{Name: cfg.live.write, Force: cfg.force, Rotate: ro, Interface: intf}); werr != nil {
				werr = fmt.Errorf("-w: %w", werr)
				return
			}
		}
		pw.Write(data, ci, lt, comment)
		werr = pw.Err()
	}
	// The files are read and joined as the report read them, so that the
	// connections get the same IDs.
	src := &rereadSource{an: an, write: write, files: map[int]*guardedFile{}}
	byIndex := map[int]*guardedFile{}
	src.m = capture.NewMerge(files, maxRotationGap, dissect.MaxContinued, capture.MergeHooks{
		Open: func(i, n int, start bool) (capture.Reader, bool) {
			f, err := capture.OpenFile(cfg.files[i], nil)
			if err != nil {
				return nil, false // said when it was first read
			}
			if start {
				an.SetFile(cfg.files[i])
			} else {
				an.AddFile(cfg.files[i])
			}
			g := &guardedFile{File: f, name: cfg.files[i]}
			src.files[n], byIndex[i] = g, g
			return g, true
		},
		Ended: func(i, frames int, err error) { // err: the damage the report named
			byIndex[i].Close()
			delete(byIndex, i)
		},
	})
	for src.m.More() {
		_ = an.Run(context.Background(), src)
		src.flush()
		an.Flush()
		clear(src.files)
	}
	if pw == nil && werr == nil {
		// Nothing to write: an empty capture file all the same, of the
		// first file's link type, as tcpdump -w leaves one.
		lt := layers.LinkTypeEthernet
		if f, err := capture.OpenFile(cfg.files[0], nil); err == nil {
			lt = f.LinkType()
			f.Close()
		}
		pw, werr = pcapout.Create(pcapout.Options{Name: cfg.live.write, Force: cfg.force, Rotate: cfg.live.rotation(), Interface: pcapgo.NgInterface{Name: "from " + cfg.files[0], LinkType: lt, SnapLength: capture.DefaultSnaplen, TimestampResolution: 9, OS: runtime.GOOS}})
	}
	if werr == nil {
		werr = pw.Close()
	} else {
		pw.Close()
	}
	if werr != nil {
		return werr
	}
	ws := pw.Stats()
	written := ws.Packets
	what := "packets of failed connections"
	switch {
	case cfg.live.writeAll:
		what = "packets"
	case cfg.sel != nil:
		what = "packets of selected connections"
	}
	if written == 1 {
		what = what[:len("packet")] + what[len("packets"):]
	}
	fmt.Fprintf(stderr, "tlstriage: wrote %d %s to %s\n", written, what, pw.Where())
	return nil
}

// checkFileWrite rejects -w where the files cannot be read twice.
func checkFileWrite(cfg *config) error {
	if cfg.live.write == "" {
		return nil
	}
	for _, name := range cfg.files {
		if name == "-" {
			return errors.New("-w needs capture files it can read twice, not standard input")
		}
	}
	if _, err := os.Lstat(cfg.live.write); err == nil && !cfg.force {
		return fmt.Errorf("%s already exists", cfg.live.write)
	}
	return nil
}

// guardedFile is a capture file read again for -w: frames are analysed
// at the times the report used (capture.TimeGuard), and written with
// their own.
type guardedFile struct {
	*capture.File
	name  string
	times capture.TimeGuard
	frame int
	ci    gopacket.CaptureInfo // the frame last read, as the file has it
}

// ReadFrame is capture.File's, the time guarded (capture.Reader).
func (g *guardedFile) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	data, err := g.File.ReadFrame(ci)
	if err != nil {
		return data, err
	}
	g.frame++
	g.ci = *ci
	ci.Timestamp, _ = g.times.Fix(ci.Timestamp, g.frame)
	return data, nil
}

// rereadSource reads the files again as the report read them, and hands
// each frame, once analysed, to write.
type rereadSource struct {
	m     *capture.Merge
	an    *dissect.Analyzer
	files map[int]*guardedFile // the files of the capture by their number in it
	write func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, file string)
	// The frame read last, written when the next is asked for (it has
	// been analysed then, and its data is valid until the Merge reads
	// on).
	data []byte
	from *guardedFile
	lt   layers.LinkType
}

// ReadFrame is the Merge's (dissect.PacketSource), writing the frame read
// before.
func (r *rereadSource) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	r.flush()
	data, err := r.m.ReadFrame(ci)
	if err != nil {
		return data, err
	}
	no, _ := r.m.Origin()
	r.data, r.from, r.lt = data, r.files[int(no)], r.m.LinkType()
	return data, nil
}

// flush writes the frame read last.
func (r *rereadSource) flush() {
	if r.from != nil {
		r.write(r.data, r.from.ci, r.lt, r.from.name)
		r.from = nil
	}
}

func (r *rereadSource) LinkType() layers.LinkType       { return r.m.LinkType() }
func (r *rereadSource) Origin() (file uint8, frame int) { return r.m.Origin() }
