package tlsparse_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlstriage/tlstriage/tlsparse"
)

// One fuzz target per exported parser (STYLE habit 15). The seeds are the
// records and handshake messages of the generated captures in
// ../testdata/pcap, pulled out at test time by a small pcap reader and the
// package's own framer, plus a few forms the captures cannot show (TLS 1.3
// Certificate and CertificateRequest, which are encrypted on the wire, and
// an SSLv2-compatible ClientHello) built from them with cryptobyte.
//
// Besides "no panic", each target checks properties: a failed parse returns
// a nil result and a *ParseError holding the input; a successful one
// re-marshals to exactly its input, rejects every strict prefix, and keeps
// its lengths within the input.

// fuzzSeeds is what the captures hold.
type fuzzSeeds struct {
	records  [][]byte // whole plaintext records, header included
	streams  [][]byte // first bytes of each TCP stream (record framing seeds)
	hsFrags  [][][]byte
	messages map[tlsparse.HandshakeType][][]byte
	alerts   [][]byte // plaintext alert fragments
}

var loadFuzzSeeds = sync.OnceValues(func() (*fuzzSeeds, error) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pcap", "*.pcap"))
	if err != nil {
		return nil, err
	}
	s := &fuzzSeeds{messages: map[tlsparse.HandshakeType][][]byte{}}
	seen := map[string]bool{}
	add := func(list *[][]byte, b []byte) {
		if k := string(b); !seen[k] {
			seen[k] = true
			*list = append(*list, b)
		}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, st := range pcapStreams(data) {
			add(&s.streams, st[:min(len(st), 64)])
			var frags [][]byte
			hb := tlsparse.NewHandshakeBuffer(0)
		records:
			for n := 0; ; n++ {
				hdr, err := tlsparse.ReadRecordHeader(st)
				if err != nil || len(st) < tlsparse.RecordHeaderLen+hdr.Length {
					break
				}
				rec := st[:tlsparse.RecordHeaderLen+hdr.Length]
				frag := rec[tlsparse.RecordHeaderLen:]
				st = st[len(rec):]
				if n < 4 && len(rec) <= 2048 {
					add(&s.records, rec)
				}
				switch hdr.Type {
				case tlsparse.TypeAlert:
					add(&s.alerts, frag)
				case tlsparse.TypeHandshake:
					frags = append(frags, frag)
					hb.Write(frag)
					for {
						typ, msg, err := hb.Next()
						if err != nil || msg == nil {
							break
						}
						list := s.messages[typ]
						add(&list, msg)
						s.messages[typ] = list
					}
				default:
					// After a change_cipher_spec or among application data,
					// handshake records are encrypted.
					break records
				}
			}
			if len(frags) > 0 {
				s.hsFrags = append(s.hsFrags, frags)
			}
		}
	}
	return s, nil
})

// seeds returns the capture seeds, failing tb when the captures hold none
// of what a target needs (the fixtures changed: fix the extraction).
func seeds(tb testing.TB) *fuzzSeeds {
	s, err := loadFuzzSeeds()
	if err != nil {
		tb.Fatal(err)
	}
	for _, typ := range []tlsparse.HandshakeType{tlsparse.ClientHelloType, tlsparse.ServerHelloType,
		tlsparse.CertificateType, tlsparse.CertificateRequestType} {
		if len(s.messages[typ]) == 0 {
			tb.Fatalf("no %v in the captures", typ)
		}
	}
	if len(s.records) == 0 || len(s.alerts) == 0 || len(s.hsFrags) == 0 {
		tb.Fatalf("captures hold %d records, %d alerts, %d handshake streams", len(s.records), len(s.alerts), len(s.hsFrags))
	}
	return s
}

