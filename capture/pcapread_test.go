package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestPcapRecordsMatchPcapgo compares the pcap record reader with pcapgo's
// ZeroCopyReadPacketData on every committed pcap file cut at every length
// (and read one byte at a time): same frames, same capture info, same
// errors.
func TestPcapRecordsMatchPcapgo(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap"))
	if err != nil || len(paths) == 0 {
		t.Fatal("no captures", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Every length up to two records, then a sample.
		for n := 0; n <= len(data); n++ {
			if n > 200 && n%97 != 0 && n != len(data) {
				continue
			}
			compareReaders(t, path, data[:n], false)
			if (n%7 == 0 && n < 8<<10) || n == len(data) {
				compareReaders(t, path, data[:n], true)
			}
		}
		// The same records written big-endian (as a big-endian host's
		// tcpdump writes them), for the files written little-endian.
		big := bigEndianPcap(data)
		if big == nil {
			continue
		}
		for n := 0; n <= len(big); n += 61 {
			compareReaders(t, path+" (big-endian)", big[:n], false)
		}
		compareReaders(t, path+" (big-endian)", big, false)
	}
}

// bigEndianPcap rewrites a little-endian pcap file's headers big-endian;
// nil for a file that is not little-endian.
func bigEndianPcap(data []byte) []byte {
	le, be := binary.LittleEndian, binary.BigEndian
	if len(data) < 24 || le.Uint32(data) != 0xa1b2c3d4 && le.Uint32(data) != 0xa1b23c4d {
		return nil
	}
	out := bytes.Clone(data)
	swap32 := func(b []byte) { be.PutUint32(b, le.Uint32(b)) }
	swap16 := func(b []byte) { be.PutUint16(b, le.Uint16(b)) }
	swap32(out[0:])
	swap16(out[4:])
	swap16(out[6:])
	for off := 8; off < 24; off += 4 {
		swap32(out[off:])
	}
	for off := 24; off+16 <= len(out); {
		n := int(le.Uint32(out[off+8:]))
		for i := 0; i < 16; i += 4 {
			swap32(out[off+i:])
		}
		off += 16 + n
	}
	return out
}

func compareReaders(t *testing.T, name string, data []byte, oneByte bool) {
	t.Helper()
	open := func() io.Reader {
		if oneByte {
			return iotest.OneByteReader(bytes.NewReader(data))
		}
		return bytes.NewReader(data)
	}
	want, err := pcapgo.NewReader(open())
	f, ferr := NewReader(name, open())
	if (err == nil) != (ferr == nil) {
		t.Fatalf("%s cut at %d: pcapgo %v, File %v", name, len(data), err, ferr)
	}
	if err != nil {
		return
	}
	for i := 0; ; i++ {
		wd, wci, werr := want.ZeroCopyReadPacketData()
		var gci gopacket.CaptureInfo
		gd, gerr := f.records.nextInto(&gci)
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("%s cut at %d (one byte %v), record %d: pcapgo %v, got %v", name, len(data), oneByte, i, werr, gerr)
		}
		if werr != nil {
			return
		}
		if !bytes.Equal(wd, gd) || !wci.Timestamp.Equal(gci.Timestamp) || wci.Timestamp.Location() != gci.Timestamp.Location() ||
			wci.CaptureLength != gci.CaptureLength || wci.Length != gci.Length {
			t.Fatalf("%s cut at %d, record %d differs", name, len(data), i)
		}
	}
}

// TestPcapRecordsOddRecords checks records pcapgo refuses or reads the
// slow way: longer than the snap length, larger than the read buffer.
func TestPcapRecordsOddRecords(t *testing.T) {
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1, 0, 0, 0} // snaplen 1 MiB
	rec := func(caplen, length uint32, data []byte) []byte {
		b := []byte{1, 0, 0, 0, 0x40, 0x42, 0x0f, 0}
		b = append(b, byte(caplen), byte(caplen>>8), byte(caplen>>16), byte(caplen>>24))
		b = append(b, byte(length), byte(length>>8), byte(length>>16), byte(length>>24))
		return append(b, data...)
	}
	big := bytes.Repeat([]byte{0xab}, 700_000)
	cases := [][]byte{
		append(append([]byte(nil), hdr...), rec(700_000, 700_000, big)...),
		append(append(append([]byte(nil), hdr...), rec(10, 10, big[:10])...), rec(700_000, 700_000, big[:1000])...),
		append(append([]byte(nil), hdr...), rec(2_000_000, 2_000_000, nil)...),
		append(append([]byte(nil), hdr...), rec(300_000, 300_000, big[:300_000])...),
	}
	for i, c := range cases {
		for _, one := range []bool{false, true} {
			compareReaders(t, "odd"+string(rune('0'+i)), c, one)
		}
	}
}

