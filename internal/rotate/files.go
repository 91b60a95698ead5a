package rotate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/lestrrat-go/strftime"

	"github.com/tlstriage/tlstriage/internal/safefile"
)

// ErrFileLimit is the error of Before once -G with -W (and without -C)
// has made its FileCount files: the run is over, as tcpdump exits then.
var ErrFileLimit = errors.New("rotate: maximum file limit reached")

// Options are tcpdump's -C, -W and -G, and how files are created.
type Options struct {
	FileSize  int64 // -C in bytes (see ParseFileSize); 0: no rotation by size
	FileCount int   // -W: a ring of this many files with -C; the number of files with -G alone
	Seconds   int   // -G: rotate every this many seconds; 0: no rotation by time

	// Start is the time of the first file with -G: its strftime name and
	// the start of its interval (for live capture, when it starts).
	Start time.Time
	// Location is where -G names are made; nil is UTC (tcpdump: local
	// time, time.Local).
	Location *time.Location

	Force bool // overwrite existing files (never symbolic links)

	// Opened, if set, is called with each file's name once it is open and
	// its headers are written.
	Opened func(name string)
}

// A Sink is what the caller writes one file's packets through, made by
// the start function of Create on each new file: a *pcapgo.NgWriter.
// Files flushes it before closing its file.
type Sink interface {
	Flush() error
}

// Stats are counts of what Files wrote.
type Stats struct {
	Files int   // files opened, a ring file each time it is (re)written
	Bytes int64 // bytes written to all of them, buffered ones included
}

// bufSize is the buffer of each file: more than 4096 bytes, so that
// bufio.NewWriter (which pcapgo's NgWriter calls) uses it as it is
// instead of buffering again where Files cannot count.
const bufSize = 256 << 10

// maxRemembered bounds the names Files remembers having created (those it
// may write again without Force).
const maxRemembered = 4096

// Files is the -w file set: a sequence of files, each started by the
// caller's start function, that rolls over by size and time as tcpdump's
// -C, -W and -G. It is not safe for concurrent use.
type Files[S Sink] struct {
	opts    Options
	name    string             // -w as given
	pattern *strftime.Strftime // with -G
	width   int                // -W's digits
	start   func(io.Writer) (S, error)

	file    *os.File // nil once closed
	out     counter
	buf     *bufio.Writer
	sink    S
	current string

	cCount int   // tcpdump's Cflag_count: the number in the name
	gCount int   // Gflag_count: time rotations so far
	gTime  int64 // Gflag_time: Unix seconds of the last time rotation

	created map[string]bool // names this run created, at most maxRemembered
	order   []string        // created's names, oldest first
	stats   Stats
	err     error // sticky: the run's files are over
}

// counter counts the bytes written through it to w.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Create creates the first file of the set named name and calls start
// with its writer, for the file's headers (a pcapng section header and
// interfaces); start is called again for each new file. The writer is
// buffered: start and the sink must not add a buffer of their own
// (pcapgo's NgWriter does not: the writer is a *bufio.Writer big enough
// for it), so that sizes count every byte written.
func Create[S Sink](name string, opts Options, start func(w io.Writer) (S, error)) (*Files[S], error) {
	if name == "" {
		return nil, errors.New("rotate: an empty string is not a valid file name")
	}
	switch {
	case opts.FileSize < 0 || opts.FileCount < 0 || opts.Seconds < 0:
		return nil, fmt.Errorf("rotate: negative -C %d, -W %d or -G %d", opts.FileSize, opts.FileCount, opts.Seconds)
	case opts.FileCount > 0 && opts.FileSize == 0 && opts.Seconds == 0:
		return nil, errors.New("rotate: -W needs -C or -G")
	case opts.Seconds > 0 && opts.Start.IsZero():
		return nil, errors.New("rotate: -G needs the start time")
	}
	f := &Files[S]{opts: opts, name: name, start: start, created: map[string]bool{}}
	if opts.Seconds > 0 {
		p, err := strftime.New(name, strftime.WithUnixSeconds('s'))
		if err != nil {
			return nil, fmt.Errorf("rotate: -w %s: %w", name, err)
		}
		f.pattern = p
		f.gTime = opts.Start.Unix()
	}
	if opts.FileCount > 0 {
		for x := opts.FileCount - 1; x > 0; x /= 10 { // getWflagChars
			f.width++
		}
	}
	// Without -G the names of a ring are known: refuse one at start
	// rather than when the ring reaches it.
	if opts.FileSize > 0 && opts.FileCount > 0 && opts.Seconds == 0 {
		for i := 1; i < opts.FileCount; i++ {
			if err := safefile.Check(f.makeName(i, f.width), opts.Force); err != nil {
				return nil, err
			}
		}
	}
	width := 0
	if opts.FileSize > 0 {
		width = f.width
	}
	if err := f.open(f.makeName(0, width)); err != nil {
		return nil, err
	}
	return f, nil
}

