package tlsdecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Errors of Open and of the constructors; the errors returned wrap them.
var (
	// ErrAuth means the record failed authentication (AEAD tag or HMAC):
	// the key does not belong to this direction of this connection, or
	// the record was damaged.
	ErrAuth = errors.New("record authentication failed")
	// ErrMalformed means the record cannot be a protected record of the
	// cipher (too short, not a whole number of blocks, bad padding).
	ErrMalformed = errors.New("malformed protected record")
	// ErrUnsupported means the version or cipher suite is not supported.
	ErrUnsupported = errors.New("unsupported version or cipher suite")
	// ErrKeySize means a secret has the wrong size for the cipher suite.
	ErrKeySize = errors.New("secret of the wrong size")
)

// Record size limits (RFC 8446, Section 5.2; RFC 5246, Section 6.2.3).
const (
	maxCiphertext13 = 1<<14 + 256
	maxCiphertext12 = 1<<14 + 2048
)

// Side is the sender of the records a Cipher opens.
type Side uint8

// Sides.
const (
	ClientSide Side = 0
	ServerSide Side = 1
)

// Cipher opens the protected records one side sends, in order: each Open
// or Skip moves to the next record sequence number. It is not safe for
// concurrent use.
type Cipher struct {
	version uint16
	kind    cipherKind
	aead    cipher.AEAD
	iv      []byte // TLS 1.3 and ChaCha20 nonce mask (12 bytes); GCM 1.2 salt (4 bytes)
	block   cipher.Block
	mac     func() hash.Hash
	macKey  []byte
	macLen  int
	etm     bool
	seq     uint64
}

// NewCipher13 returns a Cipher for the records protected with a TLS 1.3
// traffic secret under cipher suite id.
func NewCipher13(id uint16, secret []byte) (*Cipher, error) {
	key, iv, err := TrafficKeys(id, secret)
	if err != nil {
		return nil, err
	}
	c := &Cipher{version: 0x0304, kind: suites13[id].kind, iv: iv}
	if c.aead, err = newAEAD(c.kind, key); err != nil {
		return nil, err
	}
	return c, nil
}

// Params12 are the parameters of a TLS 1.2 session that the record keys
// depend on.
type Params12 struct {
	Suite        uint16 // cipher suite
	MasterSecret []byte // 48 bytes
	ClientRandom []byte // 32 bytes
	ServerRandom []byte // 32 bytes
	// EncryptThenMAC is set when the ServerHello carried encrypt_then_mac
	// (RFC 7366); it matters for CBC suites only.
	EncryptThenMAC bool
}

