package capture_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/capture"
)

// readResult is everything a capture reader yields for one input.
type readResult struct {
	openErr    string
	format     capture.Format
	compressed bool
	packets    []readPacket
	endErr     error
}

type readPacket struct {
	data []byte
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
}

// maxFuzzPackets bounds the packets read from one input. Every packet
// takes at least 16 bytes of (decompressed) input, and a gzip member
// expands at most about a thousand times, so a real reader never gets
// near it; a reader that stopped consuming its input would.
const maxFuzzPackets = 1 << 20

// readAll opens r as standard input and reads every packet, checking what
// holds for any input: nil results with errors, frame lengths that match
// the capture info, a byte counter that never runs ahead of the input.
func readAll(t *testing.T, r io.Reader, inputLen int) readResult {
	t.Helper()
	f, err := capture.OpenFile("-", r)
	if err != nil {
		if f != nil {
			t.Fatal("file and error both returned")
		}
		if !strings.HasPrefix(err.Error(), "capture: -: ") {
			t.Fatalf("error %q lacks the package and name prefix", err)
		}
		return readResult{openErr: err.Error()}
	}
	defer f.Close()
	res := readResult{format: f.Format, compressed: f.Compressed}
	if f.Format != capture.FormatPcap && f.Format != capture.FormatPcapng {
		t.Fatalf("format %q", f.Format)
	}
	if f.Name != "-" || f.Size() != -1 {
		t.Fatalf("standard input named %q, size %d", f.Name, f.Size())
	}
	var prevRead int64
	for {
		data, ci, err := f.ReadPacketData()
		if n := f.BytesRead(); n < prevRead || n > int64(inputLen) {
			t.Fatalf("BytesRead = %d (was %d) of a %d-byte input", n, prevRead, inputLen)
		} else {
			prevRead = n
		}
		if err != nil {
			if data != nil {
				t.Fatalf("%d bytes of data returned with error %v", len(data), err)
			}
			res.endErr = err
			break
		}
		if len(data) != ci.CaptureLength {
			t.Fatalf("%d bytes of data, capture length %d", len(data), ci.CaptureLength)
		}
		res.packets = append(res.packets, readPacket{bytes.Clone(data), ci, f.LinkType()})
		if len(res.packets) > maxFuzzPackets {
			t.Fatalf("more than %d packets", maxFuzzPackets)
		}
	}
	if res.endErr == io.EOF {
		// The end stays the end.
		if _, _, err := f.ReadPacketData(); err != io.EOF {
			t.Fatalf("read after io.EOF: %v", err)
		}
	}
	return res
}

// sameResult fails t unless a and b are the same packets, the same format
// and the same errors.
func sameResult(t *testing.T, what string, a, b readResult) {
	t.Helper()
	if a.openErr != b.openErr || a.format != b.format {
		t.Fatalf("%s: opened with %q/%q, read %q/%q", what, a.openErr, a.format, b.openErr, b.format)
	}
	if len(a.packets) != len(b.packets) {
		t.Fatalf("%s: %d packets, want %d", what, len(b.packets), len(a.packets))
	}
	for i := range a.packets {
		pa, pb := a.packets[i], b.packets[i]
		if !bytes.Equal(pa.data, pb.data) || pa.lt != pb.lt || !pa.ci.Timestamp.Equal(pb.ci.Timestamp) ||
			pa.ci.CaptureLength != pb.ci.CaptureLength || pa.ci.Length != pb.ci.Length ||
			pa.ci.InterfaceIndex != pb.ci.InterfaceIndex || !reflect.DeepEqual(pa.ci.AncillaryData, pb.ci.AncillaryData) {
			t.Fatalf("%s: packet %d differs", what, i)
		}
	}
	if errString(a.endErr) != errString(b.endErr) {
		t.Fatalf("%s: reading ended with %v, want %v", what, b.endErr, a.endErr)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzOpenFile reads arbitrary bytes as a capture from standard input:
// pcap (both byte orders, micro- and nanoseconds), pcapng and gzip sniffing,
// then every packet. Besides the checks of readAll it compares readers:
//   - a reader that returns one byte at a time yields the same packets and
//     errors (sniffing and framing must not depend on read sizes);
//   - gzip-compressing a plain input changes nothing but Compressed;
//   - a gzip input yields what its decompressed content yields, and one
//     that does not decompress cleanly never ends with a clean io.EOF.
func FuzzOpenFile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap*"))
	if err != nil {
		f.Fatal(err)
	}
	seeded := map[string]bool{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8<<10 {
			data = data[:4<<10] // a cut file is a seed too
		}
		f.Add(data)
		seeded[filepath.Ext(p)] = true
	}
	if !seeded[".pcap"] || !seeded[".pcapng"] || !seeded[".gz"] {
		f.Fatalf("seed captures missing: found %v", seeded)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		plain := readAll(t, bytes.NewReader(data), len(data))
		isGzip := len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
		if plain.openErr == "" {
			if plain.compressed != isGzip {
				t.Fatalf("Compressed = %v for magic % x", plain.compressed, data[:2])
			}
			if !isGzip && len(plain.packets) > len(data)/16 {
				t.Fatalf("%d packets from %d bytes", len(plain.packets), len(data))
			}
		}

		sameResult(t, "one byte at a time", plain, readAll(t, iotest.OneByteReader(bytes.NewReader(data)), len(data)))

		if !isGzip {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			zipped := readAll(t, bytes.NewReader(z.Bytes()), z.Len())
			if zipped.openErr == "" && !zipped.compressed {
				t.Fatal("gzip input not marked Compressed")
			}
			sameResult(t, "gzip-compressed", plain, zipped)
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			if plain.openErr == "" {
				t.Fatalf("opened a file whose gzip header fails: %v", err)
			}
			return
		}
		content, err := io.ReadAll(zr)
		if err != nil {
			if plain.openErr == "" && plain.endErr == io.EOF {
				t.Fatalf("corrupt gzip stream (%v) read to a clean end", err)
			}
			return
		}
		if len(content) >= 2 && content[0] == 0x1f && content[1] == 0x8b {
			return // gzip in gzip: the reader decompresses once only
		}
		inner := readAll(t, bytes.NewReader(content), len(content))
		if inner.openErr == "" && len(inner.packets) > len(content)/16 {
			t.Fatalf("%d packets from %d bytes", len(inner.packets), len(content))
		}
		if inner.openErr != "" && plain.openErr == "" {
			t.Fatalf("content fails to open (%s) but its gzip opened", inner.openErr)
		}
		inner.compressed = true
		sameResult(t, "decompressed", inner, plain)
	})
}
