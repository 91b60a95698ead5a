package pcaptest

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapOptions selects the pcap file variant.
type PcapOptions struct {
	// Nanosecond writes the nanosecond magic (0xa1b23c4d) and timestamps.
	Nanosecond bool
	// BigEndian writes the header and records big-endian.
	BigEndian bool
	// SnapLen defaults to 262144.
	SnapLen uint32
}

// WritePcap writes pkts as a classic little-endian, microsecond pcap file.
func WritePcap(w io.Writer, linkType layers.LinkType, pkts []Packet) error {
	return WritePcapOptions(w, linkType, pkts, PcapOptions{})
}

// WritePcapOptions writes pkts as a classic pcap file in the variant o.
// (pcapgo.Writer writes only host byte order, so the format is written here.)
func WritePcapOptions(w io.Writer, linkType layers.LinkType, pkts []Packet, o PcapOptions) error {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if o.BigEndian {
		bo = binary.BigEndian
	}
	if o.SnapLen == 0 {
		o.SnapLen = 262144
	}
	magic := uint32(0xa1b2c3d4)
	if o.Nanosecond {
		magic = 0xa1b23c4d
	}
	bw := bufio.NewWriter(w)
	hdr := bo.AppendUint32(nil, magic)
	hdr = bo.AppendUint16(hdr, 2)
	hdr = bo.AppendUint16(hdr, 4)
	hdr = bo.AppendUint32(hdr, 0) // thiszone
	hdr = bo.AppendUint32(hdr, 0) // sigfigs
	hdr = bo.AppendUint32(hdr, o.SnapLen)
	hdr = bo.AppendUint32(hdr, uint32(linkType))
	bw.Write(hdr)
	for _, p := range pkts {
		ts := p.CI.Timestamp
		frac := uint32(ts.Nanosecond() / 1000)
		if o.Nanosecond {
			frac = uint32(ts.Nanosecond())
		}
		data := p.Data
		if len(data) > int(o.SnapLen) {
			data = data[:o.SnapLen]
		}
		rec := bo.AppendUint32(nil, uint32(ts.Unix()))
		rec = bo.AppendUint32(rec, frac)
		rec = bo.AppendUint32(rec, uint32(len(data)))
		rec = bo.AppendUint32(rec, uint32(len(p.Data)))
		bw.Write(rec)
		if _, err := bw.Write(data); err != nil {
			return fmt.Errorf("pcaptest: write pcap: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pcaptest: write pcap: %w", err)
	}
	return nil
}

// Interface is one capture interface of a pcapng file with its packets.
type Interface struct {
	Name     string
	LinkType layers.LinkType
	Packets  []Packet
}

// WritePcapng writes a pcapng file with one interface description block per
// interface (nanosecond resolution) and the packets of all interfaces merged
// by timestamp.
func WritePcapng(w io.Writer, ifaces []Interface) error {
	return writePcapng(w, ifaces, nil)
}

// WritePcapngSecrets is WritePcapng with a Decryption Secrets Block of
// type TLS key log holding keyLog after the interface blocks and before
// the packets, where `editcap --inject-secrets tls,KEYLOG` puts it.
func WritePcapngSecrets(w io.Writer, ifaces []Interface, keyLog []byte) error {
	if len(keyLog) == 0 {
		return fmt.Errorf("pcaptest: write pcapng: empty key log")
	}
	return writePcapng(w, ifaces, keyLog)
}

func writePcapng(w io.Writer, ifaces []Interface, keyLog []byte) error {
	if len(ifaces) == 0 {
		return fmt.Errorf("pcaptest: write pcapng: no interface")
	}
	mk := func(i Interface) pcapgo.NgInterface {
		return pcapgo.NgInterface{Name: i.Name, LinkType: i.LinkType, TimestampResolution: 9, SnapLength: 262144, OS: "Linux"}
	}
	ng, err := pcapgo.NewNgWriterInterface(w, mk(ifaces[0]), pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tlstriage pcaptest"}})
	if err != nil {
		return fmt.Errorf("pcaptest: write pcapng: %w", err)
	}
	type tagged struct {
		p   Packet
		if_ int
	}
	var all []tagged
	for i, itf := range ifaces {
		if i > 0 {
			if _, err := ng.AddInterface(mk(itf)); err != nil {
				return fmt.Errorf("pcaptest: write pcapng: %w", err)
			}
		}
		for _, p := range itf.Packets {
			all = append(all, tagged{p, i})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].p.CI.Timestamp.Before(all[b].p.CI.Timestamp) })
	if keyLog != nil {
		if err := ng.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, keyLog); err != nil {
			return fmt.Errorf("pcaptest: write pcapng: %w", err)
		}
	}
	for _, t := range all {
		ci := t.p.CI
		ci.InterfaceIndex = t.if_
		if err := ng.WritePacket(ci, t.p.Data); err != nil {
			return fmt.Errorf("pcaptest: write pcapng: %w", err)
		}
	}
	return ng.Flush()
}

// Gzip calls write with a gzip writer on w and closes it.
func Gzip(w io.Writer, write func(io.Writer) error) error {
	zw := gzip.NewWriter(w)
	if err := write(zw); err != nil {
		return err
	}
	return zw.Close()
}

// Merge returns the packets of several connections ordered by timestamp.
func Merge(conns ...[]Packet) []Packet {
	var all []Packet
	for _, c := range conns {
		all = append(all, c...)
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].CI.Timestamp.Before(all[b].CI.Timestamp) })
	return all
}
