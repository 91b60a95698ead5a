package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format names the container of a capture file.
type Format string

// Capture file formats.
const (
	FormatPcap   Format = "pcap"
	FormatPcapng Format = "pcapng"
)

// File is a capture file opened for reading.
type File struct {
	Name       string // the path as given, "-" for standard input
	Format     Format
	Compressed bool // gzip
	gzip       *gzipMembers
	pcap       *pcapgo.Reader
	records    *pcapRecords // reads the records after pcapgo read the header
	ng         *pcapgo.NgReader
	secrets    *secretsScanner // pcapng: Decryption Secrets Blocks
	onSecrets  func([]Secret)  // OnSecrets
	closer     io.Closer
	counter    *countingReader
	framing    *framing // checks the framing of the (decompressed) bytes
	frames     int      // frames returned
	lt         layers.LinkType
	size       int64 // bytes on disk, -1 when unknown
}

// OpenFile opens a pcap or pcapng capture, optionally gzip-compressed. The
// name "-" reads standard input (stdin).
func OpenFile(name string, stdin io.Reader) (*File, error) {
	var r io.Reader
	var c io.Closer
	size := int64(-1)
	if name == "-" {
		if stdin == nil {
			return nil, errors.New("capture: -: no standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("capture: %w", unwrapPathError(err, name))
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, fmt.Errorf("capture: %s: is a directory", name)
			}
			size = st.Size()
		}
		r, c = f, f
	}
	file, err := NewReader(name, r)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	file.closer = c
	file.size = size
	return file, nil
}

func unwrapPathError(err error, name string) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, pe.Err)
	}
	return err
}

// countingReader counts the bytes read from the underlying (compressed or
// not) stream, for progress reports. n is atomic: a progress bar reads it
// from another goroutine (one add per read call, not per packet).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// NewReader reads a capture from r; name is used in messages only.
func NewReader(name string, r io.Reader) (*File, error) {
	cr := &countingReader{r: r}
	// The framing checker (damage.go) sees the bytes on their way to the
	// readers; on a compressed file it steps aside for a second one that
	// sees them decompressed.
	f := &File{Name: name, counter: cr, size: -1, framing: newFraming(cr, name)}
	br := bufio.NewReaderSize(f.framing, 1<<16)
	magic, err := br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, zerr := newGzipMembers(br)
		if zerr != nil {
			// The magic says gzip: the file is damaged, like a capture
			// whose own header is cut or wrong.
			if errors.Is(zerr, io.ErrUnexpectedEOF) {
				return nil, &DamageError{Name: name, Msg: "the file ends inside the gzip header"}
			}
			return nil, &DamageError{Name: name, Msg: fmt.Sprintf("corrupt gzip header: %v", zerr)}
		}
		f.Compressed = true
		f.gzip = zr
		f.framing = newFraming(zr, name)
		br = bufio.NewReaderSize(f.framing, 1<<16)
		magic, err = br.Peek(4)
	}
	if len(magic) < 4 {
		if d := f.explain(io.ErrUnexpectedEOF, 0); d != io.ErrUnexpectedEOF {
			return nil, d
		}
		if len(magic) == 0 && (err == io.EOF || err == nil) {
			return nil, fmt.Errorf("capture: %s: empty file", name)
		}
		return nil, fmt.Errorf("capture: %s: truncated file header (%d bytes)", name, len(magic))
	}
	switch {
	case bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		f.Format = FormatPcapng
		f.secrets = &secretsScanner{r: br}
		ng, err := pcapgo.NewNgReader(f.secrets, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, f.badHeader("pcapng", err)
		}
		f.ng = ng
		f.lt = ng.LinkType()
	case isPcapMagic(magic):
		f.Format = FormatPcap
		order := littleEndian
		if magic[0] == 0xa1 { // read before br moves on: magic points into it
			order = bigEndian
		}
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, f.badHeader("pcap", err)
		}
		f.pcap = pr
		f.lt = pr.LinkType()
		// pcapgo read the header through br (a bufio.Reader of its size
		// is used as is), so br is at the first record.
		f.records = newPcapRecords(br, order, pr.Resolution() == gopacket.TimestampResolutionNanosecond, pr.Snaplen())
	default:
		return nil, fmt.Errorf("capture: %s: not a pcap or pcapng file (magic % x)", name, magic)
	}
	return f, nil
}

