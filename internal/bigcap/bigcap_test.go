package bigcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/truststore"
)

var (
	once  [2]sync.Once
	tmpls [2]*Templates
	errs  [2]error
)

func templates(t *testing.T, k Kind) *Templates {
	t.Helper()
	once[k].Do(func() { tmpls[k], errs[k] = NewTemplates(k, 32<<10) })
	if errs[k] != nil {
		t.Fatal(errs[k])
	}
	return tmpls[k]
}

// TestVerdicts checks that every session gets the verdict of its template,
// through the real pipeline, and that the file is a valid capture.
func TestVerdicts(t *testing.T) {
	for _, k := range []Kind{Bulk, Handshake} {
		t.Run(k.String(), func(t *testing.T) {
			ts := templates(t, k)
			var buf bytes.Buffer
			// A span shorter than the idle timeout and one longer.
			for _, span := range []time.Duration{10 * time.Second, 20 * time.Minute} {
				buf.Reset()
				st, err := ts.Write(&buf, Options{Sessions: 400, Span: span, Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				if st.Bytes != int64(buf.Len()) {
					t.Errorf("Stats.Bytes %d, wrote %d", st.Bytes, buf.Len())
				}
				checkChecksums(t, buf.Bytes())
				f, err := capture.NewReader("big.pcap", bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]int{}
				opts := diagnose.Options{Trust: truststore.Mozilla()}
				an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) {
					got[string(diagnose.Diagnose(c, opts).Verdict)]++
				})
				if err := an.Run(context.Background(), f); err != nil {
					t.Fatal(err)
				}
				an.Flush()
				if !maps.Equal(got, st.Verdicts) {
					t.Errorf("span %v: verdicts %v, want %v", span, got, st.Verdicts)
				}
				if s := an.Stats(); s.Packets != st.Packets || s.TCPConns != int64(st.Sessions) || s.Gaps != 0 {
					t.Errorf("span %v: analysed %d packets, %d connections, %d gaps; wrote %d packets, %d sessions",
						span, s.Packets, s.TCPConns, s.Gaps, st.Packets, st.Sessions)
				}
			}
		})
	}
}

// TestSize checks that Options.Size gives about that many bytes.
func TestSize(t *testing.T) {
	ts := templates(t, Handshake)
	var buf bytes.Buffer
	st, err := ts.Write(&buf, Options{Size: 3_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes < 2_700_000 || st.Bytes > 3_300_000 {
		t.Errorf("Size 3 MB wrote %d bytes", st.Bytes)
	}
}

// checkChecksums verifies the IPv4 and TCP checksums of every packet.
func checkChecksums(t *testing.T, b []byte) {
	t.Helper()
	b = b[24:]
	for n := 0; len(b) > 0; n++ {
		l := int(binary.LittleEndian.Uint32(b[8:]))
		p := b[16 : 16+l]
		b = b[16+l:]
		var tcp, pseudo []byte
		switch binary.BigEndian.Uint16(p[12:]) {
		case 0x0800:
			ip := p[14:34]
			if sum(ip, 0) != 0xffff {
				t.Fatalf("packet %d: bad IPv4 checksum", n+1)
			}
			tcp = p[34:]
			pseudo = append(append([]byte(nil), ip[12:20]...), 0, 6, byte(len(tcp)>>8), byte(len(tcp)))
		case 0x86dd:
			tcp = p[54:]
			pseudo = append(append([]byte(nil), p[22:54]...), 0, 0, byte(len(tcp)>>8), byte(len(tcp)), 0, 0, 0, 6)
		}
		if sum(tcp, sum(pseudo, 0)) != 0xffff {
			t.Fatalf("packet %d: bad TCP checksum", n+1)
		}
	}
}

func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s
}
