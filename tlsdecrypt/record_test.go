package tlsdecrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// sealer12 protects TLS 1.2 records the way a sender does, written out
// from RFC 5246, 5288, 7905 and 7366 independently of Cipher.
type sealer12 struct {
	kind        cipherKind
	key, iv     []byte
	mac         func() hash.Hash
	macKey      []byte
	etm         bool
	seq         uint64
	explicitIVs byte // first byte of the CBC IVs and GCM explicit nonces
}

func (s *sealer12) ad(typ uint8, n int) []byte {
	ad := binary.BigEndian.AppendUint64(nil, s.seq)
	ad = append(ad, typ, 3, 3)
	return binary.BigEndian.AppendUint16(ad, uint16(n))
}

func (s *sealer12) seal(t *testing.T, typ uint8, pt []byte) []byte {
	defer func() { s.seq++ }()
	switch s.kind {
	case kindGCM:
		b, _ := aes.NewCipher(s.key)
		g, _ := cipher.NewGCM(b)
		explicit := binary.BigEndian.AppendUint64(nil, s.seq^0x5a5a)
		nonce := append(append([]byte(nil), s.iv...), explicit...)
		return g.Seal(explicit, nonce, pt, s.ad(typ, len(pt)))
	case kindChaCha:
		a, _ := chacha20poly1305.New(s.key)
		nonce := bytes.Clone(s.iv)
		for i := range 8 {
			nonce[4+i] ^= byte(s.seq >> (56 - 8*i))
		}
		return a.Seal(nil, nonce, pt, s.ad(typ, len(pt)))
	}
	b, _ := aes.NewCipher(s.key)
	iv := bytes.Repeat([]byte{s.explicitIVs + byte(s.seq)}, 16)
	data := bytes.Clone(pt)
	if !s.etm {
		m := hmac.New(s.mac, s.macKey)
		m.Write(s.ad(typ, len(pt)))
		m.Write(pt)
		data = m.Sum(data)
	}
	pad := 16 - len(data)%16
	for range pad {
		data = append(data, byte(pad-1))
	}
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(data, data)
	out := append(iv, data...)
	if s.etm {
		m := hmac.New(s.mac, s.macKey)
		m.Write(s.ad(typ, len(out)))
		m.Write(out)
		out = m.Sum(out)
	}
	return out
}

