package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/tlstriage/tlstriage/internal/safefile"
)

// Log is an NDJSON log file that Reopen opens again by name, for SIGHUP
// after logrotate moved it. Each Write is one record (a JSON line). Records
// are kept in a buffer and written out when it is full and on Flush,
// Reopen and Close, each record in one write to the file. Log is safe for
// concurrent use.
type Log struct {
	mu   sync.Mutex
	name string
	file *os.File // nil after Close or a failed Reopen
	buf  []byte   // records not written yet, whole
	size int      // buffer size; 0: records are written at once
	done bool     // Close was called
}

// OpenLog creates the log name: an existing file is an error unless force
// (then it is truncated), a symbolic link is refused. bufSize is the
// buffer, in bytes: 0 writes each record at once, which suits a live
// service whose readers follow the file.
func OpenLog(name string, force bool, bufSize int) (*Log, error) {
	f, err := safefile.Create(name, force)
	if err != nil {
		return nil, err // safefile's errors name the file
	}
	return &Log{name: name, file: f, size: max(bufSize, 0)}, nil
}

// Name returns the log's file name.
func (l *Log) Name() string { return l.name }

// Write adds the record p (one whole line) to the log.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if len(l.buf)+len(p) > l.size {
		if err := l.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= l.size { // the buffer is empty: no copy
		if _, err := l.file.Write(p); err != nil {
			return 0, fmt.Errorf("rotate: %w", err)
		}
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// Flush writes out the buffered records.
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	return l.flush()
}

// Reopen writes out the buffered records, closes the file and opens the
// name again: appending to the regular file there, or creating it if it
// was moved away. A symbolic link is refused; until a Reopen succeeds,
// Write fails and keeps nothing.
func (l *Log) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return fs.ErrClosed
	}
	var err error
	if l.file != nil {
		err = l.flush() // what it could not write goes to the new file
		if cerr := l.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("rotate: %w", cerr)
		}
		l.file = nil
	}
	f, oerr := safefile.Append(l.name)
	if oerr != nil {
		return errors.Join(err, fmt.Errorf("rotate: reopening %w", oerr))
	}
	l.file = f
	if len(l.buf) > 0 {
		err = errors.Join(err, l.flush())
	}
	return err
}

// Close writes out the buffered records and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	l.done = true
	if l.file == nil {
		if len(l.buf) > 0 {
			return fmt.Errorf("rotate: %s: %d bytes of records not written (reopening failed)", l.name, len(l.buf))
		}
		return nil
	}
	err := l.flush()
	if cerr := l.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rotate: %w", cerr)
	}
	l.file = nil
	return err
}

// usable says why the log cannot be written now, if it cannot.
func (l *Log) usable() error {
	switch {
	case l.done:
		return fs.ErrClosed
	case l.file == nil:
		return fmt.Errorf("rotate: %s is not open (reopening failed)", l.name)
	}
	return nil
}

// flush writes the buffer out in one write; what a failed write left is
// kept. l.mu is held and l.file open.
func (l *Log) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	n, err := l.file.Write(l.buf)
	l.buf = l.buf[:copy(l.buf, l.buf[n:])]
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}