func isPcapMagic(m []byte) bool {
	for _, want := range [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // microseconds
		{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // nanoseconds
	} {
		if bytes.Equal(m, want) {
			return true
		}
	}
	return false
}

// ReadPacketData returns the next frame. The data is valid until the next
// call. At the end of the file it returns io.EOF; a file cut short returns
// io.ErrUnexpectedEOF wrapped in an error that says so.
func (f *File) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	data, err := f.ReadFrame(&ci)
	return data, ci, err
}

// ReadFrame is ReadPacketData filling in *ci: readers of millions of
// frames copy no CaptureInfo per frame.
func (f *File) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if f.ng != nil {
		data, *ci, err = f.ng.ZeroCopyReadPacketData()
		if err == nil && len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				f.lt = lt
			}
		}
	} else {
		data, err = f.records.nextInto(ci)
	}
	if err != nil {
		f.feedSecrets() // those after the last frame too
		if d := f.explain(err, f.frames+1); d != err {
			return nil, d
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("file truncated: %w", io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	f.frames++
	if f.secrets != nil { // (pcapng only: no call per frame of a pcap file)
		f.feedSecrets()
	}
	return data, nil
}

// feedSecrets hands the secrets blocks read so far to OnSecrets's
// function.
func (f *File) feedSecrets() {
	if f.onSecrets != nil && f.secrets != nil {
		if secs := f.secrets.take(); len(secs) > 0 {
			f.onSecrets(secs)
		}
	}
}

// OnSecrets has fn called with the pcapng Decryption Secrets Blocks as
// they are read: during the read of the frame that follows them, before
// that frame is returned (so that a key log is known before the frames it
// decrypts are analysed). Secrets then returns none.
func (f *File) OnSecrets(fn func([]Secret)) { f.onSecrets = fn }

// Secrets returns the pcapng Decryption Secrets Blocks read since the last
// call: after NewReader, those before the first packet; after
// ReadPacketData, any read on the way to the frame returned (the reader
// may have read a little ahead). Pcap files have none.
func (f *File) Secrets() []Secret {
	if f.secrets == nil {
		return nil
	}
	return f.secrets.take()
}

// SecretsSkipped is how many Decryption Secrets Blocks were skipped
// because they were too large to keep (over 16 MiB, or 64 MiB in all).
func (f *File) SecretsSkipped() int {
	if f.secrets == nil {
		return 0
	}
	return f.secrets.dropped
}

// Block says which read buffer the frame last returned by ReadPacketData
// lies in, for Hold: 0 when it cannot be held (pcapng files, and frames
// larger than the read buffer).
func (f *File) Block() uint64 {
	if f.records == nil || f.records.inBig {
		return 0
	}
	f.records.holdable()
	return f.records.blk.id
}

// Hold keeps the read buffer of the frame last returned by ReadPacketData,
// whose Block is not 0, unchanged until release is called: its frames stay
// valid while later ones are read (into other buffers). release may be
// called from any goroutine.
func (f *File) Hold() (release func()) {
	p := f.records
	b := p.blk
	b.refs.Add(1)
	return func() { p.release(b) }
}

// LinkType is the link type of the frame last read.
func (f *File) LinkType() layers.LinkType { return f.lt }

// Snaplen is the snapshot length from the file header (0 when unknown).
func (f *File) Snaplen() int {
	if f.pcap != nil {
		return int(f.pcap.Snaplen())
	}
	return 0
}

// TrailingGarbage is the number of bytes after the end of a gzip file's
// last member that are not gzip, ignored as gzip(1) ignores them; 0 for an
// uncompressed file. It is known once the file was read to its end.
func (f *File) TrailingGarbage() int64 {
	if f.gzip == nil {
		return 0
	}
	return f.gzip.trailing
}

// BytesRead is how many bytes of the file (compressed, if it is) have been
// read so far. It may be called from any goroutine.
func (f *File) BytesRead() int64 { return f.counter.n.Load() }

// Size is the size of the file on disk, -1 when unknown (standard input).
func (f *File) Size() int64 { return f.size }

// Close closes the underlying file.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}
