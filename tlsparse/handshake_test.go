package tlsparse

import (
	"bytes"
	"testing"
)

// TestNextHandshake: the framing every reader of handshake records uses
// splits whole messages off, aliasing the input; no strict prefix of a
// message is one; a message over the limit is not split off.
func TestNextHandshake(t *testing.T) {
	msg1 := []byte{byte(ClientHelloType), 0, 0, 3, 'a', 'b', 'c'}
	msg2 := []byte{byte(ServerHelloDone), 0, 0, 0}
	b := append(append([]byte{}, msg1...), msg2...)
	typ, m, rest, ok := NextHandshake(b, DefaultMaxHandshake)
	if !ok || typ != ClientHelloType || !bytes.Equal(m, msg1) || !bytes.Equal(rest, msg2) || &m[0] != &b[0] {
		t.Fatalf("first: %v %v % x % x", ok, typ, m, rest)
	}
	if cap(m) != len(msg1) {
		t.Errorf("the message's capacity reaches into the rest: %d", cap(m))
	}
	typ, m, rest, ok = NextHandshake(rest, DefaultMaxHandshake)
	if !ok || typ != ServerHelloDone || len(m) != 4 || len(rest) != 0 {
		t.Fatalf("second: %v %v % x % x", ok, typ, m, rest)
	}
	for i := range msg1 {
		if _, _, rest, ok := NextHandshake(msg1[:i], DefaultMaxHandshake); ok || len(rest) != i {
			t.Errorf("prefix of %d bytes split off a message", i)
		}
		if _, n, ok := ReadHandshakeHeader(msg1[:i]); ok != (i >= HandshakeHeaderLen) || ok && n != len(msg1) {
			t.Errorf("prefix of %d bytes: header %v, length %d", i, ok, n)
		}
	}
	if _, _, _, ok := NextHandshake(msg1, len(msg1)-1); ok {
		t.Error("a message over the limit was split off")
	}
}
