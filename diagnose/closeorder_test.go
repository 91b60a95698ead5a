package diagnose_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Close orders of real clients and servers on 127.0.0.1 (tcpdump -i lo),
// for a server that never answers the ClientHello and for one that resets
// the connection as soon as it accepted it:
//
//   - curl --max-time 2, Go (tls.Dialer with a deadline), Python (timeout=2)
//     and Node (setTimeout) time out and send FIN,ACK; a server that waits
//     for the client's EOF then closes (FIN,ACK acknowledging the client's
//     FIN), or with SO_LINGER 0 resets (RST,ACK acknowledging it).
//   - Java 17 (setSoTimeout 2000) sends alert warning user_canceled, alert
//     warning close_notify, then FIN,ACK.
//   - A Go client with SO_LINGER 0 resets; the server then sends nothing.
//   - A server that reads the ClientHello and closes first sends FIN,ACK;
//     Python and Java answer with an alert that the server's kernel
//     answers with a bare RST. A server that closes with unread bytes
//     sends RST,ACK.
//   - A server that accepts and closes with SO_LINGER 0 at once resets
//     the connection before curl, Go, Java, Python or Node wrote their
//     ClientHello (their error: "connection reset by peer").
var (
	userCanceled = []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 90}
	closeNotify  = []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0}
)

// closeOrderConn frames conv and returns the one connection dissect makes
// of it.
func closeOrderConn(t *testing.T, conv *pcaptest.Conversation) *dissect.Conn {
	t.Helper()
	pkts, err := pcaptest.Frame(conv, pcaptest.FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*dissect.Conn
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) { conns = append(conns, c) })
	for _, p := range pkts {
		an.Packet(p.Data, p.CI, pcaptest.Ethernet.LinkType())
	}
	an.Flush()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

// TestUnansweredCloseOrder: a server that never answers the ClientHello
// and closes only once the client gave up (its FIN, its alerts, its RST)
// closes in answer to the client: no_server_response, not server_closed
// or server_reset. A server that closes first, or whose close crossed the
// client's on the wire (it does not acknowledge the client's FIN), ended
// the connection on its own: server_closed or server_reset.
func TestUnansweredCloseOrder(t *testing.T) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	fin := func(d pcaptest.Dir, delay time.Duration) pcaptest.Event {
		return pcaptest.Event{Dir: d, Kind: pcaptest.FIN, Delay: delay}
	}
	rst := func(d pcaptest.Dir, delay time.Duration) pcaptest.Event {
		return pcaptest.Event{Dir: d, Kind: pcaptest.RST, Delay: delay}
	}
	data := func(d pcaptest.Dir, b []byte, delay time.Duration) pcaptest.Event {
		return pcaptest.Event{Dir: d, Kind: pcaptest.Data, Data: b, Delay: delay}
	}
	for _, tc := range []struct {
		name    string
		close   []pcaptest.Event
		verdict diagnose.Verdict
		detail  string
	}{
		{"curl, Go, Python, Node time out; the server closes on their EOF",
			[]pcaptest.Event{fin(c2s, 2*time.Second), fin(s2c, 3900*time.Microsecond)},
			diagnose.VerdictNoServerResponse, "only then did the server close its side (FIN,ACK"},
		{"Java times out with user_canceled and close_notify; the server closes on its EOF",
			[]pcaptest.Event{data(c2s, userCanceled, 2*time.Second), data(c2s, closeNotify, 70*time.Microsecond), fin(c2s, 70*time.Microsecond), fin(s2c, 220*time.Microsecond)},
			diagnose.VerdictNoServerResponse, "alert warning user_canceled (90), frame"},
		{"the client alerts user_canceled and stays; the server closes on the alert",
			[]pcaptest.Event{data(c2s, userCanceled, 2*time.Second), fin(s2c, 400*time.Microsecond)},
			diagnose.VerdictNoServerResponse, "the client gave up after 2s (alert warning user_canceled (90), frame 6), and only then did the server close its side (FIN,ACK"},
		{"the client times out; the server resets on its EOF (SO_LINGER 0)",
			[]pcaptest.Event{fin(c2s, 2*time.Second), rst(s2c, 3800*time.Microsecond)},
			diagnose.VerdictNoServerResponse, "only then did the server close its side (RST,ACK"},
		{"the client resets (SO_LINGER 0); the server says nothing",
			[]pcaptest.Event{rst(c2s, 2*time.Second)},
			diagnose.VerdictNoServerResponse, "the client gave up after 2s (RST"},
		{"the client resets; a server RST without ACK follows",
			[]pcaptest.Event{rst(c2s, 2*time.Second), {Dir: s2c, Kind: pcaptest.RST, NoAck: true, Delay: 300 * time.Microsecond}},
			diagnose.VerdictNoServerResponse, "only then did the server close its side (RST"},
		{"the server closes first; the client closes in turn",
			[]pcaptest.Event{fin(s2c, 200*time.Millisecond), fin(c2s, 900*time.Microsecond)},
			diagnose.VerdictServerClosed, "without a ServerHello"},
		{"the server closes first; Python answers with an alert, the server's kernel resets",
			[]pcaptest.Event{fin(s2c, 200*time.Millisecond), data(c2s, closeNotify, 100*time.Microsecond), {Dir: s2c, Kind: pcaptest.RST, NoAck: true, Delay: 30 * time.Microsecond}},
			diagnose.VerdictServerClosed, "without a ServerHello"},
		{"the server closes with the ClientHello unread: RST first",
			[]pcaptest.Event{rst(s2c, 200*time.Millisecond)},
			diagnose.VerdictServerReset, "without a ServerHello"},
		{"both time out at once: the server's FIN crosses the client's",
			[]pcaptest.Event{fin(c2s, 2*time.Second), {Dir: s2c, Kind: pcaptest.FIN, Crossed: true, Delay: 40 * time.Microsecond}},
			diagnose.VerdictServerClosed, "without a ServerHello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv, err := pcaptest.Record(pcaptest.TLSOptions{Kind: pcaptest.NoServerResponse, PKI: getPKI(t).pki, MaxVersion: tls.VersionTLS12, Close: tc.close})
			if err != nil {
				t.Fatal(err)
			}
			c := closeOrderConn(t, conv)
			if c.ClientHello == nil {
				t.Fatal("no ClientHello")
			}
			w := diagnose.JudgeWire(c)
			if w.Verdict != tc.verdict || !strings.Contains(w.Detail, tc.detail) || !diagnose.Failed(w.Verdict) {
				t.Errorf("%s: %s\nwant %s with %q", w.Verdict, w.Detail, tc.verdict, tc.detail)
			}
		})
	}
}