// pcapStreams returns the TCP payload of each direction of each connection
// of a classic pcap file, reassembled by sequence number up to the first
// hole. It handles the link types of the generated captures (Ethernet with
// VLAN tags, Linux cooked v1/v2, BSD loopback, raw IP) and IPv4/IPv6
// without extension headers; anything else is skipped.
func pcapStreams(data []byte) [][]byte {
	if len(data) < 24 {
		return nil
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil
	}
	link := bo.Uint32(data[20:24])
	type segment struct {
		seq     uint32
		payload []byte
	}
	flows := map[string][]segment{}
	var order []string
	for rest := data[24:]; len(rest) >= 16; {
		n := int(bo.Uint32(rest[8:12]))
		if len(rest) < 16+n {
			break
		}
		frame := rest[16 : 16+n]
		rest = rest[16+n:]
		ip := linkPayload(frame, link)
		var src, dst []byte
		var tcp []byte
		switch {
		case len(ip) >= 20 && ip[0]>>4 == 4 && ip[9] == 6:
			ihl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:4]))
			if ihl < 20 || total < ihl || total > len(ip) {
				continue
			}
			src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
		case len(ip) >= 40 && ip[0]>>4 == 6 && ip[6] == 6:
			plen := int(binary.BigEndian.Uint16(ip[4:6]))
			if 40+plen > len(ip) {
				continue
			}
			src, dst, tcp = ip[8:24], ip[24:40], ip[40:40+plen]
		default:
			continue
		}
		if len(tcp) < 20 || int(tcp[12]>>4)*4 < 20 || int(tcp[12]>>4)*4 > len(tcp) {
			continue
		}
		payload := tcp[int(tcp[12]>>4)*4:]
		if len(payload) == 0 {
			continue
		}
		key := string(src) + string(tcp[0:2]) + string(dst) + string(tcp[2:4])
		if _, ok := flows[key]; !ok {
			order = append(order, key)
		}
		flows[key] = append(flows[key], segment{binary.BigEndian.Uint32(tcp[4:8]), payload})
	}
	var out [][]byte
	for _, key := range order {
		segs := flows[key]
		base := segs[0].seq
		sort.SliceStable(segs, func(i, j int) bool { return int32(segs[i].seq-base) < int32(segs[j].seq-base) })
		first := segs[0].seq
		var st []byte
		for _, sg := range segs {
			off := int(int32(sg.seq - first))
			if off > len(st) {
				break // a hole
			}
			if end := off + len(sg.payload); end > len(st) {
				st = append(st, sg.payload[len(st)-off:]...)
			}
		}
		out = append(out, st)
	}
	return out
}

// linkPayload strips the link-layer header of frame; nil when the frame
// does not carry IP.
func linkPayload(frame []byte, link uint32) []byte {
	var ethType uint16
	switch link {
	case 1: // Ethernet
		if len(frame) < 14 {
			return nil
		}
		ethType, frame = binary.BigEndian.Uint16(frame[12:14]), frame[14:]
		for (ethType == 0x8100 || ethType == 0x88a8) && len(frame) >= 4 {
			ethType, frame = binary.BigEndian.Uint16(frame[2:4]), frame[4:]
		}
	case 113: // Linux cooked v1
		if len(frame) < 16 {
			return nil
		}
		ethType, frame = binary.BigEndian.Uint16(frame[14:16]), frame[16:]
	case 276: // Linux cooked v2
		if len(frame) < 20 {
			return nil
		}
		ethType, frame = binary.BigEndian.Uint16(frame[0:2]), frame[20:]
	case 0: // BSD loopback
		if len(frame) < 4 {
			return nil
		}
		return frame[4:]
	case 101: // raw IP
		return frame
	default:
		return nil
	}
	if ethType != 0x0800 && ethType != 0x86dd {
		return nil
	}
	return frame
}

// checkParseError checks the error of a failed parse of in: a *ParseError
// naming what was parsed and holding the input.
func checkParseError(t *testing.T, err error, what string, in []byte) {
	t.Helper()
	var pe *tlsparse.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: error %v (%T) is not a *ParseError", what, err, err)
	}
	if pe.Msg != what || !bytes.Equal(pe.Data, in) {
		t.Fatalf("ParseError{Msg: %q, Data: %x}, want %q and the input", pe.Msg, pe.Data, what)
	}
	if pe.Error() == "" {
		t.Fatal("empty error text")
	}
}

// checkStrictPrefixes checks that no strict prefix of msg parses, and that
// msg with a trailing byte does not either (habit 14).
func checkStrictPrefixes(t *testing.T, msg []byte, parse func([]byte) error) {
	t.Helper()
	for i := range len(msg) {
		if parse(msg[:i:i]) == nil {
			t.Fatalf("the %d-byte prefix of a valid %d-byte message parsed", i, len(msg))
		}
	}
	if parse(append(slices.Clip(msg), 0)) == nil {
		t.Fatal("a valid message with a trailing byte parsed")
	}
}

// within reports whether sub lies inside the memory of b (the parsers
// alias their input). Parsers reslice their input, so sub keeps the
// capacity that remained after its start.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	i := cap(b) - cap(sub)
	return i >= 0 && i+len(sub) <= len(b) && &b[i] == &sub[0]
}

func handshakeMsg(typ tlsparse.HandshakeType, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(uint8(typ))
	b.AddUint24LengthPrefixed(body)
	return b.BytesOrPanic()
}

func addExtensions(b *cryptobyte.Builder, exts []tlsparse.Extension) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(e.Type)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
		}
	})
}

func addUint16s(b *cryptobyte.Builder, vals []uint16) {
	for _, v := range vals {
		b.AddUint16(v)
	}
}