// NewCipher12 returns a Cipher for the records side sends in a TLS 1.2
// session, from the key block of its master secret.
func NewCipher12(p Params12, side Side) (*Cipher, error) {
	s, ok := suites12[p.Suite]
	if !ok {
		return nil, fmt.Errorf("tlsdecrypt: TLS 1.2 cipher suite 0x%04x: %w", p.Suite, ErrUnsupported)
	}
	if len(p.MasterSecret) != 48 || len(p.ClientRandom) != 32 || len(p.ServerRandom) != 32 {
		return nil, fmt.Errorf("tlsdecrypt: TLS 1.2: master secret of %d bytes, randoms of %d and %d, want 48, 32, 32: %w",
			len(p.MasterSecret), len(p.ClientRandom), len(p.ServerRandom), ErrKeySize)
	}
	kb := deriveKeyBlock12(s, p.MasterSecret, p.ClientRandom, p.ServerRandom)
	key, iv, macKey := kb.clientKey, kb.clientIV, kb.clientMAC
	if side == ServerSide {
		key, iv, macKey = kb.serverKey, kb.serverIV, kb.serverMAC
	}
	c := &Cipher{version: 0x0303, kind: s.kind, iv: iv}
	var err error
	switch s.kind {
	case kindCBC:
		if c.block, err = aes.NewCipher(key); err != nil {
			return nil, fmt.Errorf("tlsdecrypt: %w", err)
		}
		c.mac, c.macKey, c.macLen, c.etm = s.mac, macKey, s.macLen, p.EncryptThenMAC
	default:
		if c.aead, err = newAEAD(s.kind, key); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func newAEAD(k cipherKind, key []byte) (cipher.AEAD, error) {
	switch k {
	case kindGCM:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("tlsdecrypt: %w", err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("tlsdecrypt: %w", err)
		}
		return a, nil
	case kindChaCha:
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("tlsdecrypt: %w", err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("tlsdecrypt: %w", ErrUnsupported)
}

// Seq is the sequence number of the next record.
func (c *Cipher) Seq() uint64 { return c.seq }

// Skip moves past a record that is not opened (its sequence number is used
// up all the same).
func (c *Cipher) Skip() { c.seq++ }

// Open removes the protection of the next record, given its header fields
// (outer content type typ and version) and its body. It returns the true
// content type (TLS 1.3: the inner type) and a fresh plaintext. On success
// the sequence number advances; on failure it does not, and the error wraps
// ErrAuth or ErrMalformed.
func (c *Cipher) Open(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	var (
		t   uint8
		pt  []byte
		err error
	)
	switch {
	case c.version == 0x0304:
		t, pt, err = c.open13(typ, version, body)
	case c.kind == kindCBC:
		t, pt, err = c.openCBC(typ, version, body)
	default:
		t, pt, err = c.openAEAD12(typ, version, body)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("tlsdecrypt: record %d (type %d, %d bytes): %w", c.seq, typ, len(body), err)
	}
	c.seq++
	return t, pt, nil
}

// nonce returns iv XOR the big-endian sequence number, left-padded (RFC
// 8446, Section 5.3; RFC 7905, Section 2).
func (c *Cipher) nonce() []byte {
	n := make([]byte, 12)
	copy(n, c.iv)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], c.seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	return n
}

// open13 opens a TLSCiphertext (RFC 8446, Section 5.2): the additional data
// is the record header; the plaintext is content || type || zeros.
func (c *Cipher) open13(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	if len(body) < c.aead.Overhead()+1 || len(body) > maxCiphertext13 {
		return 0, nil, ErrMalformed
	}
	hdr := []byte{typ, byte(version >> 8), byte(version), byte(len(body) >> 8), byte(len(body))}
	pt, err := c.aead.Open(nil, c.nonce(), body, hdr)
	if err != nil {
		return 0, nil, ErrAuth
	}
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fmt.Errorf("%w: no content type in the plaintext", ErrMalformed)
	}
	return pt[i], pt[:i], nil
}

// additional12 is the TLS 1.2 MAC and AEAD additional data: seq_num ||
// type || version || length (RFC 5246, Section 6.2.3.1 and 6.2.3.3).
func (c *Cipher) additional12(typ uint8, version uint16, n int) []byte {
	ad := make([]byte, 13)
	binary.BigEndian.PutUint64(ad, c.seq)
	ad[8] = typ
	binary.BigEndian.PutUint16(ad[9:], version)
	binary.BigEndian.PutUint16(ad[11:], uint16(n))
	return ad
}

// openAEAD12 opens a TLS 1.2 AEAD record: AES-GCM carries an 8-byte
// explicit nonce before the ciphertext (RFC 5288, Section 3); ChaCha20-
// Poly1305 has none (RFC 7905).
func (c *Cipher) openAEAD12(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	if len(body) > maxCiphertext12 {
		return 0, nil, ErrMalformed
	}
	var nonce []byte
	ct := body
	if c.kind == kindGCM {
		if len(body) < 8 {
			return 0, nil, ErrMalformed
		}
		nonce = append(append(make([]byte, 0, 12), c.iv...), body[:8]...)
		ct = body[8:]
	} else {
		nonce = c.nonce()
	}
	if len(ct) < c.aead.Overhead() {
		return 0, nil, ErrMalformed
	}
	ad := c.additional12(typ, version, len(ct)-c.aead.Overhead())
	pt, err := c.aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return 0, nil, ErrAuth
	}
	return typ, pt, nil
}

// openCBC opens a TLS 1.2 CBC record (RFC 5246, Section 6.2.3.2): IV ||
// E(content || MAC || padding), or with encrypt_then_mac (RFC 7366) IV ||
// E(content || padding) || MAC over the IV and ciphertext. A passive
// observer needs no constant-time checks.
func (c *Cipher) openCBC(typ uint8, version uint16, body []byte) (uint8, []byte, error) {
	const bs = aes.BlockSize
	if len(body) > maxCiphertext12 {
		return 0, nil, ErrMalformed
	}
	enc := body
	if c.etm {
		if len(body) < c.macLen {
			return 0, nil, ErrMalformed
		}
		enc = body[:len(body)-c.macLen]
		m := hmac.New(c.mac, c.macKey)
		m.Write(c.additional12(typ, version, len(enc)))
		m.Write(enc)
		if !hmac.Equal(m.Sum(nil), body[len(body)-c.macLen:]) {
			return 0, nil, ErrAuth
		}
	}
	if len(enc) < 2*bs || len(enc)%bs != 0 {
		return 0, nil, ErrMalformed
	}
	pt := make([]byte, len(enc)-bs)
	cipher.NewCBCDecrypter(c.block, enc[:bs]).CryptBlocks(pt, enc[bs:])
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return 0, nil, c.cbcFail(fmt.Errorf("%w: padding length %d", ErrMalformed, pad))
	}
	for _, b := range pt[len(pt)-1-pad:] {
		if int(b) != pad {
			return 0, nil, c.cbcFail(fmt.Errorf("%w: bad padding", ErrMalformed))
		}
	}
	pt = pt[:len(pt)-1-pad]
	if c.etm {
		return typ, pt, nil
	}
	if len(pt) < c.macLen {
		return 0, nil, c.cbcFail(fmt.Errorf("%w: shorter than its MAC", ErrMalformed))
	}
	content, mac := pt[:len(pt)-c.macLen], pt[len(pt)-c.macLen:]
	m := hmac.New(c.mac, c.macKey)
	m.Write(c.additional12(typ, version, len(content)))
	m.Write(content)
	if !hmac.Equal(m.Sum(nil), mac) {
		return 0, nil, ErrAuth
	}
	return typ, content, nil
}

// cbcFail reports a padding failure of MAC-then-encrypt: with a wrong key
// the padding is random, so it is an authentication failure like a bad MAC.
func (c *Cipher) cbcFail(err error) error {
	if c.etm {
		return err // the MAC was good: the padding is really malformed
	}
	return fmt.Errorf("%w (%v)", ErrAuth, err)
}
