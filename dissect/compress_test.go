package dissect

import (
	"bytes"
	"compress/zlib"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsdecrypt"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// deflateSession builds the records of a TLS 1.2 session whose ServerHello
// selects DEFLATE compression (RFC 3749), as no stack at hand still makes
// one: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, each side's protected
// records compressed as one zlib stream flushed after every record
// (Z_SYNC_FLUSH), then sealed with the keys of a master secret the key log
// holds.
type deflateSession struct {
	clientRandom, serverRandom, master []byte
	seal                               [2]*gcmSealer
	zip                                [2]*zlib.Writer
	out                                [2]*bytes.Buffer
	conv                               pcaptest.Conversation
}

// gcmSealer seals the TLS 1.2 AES-GCM records of one side (RFC 5288): the
// nonce is the 4-byte implicit IV of the key block and an 8-byte explicit
// nonce sent before the ciphertext (the sequence number here); the
// additional data is seq || type || version || plaintext length.
type gcmSealer struct {
	aead cipher.AEAD
	iv   []byte
	seq  uint64
}

func (g *gcmSealer) seal(typ uint8, fragment []byte) []byte {
	explicit := binary.BigEndian.AppendUint64(nil, g.seq)
	ad := binary.BigEndian.AppendUint64(nil, g.seq)
	ad = append(ad, typ, 3, 3)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(fragment)))
	g.seq++
	return g.aead.Seal(explicit, append(bytes.Clone(g.iv), explicit...), fragment, ad)
}

func newDeflateSession(t *testing.T) *deflateSession {
	t.Helper()
	s := &deflateSession{
		clientRandom: bytes.Repeat([]byte{0xc1}, 32), serverRandom: bytes.Repeat([]byte{0x5e}, 32),
		master: bytes.Repeat([]byte{0x3a}, 48),
	}
	// Key block (RFC 5246, Section 6.3): no MAC keys with GCM, 16-byte
	// keys, 4-byte implicit IVs.
	kb := tlsdecrypt.PRF12(sha256.New, s.master, "key expansion", append(bytes.Clone(s.serverRandom), s.clientRandom...), 2*16+2*4)
	for side, off := range []int{0, 16} {
		b, err := aes.NewCipher(kb[off : off+16])
		if err != nil {
			t.Fatal(err)
		}
		aead, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		s.seal[side] = &gcmSealer{aead: aead, iv: kb[32+4*side : 36+4*side]}
		s.out[side] = new(bytes.Buffer)
		s.zip[side] = zlib.NewWriter(s.out[side])
	}
	return s
}

func (s *deflateSession) keyLog() []byte {
	return fmt.Appendf(nil, "CLIENT_RANDOM %s %s\n", hex.EncodeToString(s.clientRandom), hex.EncodeToString(s.master))
}

// write sends raw bytes from side.
func (s *deflateSession) write(side Side, b []byte) {
	dir := pcaptest.ClientToServer
	if side == Server {
		dir = pcaptest.ServerToClient
	}
	s.conv.Events = append(s.conv.Events, pcaptest.Event{Dir: dir, Kind: pcaptest.Data, Data: b})
}

// compress returns the next compressed fragment of side's stream.
func (s *deflateSession) compress(t *testing.T, side Side, plaintext []byte) []byte {
	t.Helper()
	if _, err := s.zip[side].Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := s.zip[side].Flush(); err != nil { // Z_SYNC_FLUSH
		t.Fatal(err)
	}
	out := bytes.Clone(s.out[side].Bytes())
	s.out[side].Reset()
	return out
}

// protected sends a protected record of side: fragment is sealed as is
// (already compressed, or garbage).
func (s *deflateSession) protected(side Side, typ uint8, fragment []byte) {
	s.write(side, record(typ, s.seal[side].seal(typ, fragment)))
}

func record(typ uint8, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

func handshakeMsg(typ tlsparse.HandshakeType, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(typ))
	b.AddUint24LengthPrefixed(body)
	return b.BytesOrPanic()
}

// hellos sends the plaintext handshake up to the client's ChangeCipherSpec.
func (s *deflateSession) hellos() {
	s.write(Client, record(22, handshakeMsg(tlsparse.ClientHelloType, func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(s.clientRandom)
		b.AddUint8(0)                                                                  // session id
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0xc02f) }) // cipher suites
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{1, 0}) })
	})))
	sh := handshakeMsg(tlsparse.ServerHelloType, func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(s.serverRandom)
		b.AddUint8(0) // session id
		b.AddUint16(0xc02f)
		b.AddUint8(tlsdecrypt.CompressionDeflate)
	})
	done := handshakeMsg(tlsparse.ServerHelloDone, func(*cryptobyte.Builder) {})
	s.write(Server, record(22, append(sh, done...)))
	cke := handshakeMsg(tlsparse.ClientKeyExchange, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(bytes.Repeat([]byte{4}, 65)) })
	})
	s.write(Client, append(record(22, cke), record(20, []byte{1})...))
}

func finished() []byte {
	return handshakeMsg(tlsparse.Finished, func(b *cryptobyte.Builder) { b.AddBytes(bytes.Repeat([]byte{0xf1}, 12)) })
}

