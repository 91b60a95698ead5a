package diagnose_test

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// framed records o, frames it with fo, cuts every packet to snap bytes (0:
// whole) and returns the one connection dissect makes of the packets.
func framed(t *testing.T, o pcaptest.TLSOptions, fo pcaptest.FrameOptions, snap int) *dissect.Conn {
	t.Helper()
	pkts, err := pcaptest.Scenario{TLS: o, Frame: fo}.Packets()
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		if p := &pkts[i]; snap > 0 && len(p.Data) > snap {
			p.Data = p.Data[:snap]
			p.CI.CaptureLength = snap
		}
	}
	return analyse(t, pkts, fo.Link)
}

// TestCaptureHoles: bytes missing from the capture inside a record (a lost
// segment, packets cut by the snapshot length) do not end the analysis of
// the direction. The records after the hole are followed, the message the
// hole cuts is named and not parsed, and the verdict and fix say what the
// capture shows: how the handshake ended, and how to capture the chain.
func TestCaptureHoles(t *testing.T) {
	tp := getPKI(t)
	p := tp.pki
	rejecting := java(p, tp.other)
	rejecting.Chain = pcaptest.ChainFull
	trusting := java(p, p.Root)
	trusting.Chain = pcaptest.ChainFull
	tls13 := trusting
	tls13.MaxVersion = tls.VersionTLS13
	withData := java(p, p.Root)
	withData.AppData = true

	for _, c := range []struct {
		name    string
		o       pcaptest.TLSOptions
		fo      pcaptest.FrameOptions
		snap    int
		verdict diagnose.Verdict
		cut     []dissect.EventKind // messages named but not parsed (among others)
		fix     string
	}{
		// The 2nd server segment, in the middle of the Certificate, is
		// lost: the Certificate is cut, the client's alert comes after it.
		{"lost segment, rejected", rejecting, pcaptest.FrameOptions{Drop: 2, MSS: 500}, 0,
			diagnose.VerdictClientRejectedCertificate, []dissect.EventKind{dissect.EvCertificate}, "the capture lost packets"},
		// The same hole in a handshake that went on: both Finished are seen.
		{"lost segment, completed", trusting, pcaptest.FrameOptions{Drop: 2, MSS: 500}, 0,
			diagnose.VerdictOK, []dissect.EventKind{dissect.EvCertificate}, ""},
		// TLS 1.3: the hole is in the server's encrypted flight, which
		// the client acknowledges before its Finished.
		{"lost segment, TLS 1.3", tls13, pcaptest.FrameOptions{Drop: 2}, 0,
			diagnose.VerdictOK, nil, ""},
		// The 4th segment holds the end of the Certificate and the
		// ServerKeyExchange and ServerHelloDone: the hole runs past the
		// record's end, and the framing is found again at the server's
		// next flight (ChangeCipherSpec, Finished).
		{"lost segment past a record's end", trusting, pcaptest.FrameOptions{Drop: 4, MSS: 500}, 0,
			diagnose.VerdictOK, []dissect.EventKind{dissect.EvCertificate}, ""},
		// The server's ChangeCipherSpec and Finished are lost; its
		// response and its encrypted close_notify are found again (a
		// 26-byte alert record, not 13 plaintext alerts): the
		// application data says the handshake completed.
		{"lost Finished, then data", withData, pcaptest.FrameOptions{Drop: 2}, 0,
			diagnose.VerdictOK, nil, ""},
		// The server's whole flight lost: nothing to judge, but the
		// client's encrypted Finished is not read as plaintext messages.
		{"lost flight", withData, pcaptest.FrameOptions{Drop: 1}, 0,
			diagnose.VerdictIncomplete, nil, ""},
		// The server's flight in one record (OneRecord): the ServerHello
		// before the hole is parsed whole, the Certificate is cut.
		{"lost segment, one record", rejecting, pcaptest.FrameOptions{Drop: 2, MSS: 500, OneRecord: true}, 0,
			diagnose.VerdictClientRejectedCertificate, []dissect.EventKind{dissect.EvCertificate}, "the capture lost packets"},
		// tcpdump -s 200: the ClientHello and the Certificate are cut, the
		// ServerHello and the client's alert are whole.
		{"snapshot length", rejecting, pcaptest.FrameOptions{}, 200,
			diagnose.VerdictClientRejectedCertificate, []dissect.EventKind{dissect.EvClientHello, dissect.EvCertificate}, "tcpdump -s 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := framed(t, c.o, c.fo, c.snap)
			r := diagnose.Diagnose(conn, diagnose.Options{Trust: store(tp.other)})
			if !conn.Gaps() {
				t.Fatal("no bytes missing: the case tests nothing")
			}
			if r.Verdict != c.verdict {
				t.Fatalf("verdict %s (%s), want %s", r.Verdict, r.Detail, c.verdict)
			}
			if !slices.IsSortedFunc(conn.Events, func(x, y dissect.Event) int { return x.Frame - y.Frame }) {
				t.Error("events out of frame order")
			}
			var cut []dissect.EventKind
			for _, e := range conn.Events {
				if e.Cut {
					cut = append(cut, e.Kind)
					if !strings.HasPrefix(e.Detail, "not captured whole") {
						t.Errorf("%v (frame %d, %q) marked cut", e.Kind, e.Frame, e.Detail)
					}
				}
			}
			if conn.ServerHello == nil && c.verdict != diagnose.VerdictIncomplete {
				t.Error("no ServerHello parsed")
			}
			for _, an := range conn.Anomalies {
				if an.Code == "limit_reached" {
					t.Errorf("%s (frame %d): bytes misread", an.Detail, an.Frame)
				}
			}
			if !conn.Has(dissect.Client, dissect.EvEncryptedHandshake) && c.verdict != diagnose.VerdictClientRejectedCertificate {
				t.Error("no encrypted handshake from the client")
			}
			if a := conn.First(dissect.Server, dissect.EvAlert); a != nil {
				t.Errorf("the server's plaintext alert %v (frame %d): none was sent", a.Alert, a.Frame)
			}
			for _, k := range c.cut {
				if !slices.Contains(cut, k) {
					t.Errorf("cut messages %v, want %v among them", cut, c.cut)
				}
			}
			// The server's records after the hole are judged as of when
			// they came (the client acknowledged them before answering):
			// handshake records, not application data after the client's
			// Finished.
			if app, fin := conn.First(dissect.Server, dissect.EvApplicationData), conn.First(dissect.Client, dissect.EvEncryptedHandshake); app != nil && (fin == nil || app.Frame < fin.Frame) {
				t.Errorf("server application data (frame %d) before the client finished the handshake", app.Frame)
			}
			if slices.Contains(c.cut, dissect.EvCertificate) && len(conn.Chain) != 0 {
				t.Errorf("a chain of %d certificates parsed from a cut message", len(conn.Chain))
			}
			if c.verdict != diagnose.VerdictClientRejectedCertificate {
				return
			}
			cert := conn.First(dissect.Server, dissect.EvCertificate)
			alert := conn.First(dissect.Client, dissect.EvAlert)
			if cert == nil || alert == nil || cert.Frame >= alert.Frame {
				t.Fatalf("Certificate %+v, client alert %+v: want the Certificate first", cert, alert)
			}
			if r.Cause != diagnose.CauseUnknown || !strings.Contains(r.CauseDetail, "not captured whole") || !strings.Contains(r.Fix, c.fix) {
				t.Errorf("cause %s: %s; fix %s", r.Cause, r.CauseDetail, r.Fix)
			}
		})
	}
}
