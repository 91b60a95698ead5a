package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// HandshakeHeaderLen is the length of a handshake message header: a 1-byte
// type and a 24-bit length (RFC 8446, Section 4).
const HandshakeHeaderLen = 4

// DefaultMaxHandshake is the message size limit NewHandshakeBuffer uses when
// given max <= 0. It is crypto/tls's limit for Certificate messages (256 KiB)
// plus the header.
const DefaultMaxHandshake = 1<<18 + HandshakeHeaderLen

// ReadHandshakeHeader reads the header of the handshake message b starts
// with: its type and its length, header included (which b may not hold
// whole). ok is false when b is shorter than a header.
func ReadHandshakeHeader(b []byte) (typ HandshakeType, n int, ok bool) {
	s := cryptobyte.String(b)
	var t uint8
	var length uint32
	if !s.ReadUint8(&t) || !s.ReadUint24(&length) {
		return 0, 0, false
	}
	return HandshakeType(t), HandshakeHeaderLen + int(length), true
}

// NextHandshake splits the first whole handshake message, header
// included, off b: it returns the message (aliasing b) and the rest. ok is
// false, with b untouched in rest, when b does not hold a whole message or
// the message is longer than max bytes (header included).
func NextHandshake(b []byte, max int) (typ HandshakeType, msg, rest []byte, ok bool) {
	typ, n, ok := ReadHandshakeHeader(b)
	if !ok || n > len(b) || n > max {
		return 0, nil, b, false
	}
	return typ, b[:n:n], b[n:], true
}

// HandshakeBuffer joins handshake fragments carried by consecutive handshake
// records of one direction into whole messages (RFC 8446, Section 5.1:
// messages may be split across records and records may hold several
// messages). Its memory is bounded by the limit given to NewHandshakeBuffer
// as long as the caller drains it with Next after each Write.
// The zero value is not usable.
type HandshakeBuffer struct {
	max   int
	buf   []byte
	start int // buf[start:] is pending
	err   error
}

// NewHandshakeBuffer returns a buffer that accepts messages of at most max
// bytes, header included. max <= 0 means DefaultMaxHandshake.
func NewHandshakeBuffer(max int) *HandshakeBuffer {
	if max <= 0 {
		max = DefaultMaxHandshake
	}
	if max < HandshakeHeaderLen {
		max = HandshakeHeaderLen
	}
	return &HandshakeBuffer{max: max}
}

// Write appends a handshake record fragment; the bytes are copied. Once the
// buffer has failed, Write drops its input.
func (h *HandshakeBuffer) Write(fragment []byte) {
	if h.err != nil {
		return
	}
	if h.start > 0 {
		n := copy(h.buf, h.buf[h.start:])
		h.buf = h.buf[:n]
		h.start = 0
	}
	h.buf = append(h.buf, fragment...)
	h.check()
}

// check fails the buffer early when the first incomplete message announces
// more than the limit, so that memory stays bounded.
func (h *HandshakeBuffer) check() {
	for at := h.start; ; {
		typ, n, ok := ReadHandshakeHeader(h.buf[at:])
		if !ok {
			return
		}
		if n > h.max {
			h.fail(uint8(typ), uint32(n-HandshakeHeaderLen), at)
			return
		}
		if at+n > len(h.buf) {
			return
		}
		at += n
	}
}

// fail fails the buffer on the header at h.buf[at:], which announces a
// message of n bytes, over the limit. The complete messages before it are
// kept for Next; the rest is dropped.
func (h *HandshakeBuffer) fail(typ uint8, n uint32, at int) {
	hdr := []byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}
	h.err = &ParseError{Msg: "handshake message", Data: hdr,
		Err: fmt.Errorf("%v length %d exceeds limit %d", HandshakeType(typ), n, h.max-HandshakeHeaderLen)}
	h.buf = append([]byte(nil), h.buf[h.start:at]...)
	h.start = 0
}

// Next returns the next complete handshake message, 4-byte header included.
// msg == nil && err == nil means more bytes are needed. msg is a fresh copy
// owned by the caller. When a header announces a message larger than the
// limit, Next first returns the messages that were complete before it, then
// a *ParseError, and keeps returning it: the buffer stays failed.
func (h *HandshakeBuffer) Next() (typ HandshakeType, msg []byte, err error) {
	if h.err != nil && h.start == len(h.buf) {
		return 0, nil, h.err
	}
	t, n, ok := ReadHandshakeHeader(h.buf[h.start:])
	if !ok {
		return 0, nil, nil
	}
	if n > h.max {
		h.fail(uint8(t), uint32(n-HandshakeHeaderLen), h.start)
		return 0, nil, h.err
	}
	if h.start+n > len(h.buf) {
		return 0, nil, nil
	}
	end := h.start + n
	msg = append([]byte(nil), h.buf[h.start:end]...)
	h.start = end
	if h.start == len(h.buf) {
		h.buf = h.buf[:0]
		h.start = 0
	}
	return t, msg, nil
}

// Buffered returns the number of bytes held that Next has not returned yet.
func (h *HandshakeBuffer) Buffered() int {
	return len(h.buf) - h.start
}

// Err returns the error that failed the buffer, or nil. Next may still
// return messages that were complete before the failure.
func (h *HandshakeBuffer) Err() error { return h.err }
