package dissect

import (
	"context"
	"crypto/tls"
	"io"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// packetList is a PacketSource over packets made by pcaptest.
type packetList struct {
	pkts []pcaptest.Packet
	lt   layers.LinkType
}

func (l *packetList) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	if len(l.pkts) == 0 {
		return nil, io.EOF
	}
	p := l.pkts[0]
	l.pkts = l.pkts[1:]
	*ci = p.CI
	return p.Data, nil
}

func (l *packetList) LinkType() layers.LinkType { return l.lt }

// TestNextFile: a handshake cut in two by a capture rotation (tcpdump -C),
// read as one capture with NextFile, is one connection whose events name
// the file of their frame, with frame numbers per file; read as two
// captures with SetFile, it is two broken ones.
func TestNextFile(t *testing.T) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := pcaptest.Scenario{TLS: pcaptest.TLSOptions{PKI: pki, MaxVersion: tls.VersionTLS12, ClientRoots: pki.RootPool(), AppData: true,
		Close: pcaptest.CloseClientFirst}}.Packets()
	if err != nil {
		t.Fatal(err)
	}
	half := len(pkts) / 2
	type analyzer interface {
		SetFile(string)
		NextFile(string) bool
		Run(context.Context, PacketSource) error
		Flush()
	}
	for _, n := range []int{0, 2} {
		for _, continued := range []bool{true, false} {
			var got []*Conn
			var an analyzer
			if n == 0 {
				an = NewAnalyzer(Options{}, func(c *Conn) { got = append(got, c) })
			} else {
				s := NewSharded(Options{}, n, nil, func(c *Conn, _ any) { got = append(got, c) })
				defer s.Close()
				an = s
			}
			an.SetFile("f.pcap")
			if err := an.Run(t.Context(), &packetList{pkts: pkts[:half], lt: layers.LinkTypeEthernet}); err != nil {
				t.Fatal(err)
			}
			if continued {
				if !an.NextFile("f.pcap1") {
					t.Fatal("NextFile did not continue")
				}
			} else {
				an.SetFile("f.pcap1")
			}
			if err := an.Run(t.Context(), &packetList{pkts: pkts[half:], lt: layers.LinkTypeEthernet}); err != nil {
				t.Fatal(err)
			}
			an.Flush()
			if !continued {
				if len(got) < 2 {
					t.Errorf("workers %d, read as two captures: %d connections, want the two halves", n, len(got))
				}
				continue
			}
			if len(got) != 1 {
				t.Fatalf("workers %d: %d connections, want 1", n, len(got))
			}
			c := got[0]
			if !c.Has(Client, EvApplicationData) || c.File != "f.pcap" || c.FileNo != 0 {
				t.Errorf("workers %d: file %q (%d), application data %v", n, c.File, c.FileNo, c.Has(Client, EvApplicationData))
			}
			last := c.Events[len(c.Events)-1]
			if c.FileOf(last.FileNo) != "f.pcap1" || last.Frame > len(pkts)-half {
				t.Errorf("workers %d: last event in %q frame %d, want f.pcap1, at most frame %d", n, c.FileOf(last.FileNo), last.Frame, len(pkts)-half)
			}
			if first := c.Events[0]; c.FileOf(first.FileNo) != "f.pcap" || first.Frame != 1 {
				t.Errorf("workers %d: first event in %q frame %d", n, c.FileOf(first.FileNo), first.Frame)
			}
		}
	}
}