// TestPcapRecordsCaptureAboveLength checks that a record claiming more
// captured bytes than the packet's original length is read on, as
// Wireshark does (pcapgo stops there), and the record after it too.
func TestPcapRecordsCaptureAboveLength(t *testing.T) {
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	rec := func(caplen, length byte, fill byte) []byte {
		b := []byte{1, 0, 0, 0, 0, 0, 0, 0, caplen, 0, 0, 0, length, 0, 0, 0}
		return append(b, bytes.Repeat([]byte{fill}, int(caplen))...)
	}
	data := append(append(append([]byte(nil), hdr...), rec(20, 10, 0xaa)...), rec(8, 8, 0xbb)...)
	for _, one := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(data)
		if one {
			r = iotest.OneByteReader(r)
		}
		f, err := NewReader("over", r)
		if err != nil {
			t.Fatal(err)
		}
		d, ci, err := f.ReadPacketData()
		if err != nil || ci.CaptureLength != 20 || ci.Length != 10 || !bytes.Equal(d, bytes.Repeat([]byte{0xaa}, 20)) {
			t.Fatalf("first record: %d of %d bytes, %x, %v", ci.CaptureLength, ci.Length, d, err)
		}
		d, ci, err = f.ReadPacketData()
		if err != nil || ci.CaptureLength != 8 || !bytes.Equal(d, bytes.Repeat([]byte{0xbb}, 8)) {
			t.Fatalf("second record: %d bytes, %x, %v", ci.CaptureLength, d, err)
		}
		if _, _, err := f.ReadPacketData(); err != io.EOF {
			t.Fatalf("after the last record: %v, want io.EOF", err)
		}
	}
}

// TestHold checks that the frames of held buffers stay unchanged while the
// file is read on (into other buffers), whatever the read sizes.
func TestHold(t *testing.T) {
	var file bytes.Buffer
	file.Write([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0})
	var want [][]byte
	for i := range 5000 {
		n := 60 + i*7%1400
		frame := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, n/2)
		want = append(want, frame)
		file.Write([]byte{byte(i), 0, 0, 0, 0, 0, 0, 0, byte(len(frame)), byte(len(frame) >> 8), 0, 0, byte(len(frame)), byte(len(frame) >> 8), 0, 0})
		file.Write(frame)
	}
	for _, half := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(file.Bytes())
		if half {
			r = iotest.HalfReader(r)
		}
		f, err := NewReader("held.pcap", r)
		if err != nil {
			t.Fatal(err)
		}
		type held struct {
			release func()
			frames  []int // indexes of frames in the held buffer
			data    [][]byte
		}
		var holds []*held
		var cur *held
		last := uint64(0)
		n := 0
		for i := 0; ; i++ {
			data, _, err := f.ReadPacketData()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
			if !bytes.Equal(data, want[i]) {
				t.Fatalf("frame %d wrong", i)
			}
			if b := f.Block(); b != last {
				last, cur = b, nil
				if b%3 == 0 { // hold one buffer in three
					cur = &held{release: f.Hold()}
					holds = append(holds, cur)
				}
			}
			if cur != nil {
				cur.frames = append(cur.frames, i)
				cur.data = append(cur.data, data)
			}
			if len(holds) > 4 {
				holds[0].release()
				holds = holds[1:]
			}
			for _, h := range holds {
				for k, j := range h.frames {
					if !bytes.Equal(h.data[k], want[j]) {
						t.Fatalf("held frame %d changed while frame %d was read", j, i)
					}
				}
			}
		}
		if n != len(want) {
			t.Fatalf("%d frames, want %d", n, len(want))
		}
		if f.records.blocks < 3 { // holding made it read on in other blocks
			t.Fatalf("only %d blocks for %d bytes", f.records.blocks, file.Len())
		}
	}
}
