package tlsdecrypt

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces and newlines, as RFC 8448 prints it.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8448, Section 3 (Simple 1-RTT Handshake), TLS_AES_128_GCM_SHA256.
const (
	rfc8448ClientHSTraffic  = "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21"
	rfc8448ServerHSTraffic  = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"
	rfc8448ServerAppTraffic = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"
	// {client} send handshake record: the client's Finished, complete record.
	rfc8448ClientFinishedRecord = `17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77
	b0 51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46`
	rfc8448ClientFinished = `14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76
	94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61`
)

// TestTrafficKeysRFC8448 derives the handshake (and server application)
// traffic keys and IVs from the secrets of RFC 8448's simple 1-RTT
// handshake and compares them with the RFC's values.
func TestTrafficKeysRFC8448(t *testing.T) {
	for _, tc := range []struct {
		name, secret, key, iv string
	}{
		{"server handshake", rfc8448ServerHSTraffic, "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", "5d 31 3e b2 67 12 76 ee 13 00 0b 30"},
		{"client handshake", rfc8448ClientHSTraffic, "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01", "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"},
		{"server application", rfc8448ServerAppTraffic, "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56", "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"},
	} {
		key, iv, err := TrafficKeys(0x1301, unhex(t, tc.secret))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(key, unhex(t, tc.key)) || !bytes.Equal(iv, unhex(t, tc.iv)) {
			t.Errorf("%s: key %x iv %x, want %s / %s", tc.name, key, iv, tc.key, tc.iv)
		}
	}
	// The server's finished_key, HKDF-Expand-Label(secret, "finished", "", 32).
	fk, err := ExpandLabel(sha256.New, unhex(t, rfc8448ServerHSTraffic), "finished", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8"); !bytes.Equal(fk, want) {
		t.Errorf("finished key %x, want %x", fk, want)
	}
}

// TestOpenRFC8448 opens the client's Finished record of RFC 8448 with the
// client handshake traffic secret.
func TestOpenRFC8448(t *testing.T) {
	rec := unhex(t, rfc8448ClientFinishedRecord)
	c, err := NewCipher13(0x1301, unhex(t, rfc8448ClientHSTraffic))
	if err != nil {
		t.Fatal(err)
	}
	typ, pt, err := c.Open(rec[0], 0x0303, rec[5:])
	if err != nil {
		t.Fatal(err)
	}
	if typ != 22 || !bytes.Equal(pt, unhex(t, rfc8448ClientFinished)) {
		t.Errorf("type %d plaintext %x, want 22 %s", typ, pt, rfc8448ClientFinished)
	}
	if c.Seq() != 1 {
		t.Errorf("sequence number %d after one record, want 1", c.Seq())
	}
	// The same record again is record 1: the nonce differs, the tag fails.
	if _, _, err := c.Open(rec[0], 0x0303, rec[5:]); !errors.Is(err, ErrAuth) {
		t.Errorf("record replayed at sequence 1: %v, want ErrAuth", err)
	}
	// With the server's secret the tag fails: never a guess.
	s, _ := NewCipher13(0x1301, unhex(t, rfc8448ServerHSTraffic))
	if _, pt, err := s.Open(rec[0], 0x0303, rec[5:]); !errors.Is(err, ErrAuth) || pt != nil {
		t.Errorf("wrong key: %v (plaintext %x), want ErrAuth", err, pt)
	}
	if s.Seq() != 0 {
		t.Errorf("a failed Open advanced the sequence number to %d", s.Seq())
	}
	// Every strict prefix and every one-byte change fails without panic.
	for i := range len(rec) - 5 {
		c, _ := NewCipher13(0x1301, unhex(t, rfc8448ClientHSTraffic))
		if _, _, err := c.Open(rec[0], 0x0303, rec[5:5+i]); err == nil {
			t.Errorf("prefix of %d bytes opened", i)
		}
		body := bytes.Clone(rec[5:])
		body[i] ^= 0x40
		if _, _, err := c.Open(rec[0], 0x0303, body); !errors.Is(err, ErrAuth) {
			t.Errorf("byte %d changed: %v, want ErrAuth", i, err)
		}
	}
}

func TestTrafficKeysErrors(t *testing.T) {
	if _, _, err := TrafficKeys(0x1304, make([]byte, 32)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("TLS_AES_128_CCM_SHA256: %v, want ErrUnsupported", err)
	}
	if _, _, err := TrafficKeys(0x1302, make([]byte, 32)); !errors.Is(err, ErrKeySize) {
		t.Errorf("SHA-384 suite with a 32-byte secret: %v, want ErrKeySize", err)
	}
	if _, err := NewCipher13(0x1301, nil); !errors.Is(err, ErrKeySize) {
		t.Errorf("empty secret: %v, want ErrKeySize", err)
	}
	if _, err := ExpandLabel(sha256.New, make([]byte, 32), strings.Repeat("x", 250), nil, 16); err == nil {
		t.Error("a label over 255 bytes was accepted")
	}
}

// TestPRF12 checks the TLS 1.2 PRF against the test vectors published for
// the IETF TLS working group (P_SHA256 and P_SHA384, label "test label").
func TestPRF12(t *testing.T) {
	got := PRF12(sha256.New, unhex(t, "9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"), "test label",
		unhex(t, "a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"), 100)
	want := unhex(t, `e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
		6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
		4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
		87 34 7b 66`)
	if !bytes.Equal(got, want) {
		t.Errorf("P_SHA256:\n got %x\nwant %x", got, want)
	}
	got = PRF12(sha512.New384, unhex(t, "b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df"), "test label",
		unhex(t, "cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65"), 148)
	want = unhex(t, `7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07 e8 1c 83 cd
		e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0 e5 34 cb 40 0f ed 27 00 88 4f 9d c2 36 f8 0e dd
		8b fa 96 11 44 c9 e8 d7 92 ec a7 22 a7 b3 2f c3 d4 16 d4 73 eb c2 c5 fd 4a bf da d0 5d 91 84 25
		9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2 60 66 f2 ee a9 a6 92 36 a3 e5 26 55 c9 e9 ae e6
		91 c8 f3 a2 68 54 30 8d 5e aa 3b e8 5e 09 90 70 3d 73 e5 6f`)
	if !bytes.Equal(got, want) {
		t.Errorf("P_SHA384:\n got %x\nwant %x", got, want)
	}
}