// analyze runs the session's packets through an Analyzer with its key log.
func (s *deflateSession) analyze(t *testing.T) *Conn {
	t.Helper()
	s.conv.Events = append(s.conv.Events, pcaptest.Event{Dir: pcaptest.ClientToServer, Kind: pcaptest.FIN}, pcaptest.Event{Dir: pcaptest.ServerToClient, Kind: pcaptest.FIN})
	pkts, err := pcaptest.Frame(&s.conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*Conn
	a := NewAnalyzer(Options{Keys: parseKeyLog(t, s.keyLog())}, func(c *Conn) { conns = append(conns, c) })
	for _, p := range pkts {
		a.Packet(p.Data, p.CI, pcaptest.Ethernet.LinkType())
	}
	a.Flush()
	if len(conns) != 1 || conns[0].Decryption == nil {
		t.Fatalf("%d connections, or no decryption", len(conns))
	}
	return conns[0]
}

// TestDecryptDeflate reads a TLS 1.2 session with DEFLATE compression: the
// decrypted records are decompressed before they are parsed, following
// each side's stream across records (the second request refers back to
// the first), so each close_notify is one warning alert, not the bytes of
// its compressed form read as alerts.
func TestDecryptDeflate(t *testing.T) {
	s := newDeflateSession(t)
	s.hellos()
	s.protected(Client, 22, s.compress(t, Client, finished()))
	s.write(Server, record(20, []byte{1}))
	s.protected(Server, 22, s.compress(t, Server, finished()))
	req := []byte("GET / HTTP/1.1\r\nHost: backend.example.test\r\n\r\n")
	for range 2 {
		s.protected(Client, 23, s.compress(t, Client, req))
		s.protected(Server, 23, s.compress(t, Server, []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")))
	}
	closeNotify := s.compress(t, Client, []byte{1, 0})
	if len(closeNotify) <= 2 {
		t.Fatalf("compressed close_notify of %d bytes", len(closeNotify))
	}
	s.protected(Client, 21, closeNotify)
	s.protected(Server, 21, s.compress(t, Server, []byte{1, 0}))
	c := s.analyze(t)

	want := `^c:ClientHello s:ServerHello s:ServerHelloDone c:ClientKeyExchange c:ChangeCipherSpec c:Encrypted handshake c:Handshake\[finished\]\* ` +
		`s:ChangeCipherSpec s:Encrypted handshake s:Handshake\[finished\]\* c:Application data s:Application data c:Application data s:Application data ` +
		`c:Alert\[close_notify\]\* s:Alert\[close_notify\]\*$`
	if got := timeline(c); !regexp.MustCompile(want).MatchString(got) {
		t.Errorf("timeline\n  %s\nwant\n  %s", got, want)
	}
	var alerts []string
	for _, e := range c.Events {
		if e.Kind == EvAlert || e.Kind == EvEncryptedAlert {
			alerts = append(alerts, fmt.Sprintf("%s %s %s decrypted=%v", e.From, e.Alert.Level, e.Alert.Description, e.Decrypted))
		}
	}
	if got := strings.Join(alerts, ", "); got != "client warning close_notify decrypted=true, server warning close_notify decrypted=true" {
		t.Errorf("alerts: %s", got)
	}
	d := c.Decryption
	if !d.Deflate || d.Records != [2]int{4, 4} || d.Failed != [2]string{} || len(c.Anomalies) != 0 {
		t.Errorf("decryption %+v, anomalies %v", *d, c.Anomalies)
	}
	if c.Sides[Client].AppData != 2 || c.Sides[Server].AppData != 2 {
		t.Errorf("application data records %d and %d, want 2 and 2", c.Sides[Client].AppData, c.Sides[Server].AppData)
	}
}

// TestDecryptDeflateGarbage: a server record that decrypts but is not the
// next part of its DEFLATE stream is a decompression_failure anomaly and
// ends decryption of that side, the client's records are still read.
func TestDecryptDeflateGarbage(t *testing.T) {
	s := newDeflateSession(t)
	s.hellos()
	s.protected(Client, 22, s.compress(t, Client, finished()))
	s.write(Server, record(20, []byte{1}))
	s.protected(Server, 22, []byte{0x78, 0x9c, 0xff, 0xfe, 0xfd, 0xfc, 0xfb})
	s.protected(Client, 21, s.compress(t, Client, []byte{1, 0}))
	s.protected(Server, 21, s.compress(t, Server, []byte{1, 0}))
	c := s.analyze(t)

	if len(c.Anomalies) != 1 || c.Anomalies[0].Code != "decompression_failure" {
		t.Errorf("anomalies %v, want one decompression_failure", c.Anomalies)
	}
	d := c.Decryption
	if !strings.Contains(d.Failed[Server], "could not be decompressed") || d.Failed[Client] != "" || d.Records != [2]int{2, 0} {
		t.Errorf("decryption %+v", *d)
	}
	if got := timeline(c); !strings.HasSuffix(got, "c:Alert[close_notify]* s:Encrypted alert") {
		t.Errorf("timeline %s", got)
	}
}