// Before makes ready the file the next packet, of time ts, goes to: it
// rotates first if -G or -C says so. It returns the sink to write the
// packet with, or ErrFileLimit when -G with -W has made its files, or an
// error opening the next file; after an error the set is closed.
func (f *Files[S]) Before(ts time.Time) (S, error) {
	var zero S
	if f.err != nil {
		return zero, f.err
	}
	if f.opts.Seconds > 0 {
		if t := ts.Unix(); t-f.gTime >= int64(f.opts.Seconds) {
			f.gTime = t
			f.gCount++
			if err := f.closeFile(); err != nil {
				return zero, f.fail(err)
			}
			if f.opts.FileSize == 0 && f.opts.FileCount > 0 && f.gCount >= f.opts.FileCount {
				return zero, f.fail(ErrFileLimit)
			}
			f.cCount = 0
			width := 0
			if f.opts.FileSize > 0 {
				width = f.width
			}
			if err := f.open(f.makeName(0, width)); err != nil {
				return zero, f.fail(err)
			}
		}
	}
	if f.opts.FileSize > 0 && f.size() > f.opts.FileSize {
		if err := f.closeFile(); err != nil {
			return zero, f.fail(err)
		}
		f.cCount++
		if f.opts.FileCount > 0 && f.cCount >= f.opts.FileCount {
			f.cCount = 0
		}
		if err := f.open(f.makeName(f.cCount, f.width)); err != nil {
			return zero, f.fail(err)
		}
	}
	return f.sink, nil
}

// Name returns the name of the current file ("" once closed).
func (f *Files[S]) Name() string {
	if f.file == nil {
		return ""
	}
	return f.current
}

// Stats returns the counts so far.
func (f *Files[S]) Stats() Stats {
	s := f.stats
	if f.file != nil {
		s.Bytes += f.size()
	}
	return s
}

// Flush writes out what the sink and the buffer hold, so that the current
// file is whole up to its last packet.
func (f *Files[S]) Flush() error {
	if f.file == nil {
		return nil
	}
	if err := f.sink.Flush(); err != nil {
		return fmt.Errorf("rotate: %s: %w", f.current, err)
	}
	if err := f.buf.Flush(); err != nil {
		return fmt.Errorf("rotate: %s: %w", f.current, err)
	}
	return nil
}

// Close flushes and closes the current file. Before fails after it.
func (f *Files[S]) Close() error {
	err := f.closeFile()
	if f.err == nil {
		f.err = errors.New("rotate: files closed")
	}
	return err
}

// fail ends the run with err, closing what is open, and returns err.
func (f *Files[S]) fail(err error) error {
	f.closeFile()
	f.err = err
	return err
}

// size is the current file's size: the bytes written to it and those
// still buffered.
func (f *Files[S]) size() int64 {
	return f.out.n + int64(f.buf.Buffered())
}

// makeName is tcpdump's MakeFilename: the name, through strftime with
// -G, then the count padded to width unless both are 0.
func (f *Files[S]) makeName(count, width int) string {
	name := f.name
	if f.pattern != nil {
		loc := f.opts.Location
		if loc == nil {
			loc = time.UTC
		}
		name = f.pattern.FormatString(time.Unix(f.gTime, 0).In(loc))
	}
	if count == 0 && width == 0 {
		return name
	}
	return name + fmt.Sprintf("%0*d", width, count)
}

// open creates name (overwriting it if this run created it), starts it
// and makes it current.
func (f *Files[S]) open(name string) error {
	if name == "" {
		return errors.New("rotate: an empty string is not a valid file name")
	}
	file, err := safefile.Create(name, f.opts.Force || f.created[name])
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	f.remember(name)
	f.file, f.current = file, name
	f.out = counter{w: file}
	if f.buf == nil {
		f.buf = bufio.NewWriterSize(&f.out, bufSize)
	} else {
		f.buf.Reset(&f.out)
	}
	sink, err := f.start(f.buf)
	if err == nil {
		err = f.buf.Flush() // the headers are there even if no packet follows
	}
	if err != nil {
		f.file = nil
		file.Close()
		return fmt.Errorf("rotate: %s: %w", name, err)
	}
	f.sink = sink
	f.stats.Files++
	if f.opts.Opened != nil {
		f.opts.Opened(name)
	}
	return nil
}

// remember notes that this run created name, forgetting the oldest name
// beyond maxRemembered.
func (f *Files[S]) remember(name string) {
	if f.created[name] {
		return
	}
	if len(f.order) == maxRemembered {
		delete(f.created, f.order[0])
		f.order = f.order[1:]
	}
	f.created[name] = true
	f.order = append(f.order, name)
}

// closeFile flushes and closes the current file, if any.
func (f *Files[S]) closeFile() error {
	if f.file == nil {
		return nil
	}
	err := f.Flush()
	f.stats.Bytes += f.size()
	if cerr := f.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rotate: %w", cerr)
	}
	f.file = nil
	var zero S
	f.sink = zero
	return err
}

// ParseFileSize reads tcpdump's -C argument: a positive whole number of
// millions of bytes, or of KiB, MiB or GiB with a k, m or g suffix.
func ParseFileSize(s string) (int64, error) {
	mult := int64(1_000_000)
	num := s
	if i := len(s) - 1; i >= 0 {
		switch s[i] {
		case 'k':
			mult, num = 1<<10, s[:i]
		case 'm':
			mult, num = 1<<20, s[:i]
		case 'g':
			mult, num = 1<<30, s[:i]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("rotate: invalid file size %q", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("rotate: file size %q is too large", s)
	}
	return n * mult, nil
}