// TestCipher12 seals records with the key block of a master secret, for
// each kind of TLS 1.2 suite, and opens them with NewCipher12: the right
// side's key opens them in order, the other side's key and a changed byte
// fail authentication, and truncated records fail without panic.
func TestCipher12(t *testing.T) {
	master := bytes.Repeat([]byte{0x4d}, 48)
	cr, sr := bytes.Repeat([]byte{0xc1}, 32), bytes.Repeat([]byte{0x5e}, 32)
	for _, tc := range []struct {
		name   string
		suite  uint16
		kind   cipherKind
		prf    func() hash.Hash
		mac    func() hash.Hash
		macLen int
		keyLen int
		ivLen  int
		etm    bool
	}{
		{"ECDHE_RSA_AES_128_GCM_SHA256", 0xC02F, kindGCM, sha256.New, nil, 0, 16, 4, false},
		{"ECDHE_ECDSA_AES_256_GCM_SHA384", 0xC02C, kindGCM, sha512.New384, nil, 0, 32, 4, false},
		{"ECDHE_RSA_CHACHA20_POLY1305", 0xCCA8, kindChaCha, sha256.New, nil, 0, 32, 12, false},
		{"ECDHE_RSA_AES_128_CBC_SHA", 0xC013, kindCBC, sha256.New, sha1.New, 20, 16, 0, false},
		{"ECDHE_RSA_AES_256_CBC_SHA etm", 0xC014, kindCBC, sha256.New, sha1.New, 20, 32, 0, true},
		{"RSA_AES_128_CBC_SHA256", 0x003C, kindCBC, sha256.New, sha256.New, 32, 16, 0, false},
		{"ECDHE_RSA_AES_256_CBC_SHA384", 0xC028, kindCBC, sha512.New384, sha512.New384, 48, 32, 0, false},
		{"ECDHE_RSA_AES_256_CBC_SHA384 etm", 0xC028, kindCBC, sha512.New384, sha512.New384, 48, 32, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kb := PRF12(tc.prf, master, "key expansion", append(bytes.Clone(sr), cr...), 2*(tc.macLen+tc.keyLen+tc.ivLen))
			// Server side: the second MAC key, the second key, the second IV.
			o := 0
			take := func(n int) []byte { v := kb[o : o+n]; o += n; return v }
			take(tc.macLen)
			sMAC := take(tc.macLen)
			take(tc.keyLen)
			sKey := take(tc.keyLen)
			take(tc.ivLen)
			sIV := take(tc.ivLen)
			s := &sealer12{kind: tc.kind, key: sKey, iv: sIV, mac: tc.mac, macKey: sMAC, etm: tc.etm, explicitIVs: 0x90}
			p := Params12{Suite: tc.suite, MasterSecret: master, ClientRandom: cr, ServerRandom: sr, EncryptThenMAC: tc.etm}
			srv, err := NewCipher12(p, ServerSide)
			if err != nil {
				t.Fatal(err)
			}
			cli, _ := NewCipher12(p, ClientSide)
			finished := []byte{20, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			alert := []byte{2, 42}
			r0 := s.seal(t, 22, finished)
			r1 := s.seal(t, 23, bytes.Repeat([]byte("x"), 100))
			r2 := s.seal(t, 21, alert)
			if _, _, err := cli.Open(22, 0x0303, r0); !errors.Is(err, ErrAuth) {
				t.Errorf("the client's key opened the server's record: %v", err)
			}
			for i := range r0 {
				bad := bytes.Clone(r0)
				bad[i] ^= 1
				if _, _, err := srv.Open(22, 0x0303, bad); err == nil {
					t.Fatalf("byte %d changed: opened", i)
				}
				if _, _, err := srv.Open(22, 0x0303, r0[:i]); err == nil {
					t.Fatalf("prefix of %d bytes: opened", i)
				}
			}
			if srv.Seq() != 0 {
				t.Fatalf("failures advanced the sequence number to %d", srv.Seq())
			}
			typ, pt, err := srv.Open(22, 0x0303, r0)
			if err != nil || typ != 22 || !bytes.Equal(pt, finished) {
				t.Fatalf("record 0: %d %x %v", typ, pt, err)
			}
			srv.Skip() // application data, not opened
			typ, pt, err = srv.Open(21, 0x0303, r2)
			if err != nil || typ != 21 || !bytes.Equal(pt, alert) {
				t.Fatalf("record 2 after a skipped one: %d %x %v", typ, pt, err)
			}
			_ = r1
		})
	}
}

func TestCipher12Errors(t *testing.T) {
	p := Params12{Suite: 0xC02F, MasterSecret: make([]byte, 48), ClientRandom: make([]byte, 32), ServerRandom: make([]byte, 32)}
	if _, err := NewCipher12(p, ClientSide); err != nil {
		t.Fatal(err)
	}
	p.Suite = 0x000A // TLS_RSA_WITH_3DES_EDE_CBC_SHA
	if _, err := NewCipher12(p, ClientSide); !errors.Is(err, ErrUnsupported) {
		t.Errorf("3DES: %v, want ErrUnsupported", err)
	}
	p.Suite, p.MasterSecret = 0xC02F, make([]byte, 47)
	if _, err := NewCipher12(p, ClientSide); !errors.Is(err, ErrKeySize) {
		t.Errorf("47-byte master secret: %v, want ErrKeySize", err)
	}
	if !Supported(0x0303, 0xC030) || !Supported(0x0304, 0x1303) || Supported(0x0304, 0xC030) || Supported(0x0302, 0xC013) {
		t.Error("Supported disagrees with the suite tables")
	}
}

// FuzzOpen opens arbitrary bodies with every kind of cipher: never a
// panic, never plaintext together with an error.
func FuzzOpen(f *testing.F) {
	f.Add(uint8(23), []byte{})
	f.Add(uint8(21), bytes.Repeat([]byte{0}, 40))
	f.Add(uint8(22), bytes.Repeat([]byte{0xff}, 64))
	secret := bytes.Repeat([]byte{7}, 32)
	p := Params12{MasterSecret: make([]byte, 48), ClientRandom: make([]byte, 32), ServerRandom: make([]byte, 32)}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		var cs []*Cipher
		for _, id := range []uint16{0x1301, 0x1303} {
			c, err := NewCipher13(id, secret)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		for _, id := range []uint16{0xC02F, 0xCCA8, 0xC013, 0xC028} {
			for _, etm := range []bool{false, true} {
				p.Suite, p.EncryptThenMAC = id, etm
				c, err := NewCipher12(p, ServerSide)
				if err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
			}
		}
		for _, c := range cs {
			if _, pt, err := c.Open(typ, 0x0303, body); err != nil && pt != nil {
				t.Fatal("plaintext with an error")
			}
		}
	})
}
