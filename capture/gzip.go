package capture

import (
	"bufio"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
)

// gzipMembers decompresses a gzip file member by member, as gzip(1) does:
// the members that follow each other are one stream, and bytes after the
// last member that do not start another ("trailing garbage") end it
// cleanly, counted in trailing, rather than failing as a corrupt header.
type gzipMembers struct {
	z        *gzip.Reader
	r        *bufio.Reader // the compressed bytes, after the current member
	trailing int64
	done     bool
}

// newGzipMembers reads the first member's header from r. A file that ends
// inside it is reported as io.ErrUnexpectedEOF.
func newGzipMembers(r *bufio.Reader) (*gzipMembers, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	z.Multistream(false)
	return &gzipMembers{z: z, r: r}, nil
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for !g.done {
		n, err := g.z.Read(p)
		if err != io.EOF {
			return n, err
		}
		// The member ended whole (its checksum and length checked):
		// another follows, or the file ends, or what follows is not gzip.
		next, perr := g.r.Peek(2)
		switch {
		case len(next) == 0 && perr == io.EOF:
			g.done = true
		case len(next) == 2 && next[0] == 0x1f && next[1] == 0x8b:
			if rerr := g.z.Reset(g.r); rerr != nil {
				if rerr == io.EOF {
					rerr = io.ErrUnexpectedEOF
				}
				return n, rerr
			}
			g.z.Multistream(false)
		case perr != nil && perr != io.EOF:
			return n, perr
		default:
			rest, cerr := io.Copy(io.Discard, g.r)
			g.trailing = rest
			g.done = true
			if cerr != nil && !errors.Is(cerr, io.EOF) {
				return n, cerr
			}
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}
