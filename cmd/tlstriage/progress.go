package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/report"
)

// progressEvery is how often the progress line is redrawn.
var progressEvery = 200 * time.Millisecond

// progressWidth is the longest progress line, in characters: a longer one
// would wrap, and \r would not go back over all of it.
const progressWidth = 79

// progress is the line drawn on stderr while capture files are read
// (--progress): the file, the percentage of its bytes read, the rate, and
// the connections and failures reported so far. A goroutine of its own
// redraws it a few times a second from counters the reading side keeps
// anyway (capture.File.BytesRead) or adds to once per connection reported:
// nothing is done per packet. A nil *progress is off and does nothing.
//
// Everything written to stderr while the line is shown goes through
// progressErr, which clears the line first. When stdout is the same
// terminal, progressOut holds back the report's last, unfinished line, so
// that the progress line is only ever drawn at the start of a line.
type progress struct {
	conns, failed atomic.Int64 // connections reported, and failed, in all files

	mu      sync.Mutex
	width   int       // the line's width: the terminal's, or progressWidth
	term    io.Writer // stderr
	out     io.Writer // stdout, when it is the same file as stderr
	tail    []byte    // stdout's unfinished last line, not written yet
	files   int       // -r files given
	file    *capture.File
	suffix  string    // " (i/n)" with several files
	name    string    // the file's base name, printable
	start   time.Time // when reading the file began
	from    int64     // and its bytes read then (the headers)
	shown   bool      // the line is on the terminal
	midLine bool      // stderr was left in the middle of a line: no progress line now
	stopped bool

	once       sync.Once // stop
	quit, done chan struct{}
}

// startProgress starts the progress line for mode (--progress: auto,
// always or never) while files capture files are read. It returns the
// writers to use for stdout and stderr from then on; with the line off,
// a nil *progress and stdout and stderr themselves.
func startProgress(mode string, files int, stdout, stderr io.Writer) (*progress, io.Writer, io.Writer) {
	switch mode {
	case "never":
		return nil, stdout, stderr
	case "auto":
		if !isTerminal(stderr) || os.Getenv("TERM") == "dumb" {
			return nil, stdout, stderr
		}
	}
	p := &progress{term: stderr, files: files, quit: make(chan struct{}), done: make(chan struct{}), width: progressWidth}
	if f, ok := stderr.(*os.File); ok {
		// The line fits the terminal: a wider one would wrap and leave a
		// trail of lines behind.
		if w := termWidth(f); w > 20 {
			p.width = min(w-1, 200)
		}
	}
	if sameFile(stdout, stderr) {
		p.out = stdout
		stdout = &progressOut{p}
	}
	go p.loop()
	return p, stdout, &progressErr{p}
}

// isTerminal reports whether w is a terminal (tty_*.go).
func isTerminal(w io.Writer) bool {
	if o, ok := w.(*progressOut); ok {
		w = o.p.out
	}
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}

// sameFile reports whether a and b write to the same place, as stdout and
// stderr do on a terminal (or with 2>&1).
func sameFile(a, b io.Writer) bool {
	if a == b {
		return true
	}
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// setFile says that file i (from 1) of the -r files, name, is read from f
// from now on.
func (p *progress) setFile(i int, name string, f *capture.File) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if name == "-" {
		name = "stdin"
	}
	p.name = report.Escape(filepath.Base(name))
	if p.files > 1 {
		p.suffix = fmt.Sprintf(" (%d/%d)", i, p.files)
	}
	p.file, p.start, p.from = f, time.Now(), f.BytesRead()
	p.drawLocked()
}

// count adds a connection reported, failed or not.
func (p *progress) count(failed bool) {
	if p == nil {
		return
	}
	p.conns.Add(1)
	if failed {
		p.failed.Add(1)
	}
}

// stop draws the line a last time, clears it, and ends the redrawing.
// After stop the writers pass everything straight on. It may be called
// more than once.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.quit)
		<-p.done // no more ticks
		p.mu.Lock()
		defer p.mu.Unlock()
		p.drawLocked()
		p.clearLocked()
		p.stopped = true
		if len(p.tail) > 0 {
			p.out.Write(p.tail) // an error comes again with the next write
			p.tail = nil
		}
	})
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			p.drawLocked()
			p.mu.Unlock()
		}
	}
}

// drawLocked draws the line over the one shown, if any.
func (p *progress) drawLocked() {
	if p.file == nil || p.midLine {
		return
	}
	io.WriteString(p.term, "\r"+p.line(time.Since(p.start))+"\033[K")
	p.shown = true
}

// clearLocked takes the line off the terminal.
func (p *progress) clearLocked() {
	if p.shown {
		io.WriteString(p.term, "\r\033[K")
		p.shown = false
	}
}

// line is the progress line, elapsed into reading the current file:
//
//	[####------]  42%  310 MB/s  8123 conns, 153 failed  hs-20k.pcap (1/2)
//
// For standard input, whose size is not known, the bytes read replace the
// bar and the percentage. The file comes last, and loses the beginning of
// its name if the line would be longer than progressWidth.
func (p *progress) line(elapsed time.Duration) string {
	n, size := p.file.BytesRead(), p.file.Size()
	var read string
	if size > 0 {
		pct := min(n*100/size, 100)
		read = "[" + strings.Repeat("#", int(pct/10)) + strings.Repeat("-", 10-int(pct/10)) + "]" + fmt.Sprintf(" %3d%%", pct)
		if p.file.Compressed {
			read += " of the gzip" // of the bytes on disk, not of the capture
		}
	} else {
		read = fmt.Sprintf("%.1f MB read", float64(n)/1e6)
	}
	var rate float64
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n-p.from) / 1e6 / s
	}
	prec := 0
	if rate < 10 {
		prec = 1
	}
	stats := fmt.Sprintf("%s  %.*f MB/s  %d conns, %d failed  ", read, prec, rate, p.conns.Load(), p.failed.Load())
	width := p.width
	if width == 0 {
		width = progressWidth
	}
	room := width - len(stats) - len(p.suffix)
	line := []rune(stats + shorten(p.name, max(room, 8)) + p.suffix)
	return string(line[:min(len(line), width)])
}

// shorten cuts the beginning of s to make it n characters long at most.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// progressErr is stderr while the progress line is shown: what is written
// goes on a line of its own.
type progressErr struct{ p *progress }

func (e *progressErr) Write(b []byte) (int, error) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	if len(b) > 0 && !p.stopped {
		p.midLine = b[len(b)-1] != '\n'
	}
	return p.term.Write(b)
}

// progressOut is stdout while the progress line is shown on the same
// terminal: it writes whole lines only and holds back the last,
// unfinished one until the next write or stop.
type progressOut struct{ p *progress }

func (o *progressOut) Write(b []byte) (int, error) {
	p := o.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return p.out.Write(b)
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		p.tail = append(p.tail, b...)
		return len(b), nil
	}
	p.clearLocked()
	if len(p.tail) > 0 {
		if _, err := p.out.Write(p.tail); err != nil {
			return 0, err
		}
	}
	if _, err := p.out.Write(b[:i+1]); err != nil {
		return 0, err
	}
	p.tail = append(p.tail[:0], b[i+1:]...)
	return len(b), nil
}
