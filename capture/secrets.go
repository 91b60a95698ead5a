package capture

import (
	"encoding/binary"
	"io"
)

// SecretsTLSKeyLog is the secrets type of a Decryption Secrets Block holding
// a TLS key log in the NSS format ('TLSK').
const SecretsTLSKeyLog uint32 = 0x544c534b

// Secret is the payload of a pcapng Decryption Secrets Block (block type
// 0x0000000A), as written by `editcap --inject-secrets` or by dumpcap.
type Secret struct {
	Type uint32 // SecretsTLSKeyLog, or another type (SSH, WireGuard...)
	Data []byte
}

// Bounds of what the secrets scanner keeps: a block larger than
// maxSecretBlock is skipped, and once maxSecrets bytes are kept the rest
// are too.
const (
	maxSecretBlock = 16 << 20
	maxSecrets     = 64 << 20
)

// pcapng block types and byte-order magic (draft-ietf-opsawg-pcapng).
const (
	ngSectionHeader  = 0x0A0D0D0A
	ngDecryptSecrets = 0x0000000A
	ngByteOrderMagic = 0x1A2B3C4D
)

// secretsScanner watches the bytes of a pcapng file on their way to the
// pcapng reader and keeps the payloads of its Decryption Secrets Blocks,
// which pcapgo reads without exposing them (and skips after the first
// interface block). It parses only block boundaries; on anything it does
// not understand it stops watching and leaves the error to the reader.
type secretsScanner struct {
	r       io.Reader
	off     bool
	order   binary.ByteOrder
	hdr     [16]byte // the block's first bytes (headerLen of them)
	hdrN    int
	skip    int64  // bytes of the current block still to pass
	body    []byte // DSB being collected
	want    int    // DSB bytes still to collect into body
	kept    int
	secrets []Secret
	dropped int // blocks skipped for size
}

func (s *secretsScanner) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 && !s.off {
		s.scan(p[:n])
	}
	return n, err
}

// take returns the secrets found since the last call.
func (s *secretsScanner) take() []Secret {
	out := s.secrets
	s.secrets = nil
	return out
}

func (s *secretsScanner) scan(p []byte) {
	for len(p) > 0 && !s.off {
		switch {
		case s.want > 0:
			n := min(len(p), s.want)
			s.body = append(s.body, p[:n]...)
			s.want -= n
			p = p[n:]
			if s.want == 0 {
				s.dsb()
			}
		case s.skip > 0:
			n := int(min(int64(len(p)), s.skip))
			s.skip -= int64(n)
			p = p[n:]
		default:
			need := s.headerLen()
			n := copy(s.hdr[s.hdrN:need], p)
			s.hdrN += n
			p = p[n:]
			if s.hdrN == need && s.headerLen() == need {
				s.header()
			}
		}
	}
}

// headerLen is how many of a block's first bytes are needed: the type and
// total length; for a section header also the byte-order magic, and for a
// Decryption Secrets Block the secrets type and length.
func (s *secretsScanner) headerLen() int {
	if s.hdrN < 8 {
		return 8
	}
	switch binary.LittleEndian.Uint32(s.hdr[0:4]) { // both palindromic in this sense
	case ngSectionHeader:
		return 12
	case ngDecryptSecrets, ngDecryptSecrets << 24:
		return 16
	}
	return 8
}

// header starts a block from its first bytes.
func (s *secretsScanner) header() {
	hdrLen := s.hdrN
	s.hdrN = 0
	if binary.LittleEndian.Uint32(s.hdr[0:4]) == ngSectionHeader {
		switch {
		case binary.LittleEndian.Uint32(s.hdr[8:12]) == ngByteOrderMagic:
			s.order = binary.LittleEndian
		case binary.BigEndian.Uint32(s.hdr[8:12]) == ngByteOrderMagic:
			s.order = binary.BigEndian
		default:
			s.off = true
			return
		}
	}
	if s.order == nil {
		s.off = true
		return
	}
	typ := s.order.Uint32(s.hdr[0:4])
	total := int64(s.order.Uint32(s.hdr[4:8]))
	if total < int64(hdrLen)+4 || total%4 != 0 {
		s.off = true
		return
	}
	rest := total - int64(hdrLen)
	if typ != ngDecryptSecrets {
		s.skip = rest
		return
	}
	n := int64(s.order.Uint32(s.hdr[12:16]))
	if n > rest-4 || n > maxSecretBlock || int64(s.kept)+n > maxSecrets {
		s.dropped++
		s.skip = rest
		return
	}
	s.body = append(make([]byte, 0, 4+n), s.hdr[8:12]...) // the secrets type, then the data
	s.want = int(n)
	s.skip = rest - n
	if n == 0 {
		s.dsb()
	}
}

// dsb keeps a collected Decryption Secrets Block.
func (s *secretsScanner) dsb() {
	typ := s.order.Uint32(s.body[0:4])
	data := s.body[4:]
	s.body = nil
	s.kept += len(data)
	s.secrets = append(s.secrets, Secret{Type: typ, Data: data})
}