// build runs a cryptobyte builder; an error means the parsed values cannot
// be what the input held.
func build(t *testing.T, f func(b *cryptobyte.Builder)) []byte {
	t.Helper()
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil {
		t.Fatalf("re-marshalling the parsed message: %v", err)
	}
	return out
}

// FuzzRecordFraming checks the framing functions on the first bytes of a
// stream: ReadRecordHeader, LooksLikeTLS and SSLv2RecordLen.
func FuzzRecordFraming(f *testing.F) {
	s := seeds(f)
	for _, b := range s.records {
		f.Add(b[:min(len(b), 16)])
	}
	for _, b := range s.streams {
		f.Add(b)
	}
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15})
	f.Fuzz(func(t *testing.T, b []byte) {
		hdr, err := tlsparse.ReadRecordHeader(b)
		switch {
		case len(b) < tlsparse.RecordHeaderLen:
			if err != tlsparse.ErrNeedMore || hdr != (tlsparse.RecordHeader{}) {
				t.Fatalf("%d bytes: %+v, %v; want ErrNeedMore", len(b), hdr, err)
			}
		case err != nil:
			if hdr != (tlsparse.RecordHeader{}) {
				t.Fatalf("header %+v returned with error %v", hdr, err)
			}
			var pe *tlsparse.ParseError
			if !errors.As(err, &pe) || !bytes.Equal(pe.Data, b[:tlsparse.RecordHeaderLen]) {
				t.Fatalf("error %v does not hold the header", err)
			}
		default:
			if hdr.Type < tlsparse.TypeChangeCipherSpec || hdr.Type > tlsparse.TypeHeartbeat ||
				hdr.Version>>8 != 3 || hdr.Length < 0 || hdr.Length > tlsparse.MaxRecordLen ||
				uint8(hdr.Type) != b[0] || uint16(hdr.Version) != binary.BigEndian.Uint16(b[1:3]) ||
				hdr.Length != int(binary.BigEndian.Uint16(b[3:5])) {
				t.Fatalf("% x: header %+v", b[:5], hdr)
			}
			if hdr.Type.String() == "" || hdr.Version.String() == "" {
				t.Fatal("empty name")
			}
		}
		if len(b) >= tlsparse.RecordHeaderLen {
			// Only the header counts.
			if h5, err5 := tlsparse.ReadRecordHeader(b[:5]); h5 != hdr || (err5 == nil) != (err == nil) {
				t.Fatalf("header depends on the bytes after it: %+v vs %+v", h5, hdr)
			}
		}

		// LooksLikeTLS looks at most at the header and the first
		// handshake byte, and a prefix of a plausible start is plausible:
		// dissect relies on that to reject a stream as early as it can.
		looks := tlsparse.LooksLikeTLS(b)
		if len(b) == 0 && looks {
			t.Fatal("empty input looks like TLS")
		}
		if len(b) > 6 && tlsparse.LooksLikeTLS(b[:6]) != looks {
			t.Fatal("LooksLikeTLS depends on bytes after the sixth")
		}
		if looks {
			for i := 1; i < len(b) && i <= 6; i++ {
				if !tlsparse.LooksLikeTLS(b[:i]) {
					t.Fatalf("% x looks like TLS but its %d-byte prefix does not", b, i)
				}
			}
			if len(b) >= tlsparse.RecordHeaderLen && b[0]&0x80 == 0 && err != nil {
				t.Fatalf("% x looks like TLS but its record header fails: %v", b, err)
			}
		}

		n, ok := tlsparse.SSLv2RecordLen(b)
		switch {
		case !ok && n != 0:
			t.Fatalf("SSLv2RecordLen = %d, false", n)
		case ok && n == 0 && len(b) >= 5:
			t.Fatalf("SSLv2RecordLen needs more than %d bytes", len(b))
		case ok && n > 0:
			if len(b) < 5 || n != 2+int(binary.BigEndian.Uint16(b)&0x7fff) || n < 2+9+3+16 {
				t.Fatalf("SSLv2RecordLen(% x) = %d", b[:min(len(b), 5)], n)
			}
		}
		if ok {
			for i := range len(b) {
				if _, pok := tlsparse.SSLv2RecordLen(b[:i]); !pok {
					t.Fatalf("%d-byte prefix of a plausible SSLv2 start rejected", i)
				}
			}
		}
		if len(b) > 5 {
			if n5, ok5 := tlsparse.SSLv2RecordLen(b[:5]); n5 != n || ok5 != ok {
				t.Fatal("SSLv2RecordLen depends on bytes after the fifth")
			}
		}
	})
}

