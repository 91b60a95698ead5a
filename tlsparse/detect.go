package tlsparse

import "bytes"

// HandshakeStart returns the index of the first place in b that looks like
// the start of a TLS handshake record holding a ClientHello or ServerHello
// (RFC 8446, Sections 5.1 and 4.1.2-4.1.3): content type 22, a 3.x record
// version, a plausible length, handshake type 1 or 2 with a length under
// 64 KiB, and a 3.x hello version. It returns -1 when there is none. It is
// used to find where TLS starts after a plaintext upgrade (STARTTLS, an
// HTTP CONNECT) on the same connection.
func HandshakeStart(b []byte) int {
	const need = RecordHeaderLen + 6 // type, 3-byte length, 2-byte version
	for i := 0; len(b)-i >= need; {
		j := bytes.IndexByte(b[i:len(b)-need+1], byte(TypeHandshake))
		if j < 0 {
			return -1
		}
		i += j
		h := b[i : i+need]
		recLen := int(h[3])<<8 | int(h[4])
		if h[1] == 3 && h[2] <= 4 && recLen >= 4+2 && recLen <= MaxRecordLen &&
			(h[5] == byte(ClientHelloType) || h[5] == byte(ServerHelloType)) &&
			h[6] == 0 && h[9] == 3 && h[10] <= 4 {
			return i
		}
		i++
	}
	return -1
}