// TestResetBeforeHello: a server that accepts the connection and resets
// (or closes) it before the client sent a byte refused it: server_reset
// (server_closed), a failure, not "no ClientHello seen". A server that
// closes after a long silence timed out a client that never spoke, and a
// client that closes first gave up before TLS: both stay incomplete. A
// ClientHello that got out before the RST is judged as before.
func TestResetBeforeHello(t *testing.T) {
	c2s, s2c := pcaptest.ClientToServer, pcaptest.ServerToClient
	for _, tc := range []struct {
		name    string
		events  []pcaptest.Event
		hello   bool // a real ClientHello first
		verdict diagnose.Verdict
		detail  string
	}{
		{"reset at once (SO_LINGER 0)",
			[]pcaptest.Event{{Dir: s2c, Kind: pcaptest.RST, Delay: 1100 * time.Microsecond}}, false,
			diagnose.VerdictServerReset, "accepted the connection and reset it 1.1ms later (RST,ACK, frame 4), before the client sent anything"},
		{"closed at once, the client closes in turn",
			[]pcaptest.Event{{Dir: s2c, Kind: pcaptest.FIN, Delay: 300 * time.Microsecond}, {Dir: c2s, Kind: pcaptest.FIN, Delay: 100 * time.Microsecond}}, false,
			diagnose.VerdictServerClosed, "accepted the connection and closed it"},
		{"closed after a minute of silence",
			[]pcaptest.Event{{Dir: s2c, Kind: pcaptest.FIN, Delay: time.Minute}, {Dir: c2s, Kind: pcaptest.FIN, Delay: 100 * time.Microsecond}}, false,
			diagnose.VerdictIncomplete, "an idle timeout, not a refusal"},
		{"the client closes first (a TCP health check)",
			[]pcaptest.Event{{Dir: c2s, Kind: pcaptest.FIN, Delay: 2 * time.Millisecond}, {Dir: s2c, Kind: pcaptest.FIN, Delay: 100 * time.Microsecond}}, false,
			diagnose.VerdictIncomplete, "the client closed the connection"},
		{"the ClientHello got out before the RST",
			[]pcaptest.Event{{Dir: s2c, Kind: pcaptest.RST, Delay: 300 * time.Millisecond}}, true,
			diagnose.VerdictServerReset, "without a ServerHello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv := &pcaptest.Conversation{Events: tc.events}
			if tc.hello {
				var err error
				conv, err = pcaptest.Record(pcaptest.TLSOptions{Kind: pcaptest.NoServerResponse, PKI: getPKI(t).pki, Close: tc.events})
				if err != nil {
					t.Fatal(err)
				}
			}
			c := closeOrderConn(t, conv)
			if c.Refused() {
				t.Errorf("an accepted connection counted as refused")
			}
			w := diagnose.JudgeWire(c)
			if w.Verdict != tc.verdict || !strings.Contains(w.Detail, tc.detail) {
				t.Errorf("%s: %s\nwant %s with %q", w.Verdict, w.Detail, tc.verdict, tc.detail)
			}
		})
	}
}
