package tlsdecrypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
)

// ExpandLabel is HKDF-Expand-Label(secret, label, context, length) of
// RFC 8446, Section 7.1, with the hash h. label is given without the
// "tls13 " prefix.
func ExpandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 0xffff || len("tls13 "+label) > 255 || len(context) > 255 {
		return nil, fmt.Errorf("tlsdecrypt: HKDF-Expand-Label %q: length %d or label/context too long", label, length)
	}
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes(context)
	})
	info, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tlsdecrypt: HKDF-Expand-Label %q: %w", label, err)
	}
	out, err := hkdf.Expand(h, secret, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("tlsdecrypt: HKDF-Expand-Label %q: %w", label, err)
	}
	return out, nil
}

// TrafficKeys derives the record key and IV of a TLS 1.3 traffic secret
// for cipher suite id (RFC 8446, Section 7.3).
func TrafficKeys(id uint16, secret []byte) (key, iv []byte, err error) {
	s, ok := suites13[id]
	if !ok {
		return nil, nil, fmt.Errorf("tlsdecrypt: TLS 1.3 cipher suite 0x%04x: %w", id, ErrUnsupported)
	}
	if len(secret) != s.hash().Size() {
		return nil, nil, fmt.Errorf("tlsdecrypt: TLS 1.3 cipher suite 0x%04x: traffic secret of %d bytes, want %d: %w", id, len(secret), s.hash().Size(), ErrKeySize)
	}
	if key, err = ExpandLabel(s.hash, secret, "key", nil, s.keyLen); err != nil {
		return nil, nil, err
	}
	if iv, err = ExpandLabel(s.hash, secret, "iv", nil, 12); err != nil {
		return nil, nil, err
	}
	return key, iv, nil
}

// PRF12 is the TLS 1.2 pseudorandom function PRF(secret, label, seed) with
// P_hash of h (RFC 5246, Section 5), n bytes long.
func PRF12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	out := make([]byte, 0, n+h().Size())
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// keyBlock12 is the TLS 1.2 key block of suite s: client and server MAC
// keys, encryption keys and fixed IVs (RFC 5246, Section 6.3).
type keyBlock12 struct {
	clientMAC, serverMAC []byte
	clientKey, serverKey []byte
	clientIV, serverIV   []byte
}

// fixedIVLen is the implicit part of the nonce kept in the key block: 4
// bytes for AES-GCM (RFC 5288), 12 for ChaCha20-Poly1305 (RFC 7905), none
// for CBC (the IV travels in each record).
func (s suite) fixedIVLen() int {
	switch s.kind {
	case kindGCM:
		return 4
	case kindChaCha:
		return 12
	}
	return 0
}

func deriveKeyBlock12(s suite, master, clientRandom, serverRandom []byte) keyBlock12 {
	seed := append(append([]byte(nil), serverRandom...), clientRandom...)
	n := 2*s.macLen + 2*s.keyLen + 2*s.fixedIVLen()
	kb := PRF12(s.hash, master, "key expansion", seed, n)
	var b keyBlock12
	next := func(l int) []byte {
		v := kb[:l:l]
		kb = kb[l:]
		return v
	}
	b.clientMAC, b.serverMAC = next(s.macLen), next(s.macLen)
	b.clientKey, b.serverKey = next(s.keyLen), next(s.keyLen)
	b.clientIV, b.serverIV = next(s.fixedIVLen()), next(s.fixedIVLen())
	return b
}
