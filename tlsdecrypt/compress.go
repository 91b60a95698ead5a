package tlsdecrypt

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// Compression methods a TLS <= 1.2 ServerHello selects (RFC 5246, Section
// 7.4.1.3; RFC 3749, Section 2).
const (
	CompressionNull    uint8 = 0
	CompressionDeflate uint8 = 1
)

// MaxDecompressed is the most one record may decompress to: 2^14 + 1024,
// the TLSCompressed.length limit (RFC 5246, Section 6.2.2). A record
// beyond it is a decompression failure.
const MaxDecompressed = 1<<14 + 1024

// ErrDecompress means a record's fragment is not the next part of the
// direction's DEFLATE stream, or decompresses to more than MaxDecompressed
// bytes.
var ErrDecompress = errors.New("decompression failure")

// windowSize is the DEFLATE history a record may refer back into (RFC
// 1951, Section 2).
const windowSize = 32 << 10

// syncEnd ends a record's blocks for the reader: an empty final stored
// block (RFC 1951, Section 3.2.4). A sender flushes each record with
// Z_SYNC_FLUSH, so the record ends on a block boundary.
var syncEnd = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// Inflater decompresses the DEFLATE-compressed records of one direction
// (RFC 3749): the fragments of the records, in order, are one zlib stream
// (RFC 1950) that the sender flushes at the end of each record, and a
// record may refer back to the plaintext of earlier ones. Each fragment is
// inflated with the last 32 KiB of the direction's plaintext as its
// dictionary. The zero value is ready to use; it is not safe for
// concurrent use. After an error the stream cannot be followed: every
// later call fails.
type Inflater struct {
	started bool   // the zlib header was read
	err     error  // sticky
	window  []byte // the last windowSize bytes of plaintext
	r       io.ReadCloser
	in      bytes.Reader
	out     bytes.Buffer
}

// Decompress returns the plaintext of the next record, given its
// fragment after decryption and MAC removal (TLSCompressed.fragment). The
// plaintext is a fresh slice. Errors wrap ErrDecompress.
func (z *Inflater) Decompress(fragment []byte) ([]byte, error) {
	if z.err != nil {
		return nil, z.err
	}
	pt, err := z.inflate(fragment)
	if err != nil {
		z.err = fmt.Errorf("tlsdecrypt: %w: %v", ErrDecompress, err)
		return nil, z.err
	}
	return pt, nil
}

func (z *Inflater) inflate(fragment []byte) ([]byte, error) {
	if !z.started {
		// The zlib header (RFC 1950, Section 2.2): deflate, no preset
		// dictionary, check bits.
		if len(fragment) < 2 {
			return nil, fmt.Errorf("first record of %d bytes: no zlib header", len(fragment))
		}
		cmf, flg := fragment[0], fragment[1]
		if cmf&0x0f != 8 || cmf>>4 > 7 || (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg&0x20 != 0 {
			return nil, fmt.Errorf("first record starts % x: not a zlib header", fragment[:2])
		}
		fragment = fragment[2:]
		z.started = true
	}
	src := make([]byte, 0, len(fragment)+len(syncEnd))
	z.in.Reset(append(append(src, fragment...), syncEnd...))
	if z.r == nil {
		z.r = flate.NewReaderDict(&z.in, z.window)
	} else if err := z.r.(flate.Resetter).Reset(&z.in, z.window); err != nil {
		return nil, err
	}
	z.out.Reset()
	if _, err := z.out.ReadFrom(io.LimitReader(z.r, MaxDecompressed+1)); err != nil {
		return nil, err
	}
	if z.out.Len() > MaxDecompressed {
		return nil, fmt.Errorf("a record decompresses to more than %d bytes", MaxDecompressed)
	}
	pt := bytes.Clone(z.out.Bytes())
	z.window = append(z.window, pt...)
	if n := len(z.window) - windowSize; n > 0 {
		z.window = append(z.window[:0], z.window[n:]...)
	}
	return pt, nil
}
