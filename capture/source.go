package capture

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Source is a stream of captured frames.
//
// ReadPacketData returns io.EOF at the end of a file. The returned data is
// valid only until the next call (sources may reuse their buffer).
type Source interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	// LinkType is the link type of the frame last returned (pcapng files
	// may mix interfaces of different link types), or of the source before
	// the first frame.
	LinkType() layers.LinkType
	Close() error
}

// Stats are what a source knows of packets it did not deliver.
type Stats struct {
	Received    uint64 // packets the kernel or file delivered
	KernelDrops uint64 // dropped by the kernel (buffer full)
	IfaceDrops  uint64 // dropped by the interface or driver
	Known       bool   // the figures are meaningful
}

// StatsSource is implemented by sources that can report drops.
type StatsSource interface {
	Stats() (Stats, error)
}