// FuzzHandshakeBuffer writes a byte stream into a HandshakeBuffer in chunks
// (cuts holds big-endian uint16 chunk sizes; the rest is one last chunk),
// draining it after each Write, and compares what comes out with a direct
// walk of the 4-byte headers: the same messages whatever the chunking, the
// limit enforced, bounded buffering, and byte ownership (Write copies; the
// messages are fresh copies).
func FuzzHandshakeBuffer(f *testing.F) {
	s := seeds(f)
	for _, frags := range s.hsFrags {
		var cuts []byte
		for _, fr := range frags {
			cuts = binary.BigEndian.AppendUint16(cuts, uint16(len(fr)))
		}
		data := bytes.Join(frags, nil)
		f.Add(0, data, cuts)
		f.Add(600, data, cuts) // the Certificate exceeds this limit
	}
	f.Add(-1, []byte{1, 0, 0, 0, 2, 0, 0, 1, 0xff}, []byte{0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, max int, data, cuts []byte) {
		limit := max
		if limit <= 0 {
			limit = tlsparse.DefaultMaxHandshake
		}
		limit = maxInt(limit, tlsparse.HandshakeHeaderLen)

		// The reference: walk the headers of the whole stream.
		var want [][]byte
		wantFail := false
		rest := data
		for len(rest) >= 4 {
			n := int(rest[1])<<16 | int(rest[2])<<8 | int(rest[3])
			if 4+n > limit {
				wantFail = true
				break
			}
			if len(rest) < 4+n {
				break
			}
			want = append(want, rest[:4+n])
			rest = rest[4+n:]
		}

		hb := tlsparse.NewHandshakeBuffer(max)
		var got [][]byte
		var failErr error
		written := 0
		drain := func() {
			for {
				typ, msg, err := hb.Next()
				if err != nil {
					if msg != nil || typ != 0 {
						t.Fatalf("message %x returned with error %v", msg, err)
					}
					var pe *tlsparse.ParseError
					if !errors.As(err, &pe) {
						t.Fatalf("error %v is not a *ParseError", err)
					}
					if failErr != nil && err != failErr {
						t.Fatalf("error changed from %v to %v", failErr, err)
					}
					failErr = err
					if hb.Err() != err {
						t.Fatalf("Err() = %v, Next returned %v", hb.Err(), err)
					}
					return
				}
				if msg == nil {
					if typ != 0 {
						t.Fatalf("type %v without a message", typ)
					}
					return
				}
				if len(msg) < 4 || len(msg) > limit || tlsparse.HandshakeType(msg[0]) != typ ||
					int(msg[1])<<16|int(msg[2])<<8|int(msg[3]) != len(msg)-4 {
					t.Fatalf("malformed message %x (type %v, limit %d)", msg[:min(len(msg), 8)], typ, limit)
				}
				i := len(got)
				if i >= len(want) || !bytes.Equal(msg, want[i]) {
					t.Fatalf("message %d = %x..., not the %d-th message of the stream", i, msg[:min(len(msg), 8)], i)
				}
				got = append(got, want[i])
				clear(msg) // the caller owns it: this must not change anything else
			}
		}
		for len(data) > 0 || len(cuts) >= 2 {
			n := len(data)
			if len(cuts) >= 2 {
				n = min(n, int(binary.BigEndian.Uint16(cuts)))
				cuts = cuts[2:]
			}
			chunk := bytes.Clone(data[:n])
			data = data[n:]
			hb.Write(chunk)
			written += n
			for i := range chunk {
				chunk[i] ^= 0xff // Write copied it
			}
			drain()
			if failErr == nil {
				if b := hb.Buffered(); b < 0 || b >= limit || b > written {
					t.Fatalf("%d bytes buffered after draining (limit %d, %d written)", b, limit, written)
				}
			} else if b := hb.Buffered(); b != 0 {
				t.Fatalf("%d bytes buffered in a failed buffer", b)
			}
		}
		drain()
		if len(got) != len(want) {
			t.Fatalf("got %d messages, the stream holds %d", len(got), len(want))
		}
		if (failErr != nil) != wantFail {
			t.Fatalf("failed: %v, want failure: %v", failErr, wantFail)
		}
		if failErr == nil && hb.Buffered() != len(rest) {
			t.Fatalf("Buffered() = %d, %d bytes of an incomplete message remain", hb.Buffered(), len(rest))
		}
	})
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

var (
	ja4Re  = regexp.MustCompile(`^[tq](13|12|11|10|s3|s2|s1|d1|d2|d3|00)[di][0-9]{4}[0-9a-zA-Z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
	ja3Re  = regexp.MustCompile(`^[0-9]+,[0-9-]*,[0-9-]*,[0-9-]*,[0-9-]*$`)
	md5Re  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	ja3sRe = regexp.MustCompile(`^[0-9]+,[0-9]+,[0-9-]*$`)
)

// checkFingerprints checks the shape of the fingerprints of ch.
func checkFingerprints(t *testing.T, ch *tlsparse.ClientHello) {
	t.Helper()
	if s, h := tlsparse.JA3(ch); !ja3Re.MatchString(s) || !md5Re.MatchString(h) {
		t.Fatalf("JA3 = %q, %q", s, h)
	}
	ja4 := tlsparse.JA4(ch, false)
	if !ja4Re.MatchString(ja4) {
		t.Fatalf("JA4 = %q", ja4)
	}
	if r := tlsparse.JA4R(ch, false); len(r) < 10 || r[:10] != ja4[:10] {
		t.Fatalf("JA4_r %q does not start like JA4 %q", r, ja4)
	}
	if q := tlsparse.JA4(ch, true); q[0] != 'q' || q[1:] != ja4[1:] {
		t.Fatalf("QUIC JA4 %q vs %q", q, ja4)
	}
}

// FuzzParseClientHello parses ClientHellos (RFC 8446, Section 4.1.2).
func FuzzParseClientHello(f *testing.F) {
	for _, m := range seeds(f).messages[tlsparse.ClientHelloType] {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := tlsparse.ParseClientHello(msg)
		if err != nil {
			if ch != nil {
				t.Fatal("ClientHello and error both returned")
			}
			checkParseError(t, err, "ClientHello", msg)
			return
		}
		if !bytes.Equal(ch.Raw, msg) || !within(ch.Raw, msg) || ch.SSLv2 {
			t.Fatal("Raw is not the input")
		}
		if len(ch.Random) != 32 || !within(ch.Random, msg) || len(ch.SessionID) > 255 || !within(ch.SessionID, msg) {
			t.Fatalf("random %d bytes, session id %d bytes", len(ch.Random), len(ch.SessionID))
		}
		for i, e := range ch.Extensions {
			if !within(e.Data, msg) {
				t.Fatalf("extension 0x%04x data does not alias the input", e.Type)
			}
			if ch.ExtensionTypes[i] != e.Type {
				t.Fatalf("ExtensionTypes %v for extension 0x%04x at %d", ch.ExtensionTypes, e.Type, i)
			}
		}
		if len(ch.ExtensionTypes) != len(ch.Extensions) {
			t.Fatalf("%d extension types for %d extensions", len(ch.ExtensionTypes), len(ch.Extensions))
		}
		// The parsed fields re-marshal to exactly the input.
		out := build(t, func(b *cryptobyte.Builder) {
			b.AddUint8(uint8(tlsparse.ClientHelloType))
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(uint16(ch.LegacyVersion))
				b.AddBytes(ch.Random)
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ch.SessionID) })
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, ch.CipherSuites) })
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ch.CompressionMethods) })
				if ch.Extensions != nil {
					addExtensions(b, ch.Extensions)
				}
			})
		})
		if !bytes.Equal(out, msg) {
			t.Fatalf("re-marshalled ClientHello differs:\n got %x\nwant %x", out, msg)
		}
		// Typed fields come from extensions that are there.
		has := func(typ uint16) bool {
			return slices.ContainsFunc(ch.Extensions, func(e tlsparse.Extension) bool { return e.Type == typ })
		}
		for _, c := range []struct {
			set bool
			ext uint16
		}{
			{ch.ServerName != "", 0}, {ch.ALPN != nil, 16}, {ch.SupportedVersions != nil, 43},
			{ch.SupportedGroups != nil, 10}, {ch.SignatureAlgorithms != nil, 13}, {ch.KeyShareGroups != nil, 51},
			{ch.PreSharedKey, 41}, {ch.EarlyData, 42}, {ch.ECH, 0xfe0d},
		} {
			if c.set && !has(c.ext) {
				t.Fatalf("a field of extension 0x%04x is set without the extension", c.ext)
			}
		}
		if v := ch.MaxVersion(); tlsparse.IsGREASE(uint16(v)) && v != ch.LegacyVersion {
			t.Fatalf("MaxVersion = GREASE 0x%04x", uint16(v))
		}
		for _, cs := range ch.CipherSuites {
			if tlsparse.CipherSuite(cs).String() == "" {
				t.Fatal("empty cipher suite name")
			}
		}
		checkFingerprints(t, ch)
		checkStrictPrefixes(t, msg, func(b []byte) error { _, err := tlsparse.ParseClientHello(b); return err })
	})
}

// FuzzParseSSLv2ClientHello parses SSLv2-compatible ClientHello records
// (RFC 5246, Appendix E.2).
func FuzzParseSSLv2ClientHello(f *testing.F) {
	// The captures have none; build one like old OpenSSL clients sent,
	// with the cipher suites and random of a captured ClientHello.
	ch, err := tlsparse.ParseClientHello(seeds(f).messages[tlsparse.ClientHelloType][0])
	if err != nil {
		f.Fatal(err)
	}
	v2 := func(suites []uint16, sid, challenge []byte) []byte {
		var body cryptobyte.Builder
		body.AddUint8(1)
		body.AddUint16(0x0301)
		body.AddUint16(uint16(3 * (len(suites) + 1)))
		body.AddUint16(uint16(len(sid)))
		body.AddUint16(uint16(len(challenge)))
		body.AddBytes([]byte{0x01, 0x00, 0x80}) // SSL_CK_RC4_128_WITH_MD5
		for _, s := range suites {
			body.AddUint8(0)
			body.AddUint16(s)
		}
		body.AddBytes(sid)
		body.AddBytes(challenge)
		b := body.BytesOrPanic()
		return append([]byte{0x80 | byte(len(b)>>8), byte(len(b))}, b...)
	}
	f.Add(v2(ch.CipherSuites, nil, ch.Random[:16]))
	f.Add(v2(ch.CipherSuites[:1], ch.Random[:16], ch.Random))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ch, err := tlsparse.ParseSSLv2ClientHello(rec)
		if err != nil {
			if ch != nil {
				t.Fatal("ClientHello and error both returned")
			}
			checkParseError(t, err, "SSLv2 ClientHello", rec)
			return
		}
		if !ch.SSLv2 || !bytes.Equal(ch.Raw, rec) || !within(ch.Raw, rec) || !within(ch.Random, rec) || !within(ch.SessionID, rec) {
			t.Fatal("Raw, Random or SessionID do not alias the input")
		}
		if len(rec) < 11 || 2+int(binary.BigEndian.Uint16(rec)&0x7fff) != len(rec) ||
			uint16(ch.LegacyVersion) != binary.BigEndian.Uint16(rec[3:5]) {
			t.Fatalf("record % x... parsed as a whole SSLv2 ClientHello", rec[:min(len(rec), 11)])
		}
		specLen := int(binary.BigEndian.Uint16(rec[5:7]))
		if len(ch.CipherSuites) > specLen/3 || len(ch.Random)+len(ch.SessionID)+specLen+9 != len(rec)-2 {
			t.Fatalf("%d suites, %d-byte random, %d-byte session id from a %d-byte record", len(ch.CipherSuites), len(ch.Random), len(ch.SessionID), len(rec))
		}
		if ch.Extensions != nil {
			t.Fatal("SSLv2 hello with extensions")
		}
		if s, _ := tlsparse.JA3(ch); !ja3Re.MatchString(s) {
			t.Fatalf("JA3 = %q", s)
		}
		if ja4 := tlsparse.JA4(ch, false); !ja4Re.MatchString(ja4) {
			t.Fatalf("JA4 = %q", ja4)
		}
		checkStrictPrefixes(t, rec, func(b []byte) error { _, err := tlsparse.ParseSSLv2ClientHello(b); return err })
	})
}

// helloRetryRandom is SHA-256("HelloRetryRequest") (RFC 8446, Section 4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// FuzzParseServerHello parses ServerHellos, HelloRetryRequests and the
// pre-draft-22 TLS 1.3 ServerHello layout.
func FuzzParseServerHello(f *testing.F) {
	for _, m := range seeds(f).messages[tlsparse.ServerHelloType] {
		f.Add(m)
		sh, err := tlsparse.ParseServerHello(m)
		if err != nil {
			f.Fatal(err)
		}
		// A HelloRetryRequest and a draft-18 ServerHello made from it.
		f.Add(handshakeMsg(tlsparse.ServerHelloType, func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(helloRetryRandom)
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sh.SessionID) })
			b.AddUint16(uint16(sh.CipherSuite))
			b.AddUint8(0)
			addExtensions(b, []tlsparse.Extension{{Type: 43, Data: []byte{3, 4}}, {Type: 51, Data: []byte{0, 29}}})
		}))
		f.Add(handshakeMsg(tlsparse.ServerHelloType, func(b *cryptobyte.Builder) {
			b.AddUint16(0x7f12)
			b.AddBytes(sh.Random)
			b.AddUint16(uint16(sh.CipherSuite))
			addExtensions(b, sh.Extensions)
		}))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		sh, err := tlsparse.ParseServerHello(msg)
		if err != nil {
			if sh != nil {
				t.Fatal("ServerHello and error both returned")
			}
			checkParseError(t, err, "ServerHello", msg)
			return
		}
		if !bytes.Equal(sh.Raw, msg) || !within(sh.Raw, msg) || len(sh.Random) != 32 || !within(sh.Random, msg) ||
			!within(sh.SessionID, msg) {
			t.Fatal("Raw or Random do not alias the input")
		}
		if len(sh.ExtensionTypes) != len(sh.Extensions) {
			t.Fatalf("%d extension types for %d extensions", len(sh.ExtensionTypes), len(sh.Extensions))
		}
		for i, e := range sh.Extensions {
			if sh.ExtensionTypes[i] != e.Type {
				t.Fatalf("ExtensionTypes %v for extension 0x%04x at %d", sh.ExtensionTypes, e.Type, i)
			}
		}
		// One of the two layouts re-marshals to exactly the input.
		std := build(t, func(b *cryptobyte.Builder) {
			b.AddUint8(uint8(tlsparse.ServerHelloType))
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(uint16(sh.LegacyVersion))
				b.AddBytes(sh.Random)
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sh.SessionID) })
				b.AddUint16(uint16(sh.CipherSuite))
				b.AddUint8(sh.CompressionMethod)
				if sh.Extensions != nil {
					addExtensions(b, sh.Extensions)
				}
			})
		})
		draft := handshakeMsg(tlsparse.ServerHelloType, func(b *cryptobyte.Builder) {
			b.AddUint16(uint16(sh.LegacyVersion))
			b.AddBytes(sh.Random)
			b.AddUint16(uint16(sh.CipherSuite))
			addExtensions(b, sh.Extensions)
		})
		switch {
		case bytes.Equal(std, msg):
			if sh.HelloRetryRequest != bytes.Equal(sh.Random, helloRetryRandom) {
				t.Fatalf("HelloRetryRequest = %v with random %x", sh.HelloRetryRequest, sh.Random)
			}
		case bytes.Equal(draft, msg):
			if sh.HelloRetryRequest || sh.SessionID != nil {
				t.Fatal("draft ServerHello with a session id or flagged HelloRetryRequest")
			}
		default:
			t.Fatalf("re-marshalled ServerHello differs:\n got %x\n  or %x\nwant %x", std, draft, msg)
		}
		if sh.ALPN != "" || sh.SupportedVersion != 0 || sh.KeyShareGroup != 0 {
			if len(sh.Extensions) == 0 {
				t.Fatal("extension fields set without extensions")
			}
		}
		if s, h := tlsparse.JA3S(sh); !ja3sRe.MatchString(s) || !md5Re.MatchString(h) {
			t.Fatalf("JA3S = %q, %q", s, h)
		}
		checkStrictPrefixes(t, msg, func(b []byte) error { _, err := tlsparse.ParseServerHello(b); return err })
	})
}

// FuzzParseCertificate parses Certificate messages in the TLS 1.2 form and,
// with tls13, the TLS 1.3 form.
func FuzzParseCertificate(f *testing.F) {
	for _, m := range seeds(f).messages[tlsparse.CertificateType] {
		f.Add(m, false)
		c, err := tlsparse.ParseCertificate(m, false)
		if err != nil {
			f.Fatal(err)
		}
		// The TLS 1.3 form of the same chain, as it is before encryption.
		f.Add(handshakeMsg(tlsparse.CertificateType, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
				for i, e := range c.Entries {
					b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
					var exts []tlsparse.Extension
					if i == 0 {
						exts = []tlsparse.Extension{{Type: 5, Data: []byte{0x30, 0x03, 0x0a, 0x01, 0x00}}}
					}
					addExtensions(b, exts)
				}
			})
		}), true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, tls13 bool) {
		c, err := tlsparse.ParseCertificate(msg, tls13)
		if err != nil {
			if c != nil {
				t.Fatal("Certificate and error both returned")
			}
			checkParseError(t, err, "Certificate", msg)
			return
		}
		if c.Entries == nil || (!tls13 && c.Context != nil) || !within(c.Context, msg) {
			t.Fatalf("Entries %v, Context %x", c.Entries, c.Context)
		}
		for _, e := range c.Entries {
			if !within(e.Data, msg) || !within(e.Extensions, msg) || (!tls13 && e.Extensions != nil) {
				t.Fatal("entry does not alias the input")
			}
		}
		out := build(t, func(b *cryptobyte.Builder) {
			b.AddUint8(uint8(tlsparse.CertificateType))
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
				if tls13 {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.Context) })
				}
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, e := range c.Entries {
						b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
						if tls13 {
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Extensions) })
						}
					}
				})
			})
		})
		if !bytes.Equal(out, msg) {
			t.Fatalf("re-marshalled Certificate differs:\n got %x\nwant %x", out, msg)
		}
		checkStrictPrefixes(t, msg, func(b []byte) error { _, err := tlsparse.ParseCertificate(b, tls13); return err })
	})
}

// FuzzParseCertificateRequest parses CertificateRequests: with tls13 the
// TLS 1.3 form, else the TLS 1.2 form or the TLS 1.0/1.1 one.
func FuzzParseCertificateRequest(f *testing.F) {
	for _, m := range seeds(f).messages[tlsparse.CertificateRequestType] {
		f.Add(m, false)
		cr, err := tlsparse.ParseCertificateRequest(m, false)
		if err != nil {
			f.Fatal(err)
		}
		dns := func(b *cryptobyte.Builder) {
			for _, dn := range cr.CertificateAuthorities {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(dn) })
			}
		}
		// The TLS 1.1 form, and the TLS 1.3 form with the same contents.
		f.Add(handshakeMsg(tlsparse.CertificateRequestType, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.CertificateTypes) })
			b.AddUint16LengthPrefixed(dns)
		}), false)
		var algs, cas cryptobyte.Builder
		algs.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, cr.SignatureAlgorithms) })
		cas.AddUint16LengthPrefixed(dns)
		f.Add(handshakeMsg(tlsparse.CertificateRequestType, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			addExtensions(b, []tlsparse.Extension{{Type: 13, Data: algs.BytesOrPanic()}, {Type: 47, Data: cas.BytesOrPanic()}})
		}), true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, tls13 bool) {
		cr, err := tlsparse.ParseCertificateRequest(msg, tls13)
		if err != nil {
			if cr != nil {
				t.Fatal("CertificateRequest and error both returned")
			}
			checkParseError(t, err, "CertificateRequest", msg)
			return
		}
		var out []byte
		if tls13 {
			if cr.Context == nil || cr.Extensions == nil || cr.CertificateTypes != nil {
				t.Fatalf("TLS 1.3 CertificateRequest %+v", cr)
			}
			out = build(t, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(tlsparse.CertificateRequestType))
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.Context) })
					addExtensions(b, cr.Extensions)
				})
			})
		} else {
			if cr.CertificateTypes == nil || cr.CertificateAuthorities == nil || cr.Context != nil || cr.Extensions != nil {
				t.Fatalf("TLS 1.2 CertificateRequest %+v", cr)
			}
			out = build(t, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(tlsparse.CertificateRequestType))
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.CertificateTypes) })
					if cr.SignatureAlgorithms != nil { // the TLS 1.2 form
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, cr.SignatureAlgorithms) })
					}
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						for _, dn := range cr.CertificateAuthorities {
							b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(dn) })
						}
					})
				})
			})
		}
		if !bytes.Equal(out, msg) {
			t.Fatalf("re-marshalled CertificateRequest differs:\n got %x\nwant %x", out, msg)
		}
		for _, dn := range cr.CertificateAuthorities {
			if !within(dn, msg) {
				t.Fatal("distinguished name does not alias the input")
			}
		}
		checkStrictPrefixes(t, msg, func(b []byte) error { _, err := tlsparse.ParseCertificateRequest(b, tls13); return err })
	})
}

// FuzzParseAlerts parses alert fragments with ParseAlert and ParseAlerts.
func FuzzParseAlerts(f *testing.F) {
	for _, a := range seeds(f).alerts {
		f.Add(a)
	}
	f.Add([]byte{1, 0, 2, 40})
	f.Fuzz(func(t *testing.T, frag []byte) {
		a, err := tlsparse.ParseAlert(frag)
		if (err == nil) != (len(frag) == 2) {
			t.Fatalf("ParseAlert(% x): %v", frag, err)
		}
		if err != nil {
			if a != (tlsparse.Alert{}) {
				t.Fatalf("alert %v returned with error", a)
			}
			checkParseError(t, err, "alert", frag)
		} else if uint8(a.Level) != frag[0] || uint8(a.Description) != frag[1] {
			t.Fatalf("ParseAlert(% x) = %+v", frag, a)
		}
		alerts, err := tlsparse.ParseAlerts(frag)
		if (err == nil) != (len(frag) > 0 && len(frag)%2 == 0) {
			t.Fatalf("ParseAlerts(% x): %v", frag, err)
		}
		if err != nil {
			if alerts != nil {
				t.Fatal("alerts and error both returned")
			}
			checkParseError(t, err, "alert", frag)
			return
		}
		if len(alerts) != len(frag)/2 {
			t.Fatalf("%d alerts from %d bytes", len(alerts), len(frag))
		}
		for i, al := range alerts {
			if uint8(al.Level) != frag[2*i] || uint8(al.Description) != frag[2*i+1] {
				t.Fatalf("alert %d = %+v", i, al)
			}
			if al.String() == "" || al.Level.String() == "" || al.Description.String() == "" {
				t.Fatal("empty alert name")
			}
		}
	})
}
