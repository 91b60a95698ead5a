package truststore

import (
	"errors"
	"io/fs"
)

// Sentinel errors, wrapped by [*Error]. Test for them with [errors.Is].
var (
	// ErrWrongPassword means the password did not match the integrity
	// check (JKS) or the MAC (PKCS#12) of the store, and the rest of the
	// store is intact. When part of the store cannot be checked without
	// the password, the message says "wrong password, or the file is
	// corrupted".
	ErrWrongPassword = errors.New("wrong password")
	// ErrNoCertificates means a file or directory held no certificate
	// that a TLS client would use as a trust anchor.
	ErrNoCertificates = errors.New("no certificates found")
	// ErrUnsupported means the file is a key store or bundle format that
	// this package recognises but cannot read (JCEKS, PKCS#7, some PKCS#12
	// layouts).
	ErrUnsupported = errors.New("unsupported")
	// ErrCorrupt means the file is of a recognised format but its
	// structure is broken or cut short, or its integrity check fails
	// while the password is right or a certificate is damaged.
	ErrCorrupt = errors.New("corrupted")
)

// Error is the error returned by [Load]: one line naming the file and the
// problem, for example "truststore: ts.jks: wrong password (keystore
// integrity check failed)".
type Error struct {
	// Path is the file or directory as given to Load, or the file of a
	// directory that could not be read ("" when the problem is not tied
	// to one path).
	Path string
	// Err is the problem; it wraps one of the sentinel errors or an
	// [io/fs] error.
	Err error
}

// Error returns "truststore: <path>: <problem>".
func (e *Error) Error() string {
	if e.Path == "" {
		return "truststore: " + e.Err.Error()
	}
	return "truststore: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// fileError describes an [io/fs] failure in a few words and still matches
// the underlying error with [errors.Is] (for example [fs.ErrNotExist]).
type fileError struct {
	msg string
	err error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.err }

// wrapFS turns an error from os.Open, os.ReadFile or os.ReadDir into a short
// message without repeating the path.
func wrapFS(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &fileError{"no such file", err}
	case errors.Is(err, fs.ErrPermission):
		return &fileError{"permission denied", err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fileError{pe.Op + ": " + pe.Err.Error(), err}
	}
	return err
}
