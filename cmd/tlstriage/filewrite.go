package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/safefile"
)

// fileMarks are the connections whose packets -w writes when reading
// files, by connection ID, with the comment each packet gets.
type fileMarks map[int]string

// mark notes connection c, judged as r, for -w: a failed one (or, with
// -Y, a selected one; with --write-all, any).
func (m fileMarks) mark(cfg *config, c *dissect.Conn, r *diagnose.Result) {
	if cfg.live.write == "" || !(r.Failed || cfg.sel != nil || cfg.live.writeAll) {
		return
	}
	comment := fmt.Sprintf("tlstriage: connection #%d %s -> %s: %s", c.ID, c.Client, c.Server, r.Verdict)
	if r.Cause != "" {
		comment += ", cause " + string(r.Cause)
	}
	m[c.ID] = comment
}

// writeMarkedPackets reads the files again and writes to the -w file the
// packets of the marked connections (every packet with --write-all), in
// capture order, each with a comment naming its connection's verdict and
// cause (Wireshark shows it as frame.comment). The second reading assigns
// the connections the IDs the first one did: the same frames, filter and
// options.
func writeMarkedPackets(cfg *config, marks fileMarks, dopts dissect.Options, stderr io.Writer) error {
	f, err := safefile.Create(cfg.live.write, cfg.force)
	if err != nil {
		return fmt.Errorf("-w: %w", err)
	}
	defer f.Close()
	buf := bufio.NewWriterSize(f, 1<<20)
	var ng *pcapgo.NgWriter
	ifaces := map[layers.LinkType]int{} // link type -> interface index
	dopts.Keys, dopts.ReuseEvents = nil, true
	an := dissect.NewAnalyzer(dopts, func(*dissect.Conn) {})
	written, opened := 0, 0
	for _, name := range cfg.files {
		src, err := capture.OpenFile(name, nil)
		if err != nil {
			continue // said when it was first read
		}
		// The files are joined as the report joined them, so that the
		// connections get the same IDs.
		opened++
		if opened > 1 && continues(name, an.LastTime(), nil) {
			an.NextFile(name)
		} else {
			an.SetFile(name)
		}
		var times timeGuard // frames analysed at the times the report used
		for frame := 1; ; frame++ {
			data, ci, err := src.ReadPacketData()
			if err != nil {
				break // the end, or the damage the report already named
			}
			lt := src.LinkType()
			analysed := ci
			analysed.Timestamp, _ = times.fix(ci.Timestamp, frame)
			id := an.PacketConn(data, analysed, lt)
			comment, marked := marks[id]
			if !cfg.live.writeAll && (id == 0 || !marked) {
				continue
			}
			idx, ok := ifaces[lt]
			if !ok {
				intf := pcapgo.NgInterface{Name: "from " + name, LinkType: lt, SnapLength: capture.DefaultSnaplen, TimestampResolution: 9, OS: runtime.GOOS,
					Comment: "packets of the connections tlstriage reported as failed (or selected with -Y)"}
				if cfg.live.writeAll {
					intf.Comment = "every packet read"
				}
				if ng == nil {
					ng, err = pcapgo.NewNgWriterInterface(buf, intf, pcapgo.NgWriterOptions{
						SectionInfo: pcapgo.NgSectionInfo{Application: "tlstriage", OS: runtime.GOOS, Hardware: runtime.GOARCH}})
					idx = 0
				} else {
					idx, err = ng.AddInterface(intf)
				}
				if err != nil {
					src.Close()
					return fmt.Errorf("-w %s: %w", cfg.live.write, err)
				}
				ifaces[lt] = idx
			}
			ci.InterfaceIndex = idx
			ci.AncillaryData = nil
			var opts pcapgo.NgPacketOptions
			if marked {
				opts.Comments = []string{comment}
			}
			if err := ng.WritePacketWithOptions(ci, data, opts); err != nil {
				src.Close()
				return fmt.Errorf("-w %s: %w", cfg.live.write, err)
			}
			written++
		}
		src.Close()
	}
	an.Flush()
	if ng != nil {
		if err := ng.Flush(); err != nil {
			return fmt.Errorf("-w %s: %w", cfg.live.write, err)
		}
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("-w %s: %w", cfg.live.write, err)
	}
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
	fmt.Fprintf(stderr, "tlstriage: wrote %d %s to %s\n", written, what, cfg.live.write)
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
