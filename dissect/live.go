package dissect

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Advance moves the Analyzer's clock to t without a frame, as a live
// capture does while the wire is quiet: closed connections whose Linger has
// passed, and idle ones, are handed over at once instead of waiting for the
// next frame. t is in the timebase of the frames' timestamps, which for a
// live capture is the wall clock read by the caller; a t before the last
// frame's timestamp is ignored.
func (a *Analyzer) Advance(t time.Time) {
	if !t.After(a.now) {
		return
	}
	a.now = t
	a.scan(false)
	a.scanned(t, a.o.Grace)
}

// PacketConn analyses one frame, as Packet does, and returns the ID of the
// connection the frame was counted for, or 0 when it was counted for none
// (not TCP, filtered out, undecodable, or a late segment of a connection
// already handed over). Callers use the ID to keep the frames of each
// connection until its verdict. data is not retained.
func (a *Analyzer) PacketConn(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) int {
	a.Packet(data, ci, lt)
	return a.FrameConn()
}

// FrameConn is the ID of the connection the frame analysed last was
// counted for, as PacketConn returns it, for a caller of Run that keeps
// the frames of each connection.
func (a *Analyzer) FrameConn() int {
	// a.seg holds what decodeFrame made of this frame, or stale values when
	// it gave up; only the connection that took this very frame has
	// LastFrame equal to the frame number.
	if cs := a.conns[keyOf(a.seg.src, a.seg.dst)]; cs != nil && cs.c.LastFrame == a.frame && cs.lastFile == a.fileNo {
		return cs.c.ID
	}
	return 0
}
