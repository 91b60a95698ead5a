package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// Verdict is what the wire shows of a handshake. The values are a
// contract (JSON "verdict").
type Verdict string

// Verdicts.
const (
	VerdictOK                        Verdict = "ok"
	VerdictClientRejectedCertificate Verdict = "client_rejected_certificate"
	VerdictClientAbortedAfterFlight  Verdict = "client_aborted_after_server_flight"
	VerdictServerAlert               Verdict = "server_alert"
	VerdictServerReset               Verdict = "server_reset"
	VerdictServerClosed              Verdict = "server_closed"
	VerdictClientCertRejected        Verdict = "client_cert_rejected"
	VerdictNoServerResponse          Verdict = "no_server_response"
	VerdictNotTLS                    Verdict = "not_tls"
	VerdictIncomplete                Verdict = "incomplete"
	VerdictUpgradeRefused            Verdict = "upgrade_refused"
)

// Failed reports whether a verdict is a failed handshake.
func Failed(verdict Verdict) bool {
	return verdict != VerdictOK && verdict != VerdictIncomplete && verdict != ""
}

// Wire is the verdict and the key moments behind it.
type Wire struct {
	Verdict Verdict
	Detail  string
	// Alert is the alert that ended the handshake, if any.
	Alert *Alert
	// CloseAfterCert is how long after the server's Certificate (or its
	// first encrypted flight) the client hung up; 0 when not applicable.
	CloseAfterCert time.Duration
	// Findings that come from the wire alone (an immediate close after
	// the handshake, a midstream start, gaps).
	Findings []Finding
}

// Alert is an alert with the side that sent it.
type Alert struct {
	From        dissect.Side
	Level       string // "warning", "fatal", "" when encrypted
	Description string // "certificate_unknown", "" when encrypted
	Encrypted   bool
	Decrypted   bool // read from an encrypted record with the key log
	Frame       int
	Time        time.Time
	Code        int // description code, -1 when encrypted
}

func alertOf(e *dissect.Event) *Alert {
	if e == nil {
		return nil
	}
	a := &Alert{From: e.From, Frame: e.Frame, Time: e.Time(), Code: -1}
	if e.Kind == dissect.EvEncryptedAlert {
		a.Encrypted = true
		return a
	}
	a.Level = e.Alert.Level.String()
	a.Description = e.Alert.Description.String()
	a.Code = int(e.Alert.Description)
	a.Decrypted = e.Decrypted
	return a
}

func (a *Alert) String() string {
	if a == nil {
		return ""
	}
	if a.Encrypted {
		return "an encrypted alert"
	}
	return fmt.Sprintf("alert %s %s (%d)", a.Level, a.Description, a.Code)
}

// certAlert reports whether d is an alert a client sends when it does not
// accept the server's certificate.
func certAlert(d tlsparse.AlertDescription) bool {
	switch d {
	case tlsparse.AlertBadCertificate, tlsparse.AlertUnsupportedCertificate, tlsparse.AlertCertificateRevoked,
		tlsparse.AlertCertificateExpired, tlsparse.AlertCertificateUnknown, tlsparse.AlertUnknownCa, tlsparse.AlertAccessDenied,
		tlsparse.AlertCertificateUnobtainable, tlsparse.AlertUnrecognizedName, tlsparse.AlertBadCertificateStatusResponse,
		tlsparse.AlertBadCertificateHashValue:
		return true
	}
	return false
}

// fatalAlert is the first fatal (or encrypted, when allowed) alert from s.
func fatalAlert(c *dissect.Conn, s dissect.Side, encrypted bool) *dissect.Event {
	for i := range c.Events {
		e := &c.Events[i]
		if e.From != s {
			continue
		}
		if e.Kind == dissect.EvAlert && (e.Alert.Level == tlsparse.AlertFatal || e.Alert.Description != tlsparse.AlertCloseNotify && e.Alert.Description != tlsparse.AlertUserCanceled) {
			return e
		}
		if encrypted && e.Kind == dissect.EvEncryptedAlert {
			return e
		}
	}
	return nil
}

// closeEvent is the first FIN or RST of side s.
func closeEvent(c *dissect.Conn, s dissect.Side) *dissect.Event {
	for i := range c.Events {
		e := &c.Events[i]
		if e.From == s && (e.Kind == dissect.EvFIN || e.Kind == dissect.EvRST) {
			return e
		}
	}
	return nil
}

// JudgeWire judges a connection from the wire alone: the verdict.
func JudgeWire(c *dissect.Conn) Wire {
	var w Wire
	if c.Midstream() {
		w.Findings = append(w.Findings, Finding{Code: FindingCaptureMidstream, Severity: SevWarning,
			Summary: "the capture starts in the middle of this connection (no SYN): its beginning is missing"})
	}
	if c.Gaps() {
		w.Findings = append(w.Findings, Finding{Code: FindingCaptureGap, Severity: SevWarning,
			Summary: fmt.Sprintf("bytes are missing from the capture (%d from the client, %d from the server): lost by the capture, not necessarily by the network",
				c.Sides[dissect.Client].GapBytes, c.Sides[dissect.Server].GapBytes)})
	}
	ch := c.First(dissect.Client, dissect.EvClientHello)
	if c.UpgradeRefused && c.ClientHello == nil {
		w.Verdict = VerdictUpgradeRefused
		if c.Upgrade == dissect.UpgradeHTTPConnect {
			w.Detail = fmt.Sprintf("the client asked the HTTP proxy for a tunnel (%q), and no TLS handshake followed", firstLine(c.Sides[dissect.Client].PlainHead))
			if line := firstLine(c.Sides[dissect.Server].PlainHead); line != "" {
				w.Detail += fmt.Sprintf("; the proxy answered %q", line)
			}
			return w
		}
		w.Detail = fmt.Sprintf("the client asked to start TLS inside %s, but no TLS handshake followed", c.Upgrade)
		if line := refusalLine(c.Sides[dissect.Server].PlainHead); line != "" {
			w.Detail += fmt.Sprintf("; the server answered %q", line)
		} else if line := lastLine(c.Sides[dissect.Server].PlainHead); line != "" {
			w.Detail += fmt.Sprintf("; the server's last words: %q", line)
		}
		return w
	}
	// A ClientHello the capture lacks bytes of is judged on if the server
	// answered it: what follows tells how the handshake ended.
	if c.Refused() {
		rst := c.Sides[dissect.Server].RST
		w.Verdict = VerdictServerReset
		w.Detail = fmt.Sprintf("the server refused the connection: it answered the SYN with %s (frame %d); nothing listens on %s, or a firewall rejects the connection", rst.Flags, rst.Frame, c.Server)
		return w
	}
	if closedBeforeHello(c, &w) {
		return w
	}
	if ch == nil || c.ClientHello == nil && !(ch.Cut && c.ServerHello != nil) {
		w.Verdict = VerdictIncomplete
		cl := closeEvent(c, dissect.Client)
		switch {
		case c.Midstream():
			w.Detail = "the capture lacks the beginning of the connection: no ClientHello seen"
		case c.Gaps():
			w.Detail = "the ClientHello was not captured whole (bytes missing)"
		case silentServerClose(c) != nil:
			sv := silentServerClose(c)
			w.Detail = fmt.Sprintf("no ClientHello: neither side sent a byte, and the server closed the connection (%s, frame %d) %s after accepting it: an idle timeout, not a refusal. The client never started TLS: a client that waits for the server to speak first (an SMTP, IMAP or FTP client on a port that expects TLS at once), or a connection opened ahead of use",
				sv.Flags, sv.Frame, fmtDur(sv.Time.Sub(acceptTime(c))))
		case cl != nil && c.Sides[dissect.Client].Bytes == 0 && c.Sides[dissect.Client].SYN:
			w.Detail = fmt.Sprintf("no ClientHello: the client closed the connection %s after opening it (%s, frame %d) without sending one. It gave up before TLS started: a client with no protocol version or cipher suite it may use (Java: jdk.tls.client.protocols, jdk.tls.disabledAlgorithms), or a TCP health check",
				fmtDur(cl.Time().Sub(c.FirstTime)), cl.Flags, cl.Frame)
		default:
			w.Detail = "no ClientHello seen"
		}
		return w
	}
	if e := c.First(dissect.Server, dissect.EvNotTLS); e != nil {
		w.Verdict = VerdictNotTLS
		w.Detail = fmt.Sprintf("the server answered the ClientHello with bytes that are not TLS (frame %d): %q", e.Frame, e.Detail)
		return w
	}
	if c.SSLv2 != nil {
		w.Findings = append(w.Findings, sslv2Finding(c))
	}
	if c.ServerHello == nil && c.SSLv2 == nil {
		return noServerHello(c, &w)
	}
	if c.Version().IsTLS13() {
		return verdict13(c, &w)
	}
	return verdict12(c, &w)
}

// noServerHello judges a handshake the server never answered with a
// ServerHello.
func noServerHello(c *dissect.Conn, w *Wire) Wire {
	if a := fatalAlert(c, dissect.Server, true); a != nil {
		w.Verdict = VerdictServerAlert
		w.Alert = alertOf(a)
		w.Detail = fmt.Sprintf("the server answered the ClientHello with %s (frame %d)", w.Alert, a.Frame)
		if c.HRR != nil {
			w.Detail += " after a HelloRetryRequest"
		}
		return *w
	}
	srv := c.Sides[dissect.Server]
	if srv.Gaps > 0 || (c.Sides[dissect.Client].Gaps > 0) {
		w.Verdict = VerdictIncomplete
		w.Detail = "bytes are missing before the ServerHello: the capture cannot tell what the server answered"
		if c.Sides[dissect.Client].CCS && c.Has(dissect.Client, dissect.EvEncryptedHandshake) {
			w.Detail += "; the client answered it (ChangeCipherSpec and Finished"
			if c.Has(dissect.Client, dissect.EvApplicationData) {
				w.Detail += ", then application data"
			}
			w.Detail += "), so the handshake most likely went on"
		}
		return *w
	}
	// A server that sent nothing and closes only once the client gave up
	// answers the client's close (a server that waits for the client's
	// EOF, or resets on it): the ClientHello went unanswered, the server
	// refused nothing. (A server that sent something, a HelloRetryRequest
	// or a ServerHello that does not parse, is judged on what it sent.)
	srvClose := firstClose(&srv)
	gaveUp := clientGaveUp(c)
	answered := srv.Bytes == 0 && srvClose != nil && gaveUp != nil && answersClose(srvClose, gaveUp)
	if !answered && srv.RST != nil && (srv.FIN == nil || srv.RST.Frame <= srv.FIN.Frame) {
		w.Verdict = VerdictServerReset
		w.Detail = fmt.Sprintf("the server reset the connection (frame %d, %s) without a ServerHello", srv.RST.Frame, srv.RST.Flags)
		return *w
	}
	if !answered && srv.FIN != nil {
		w.Verdict = VerdictServerClosed
		w.Detail = fmt.Sprintf("the server closed the connection (frame %d) without a ServerHello", srv.FIN.Frame)
		return *w
	}
	if c.HRR != nil {
		w.Verdict = VerdictIncomplete
		w.Detail = "the server sent a HelloRetryRequest; the handshake does not go further in the capture"
		if cl := closeEvent(c, dissect.Client); cl != nil {
			w.Verdict = VerdictClientAbortedAfterFlight
			w.Detail = fmt.Sprintf("the server sent a HelloRetryRequest and the client hung up (%s, frame %d)", cl.Kind, cl.Frame)
		}
		return *w
	}
	chEv := c.First(dissect.Client, dissect.EvClientHello)
	if wait := c.InputEnd.Sub(chEv.Time()); c.Ended == dissect.EndEndOfInput && closeEvent(c, dissect.Client) == nil && !answered && wait < captureEndWait {
		// The capture stopped, or lost the packets, before either side
		// gave up: a server that never answers shows the client's
		// timeout.
		w.Verdict = VerdictIncomplete
		w.Detail = fmt.Sprintf("the capture ends %s after the ClientHello (frame %d), with no answer from the server and neither side closing: it cannot tell what the server would have answered", fmtDur(wait), chEv.Frame)
		return *w
	}
	w.Verdict = VerdictNoServerResponse
	w.Detail = fmt.Sprintf("the server sent nothing after the ClientHello (frame %d)", chEv.Frame)
	if c.Ended == dissect.EndEndOfInput && closeEvent(c, dissect.Client) == nil && !answered {
		w.Detail += fmt.Sprintf(" in the %s until the capture ended", fmtDur(c.InputEnd.Sub(chEv.Time())))
	}
	if serverAckedHello(c) {
		w.Detail += "; its TCP stack acknowledged the ClientHello, so the application behind it never answered"
	}
	if cl := closeEvent(c, dissect.Client); cl != nil {
		how := fmt.Sprintf("%s, frame %d", cl.Kind, cl.Frame)
		if gaveUp != cl {
			how = fmt.Sprintf("%s, frame %d, then %s", alertOf(gaveUp), gaveUp.Frame, how)
		}
		w.Detail += fmt.Sprintf("; the client gave up after %s (%s)", fmtDur(cl.Time().Sub(chEv.Time())), how)
	} else if answered {
		w.Detail += fmt.Sprintf("; the client gave up after %s (%s, frame %d)", fmtDur(gaveUp.Time().Sub(chEv.Time())), alertOf(gaveUp), gaveUp.Frame)
	}
	if answered {
		w.Detail += fmt.Sprintf(", and only then did the server close its side (%s, frame %d): in answer to the client's close, not a refusal", srvClose.Flags, srvClose.Frame)
	}
	return *w
}

// firstClose is the earlier of side s's first FIN and first RST, nil when
// it sent neither.
func firstClose(s *dissect.SideInfo) *dissect.CloseInfo {
	if s.RST != nil && (s.FIN == nil || s.RST.Frame < s.FIN.Frame) {
		return s.RST
	}
	return s.FIN
}

// clientGaveUp is the client's first alert, FIN or RST: after a ClientHello
// the server did not answer, the moment it stopped waiting (Java sends
// user_canceled and close_notify before its FIN).
func clientGaveUp(c *dissect.Conn) *dissect.Event {
	for i := range c.Events {
		e := &c.Events[i]
		if e.From != dissect.Client {
			continue
		}
		switch e.Kind {
		case dissect.EvAlert, dissect.EvEncryptedAlert, dissect.EvFIN, dissect.EvRST:
			return e
		}
	}
	return nil
}

// answersClose reports whether the server's close srv came after the
// client gave up (g) and in answer to it: the server's acknowledgement
// covers what the client sent to give up, so it had received it. A close
// that crossed the client's on the wire does not: the server ended the
// connection on its own. A client RST takes no sequence number, and a RST
// may carry no acknowledgement: then capture order tells.
func answersClose(srv *dissect.CloseInfo, g *dissect.Event) bool {
	if srv.Frame < g.Frame {
		return false
	}
	if g.Kind == dissect.EvRST || srv.PeerAck < 0 {
		return true
	}
	return srv.PeerAck > g.Offset
}

// refusalWithin is how soon after accepting a connection a server that
// closes it before either side sent a byte is taken to refuse it. TLS
// clients send their ClientHello within milliseconds of connecting (a cold
// JVM within a few hundred), so a server that closes first, and this soon,
// refuses the connection (an access rule, a connection limit, a proxy with
// no backend); a later close is the idle timeout of a client that never
// spoke (servers wait 10 s to minutes for a client's first bytes).
const refusalWithin = 5 * time.Second

// acceptTime is when the server accepted the connection: its SYN-ACK.
func acceptTime(c *dissect.Conn) time.Time {
	if e := c.First(dissect.Server, dissect.EvSYN); e != nil {
		return e.Time()
	}
	return c.FirstTime
}

// silentServerClose is the server's close of a connection it accepted and
// on which neither side sent a byte, when the server closed first; nil
// otherwise.
func silentServerClose(c *dissect.Conn) *dissect.CloseInfo {
	cl, sv := &c.Sides[dissect.Client], &c.Sides[dissect.Server]
	if !cl.SYN || !sv.SYN || cl.Bytes > 0 || sv.Bytes > 0 || c.Midstream() || c.Gaps() {
		return nil
	}
	end := firstClose(sv)
	if end == nil {
		return nil
	}
	if ce := firstClose(cl); ce != nil && ce.Frame < end.Frame {
		return nil // the client hung up first: it gave up before TLS, or was a TCP health check
	}
	return end
}

// closedBeforeHello judges a connection the server accepted and reset or
// closed at once, before the client sent a byte: it refused the connection
// after the TCP handshake. The client had no time to send its ClientHello
// and reports "connection reset by peer" (or an unexpected end of file).
// It reports whether it set a verdict.
func closedBeforeHello(c *dissect.Conn, w *Wire) bool {
	end := silentServerClose(c)
	if end == nil {
		return false
	}
	after := end.Time.Sub(acceptTime(c))
	if after > refusalWithin {
		return false
	}
	why := "it refused the connection after the TCP handshake (an access rule on the client's address, a connection limit, a proxy with no backend to forward to)"
	if end == c.Sides[dissect.Server].RST {
		w.Verdict = VerdictServerReset
		w.Detail = fmt.Sprintf("the server accepted the connection and reset it %s later (%s, frame %d), before the client sent anything (clients report \"connection reset by peer\"): %s", fmtDur(after), end.Flags, end.Frame, why)
		return true
	}
	w.Verdict = VerdictServerClosed
	w.Detail = fmt.Sprintf("the server accepted the connection and closed it %s later (%s, frame %d), before the client sent anything (clients report an unexpected end of file): %s", fmtDur(after), end.Flags, end.Frame, why)
	return true
}

// captureEndWait is how long a ClientHello must have gone unanswered when
// the capture ends, neither side closing, to be judged unanswered rather
// than cut by the end of the capture (clients time out after seconds).
const captureEndWait = 5 * time.Second

// serverAckedHello reports whether the server acknowledged the bytes of
// the client's ClientHello: they reached its TCP stack.
func serverAckedHello(c *dissect.Conn) bool {
	ch := c.First(dissect.Client, dissect.EvClientHello)
	return ch != nil && c.Sides[dissect.Server].Acked > ch.Offset
}

// serverFailure judges a server that sent a fatal alert or hung up during
// the handshake. It reports whether it set a verdict.
func serverFailure(c *dissect.Conn, w *Wire, encrypted bool) bool {
	a := fatalAlert(c, dissect.Server, encrypted)
	if a == nil {
		return false
	}
	w.Alert = alertOf(a)
	if c.CertRequest != nil {
		w.Verdict = VerdictClientCertRejected
		cert := "no Certificate message"
		if c.ClientSentCertificate {
			cert = fmt.Sprintf("a Certificate message with %d certificates", len(c.ClientChain))
		}
		w.Detail = fmt.Sprintf("the server asked for a client certificate, the client sent %s, and the server answered with %s (frame %d)", cert, w.Alert, a.Frame)
		return true
	}
	w.Verdict = VerdictServerAlert
	w.Detail = fmt.Sprintf("the server sent %s (frame %d) during the handshake", w.Alert, a.Frame)
	return true
}

// hello12 is what the TLS ≤ 1.2 verdict rules read: the handshake in the
// clear.
type hello12 struct {
	c                       *dissect.Conn
	cl, sv                  *dissect.SideInfo
	clientDone, serverDone  bool
	lostFinished            bool           // the server's Finished is lost, its application data seen
	cert, done, cke, anchor *dissect.Event // Certificate, ServerHelloDone, ClientKeyExchange; anchor: the first of Certificate or ServerHelloDone
}

// verdict12Rules are tried in order on a TLS ≤ 1.2 handshake; the last
// always applies.
var verdict12Rules = []func(h *hello12, w *Wire) bool{
	completed12,
	rejectedAtCertificate12,
	func(h *hello12, w *Wire) bool {
		// An encrypted alert of the server counts unless bytes of its
		// stream are missing: then it may be a close_notify after a lost
		// Finished.
		return serverFailure(h.c, w, h.sv.Gaps == 0)
	},
	certAlertAfterLostFlight12,
	bytesMissing12,
	serverHungUp12,
	clientAlert12,
	unfinished12,
}

func verdict12(c *dissect.Conn, w *Wire) Wire {
	h := &hello12{c: c, cl: &c.Sides[dissect.Client], sv: &c.Sides[dissect.Server]}
	h.cert = c.First(dissect.Server, dissect.EvCertificate)
	h.done = c.First(dissect.Server, dissect.EvServerHelloDone)
	h.cke = c.First(dissect.Client, dissect.EvClientKeyExchange)
	h.clientDone = h.cl.CCS && c.Has(dissect.Client, dissect.EvEncryptedHandshake)
	h.serverDone = h.sv.CCS && c.Has(dissect.Server, dissect.EvEncryptedHandshake)
	if c.SSLv2 != nil {
		// SSL 2.0 has no ChangeCipherSpec: after its CLIENT-MASTER-KEY
		// (none when the session is resumed) the client sends its
		// encrypted CLIENT-FINISHED; the server its SERVER-VERIFY and
		// SERVER-FINISHED, then data.
		h.clientDone = (h.cke != nil || c.SSLv2.SessionIDHit) && c.Has(dissect.Client, dissect.EvEncryptedHandshake)
		h.serverDone = encryptedRecords(c, dissect.Server) >= 2 || c.Has(dissect.Server, dissect.EvApplicationData)
	}
	// The capture may have lost the server's Finished: its application
	// data comes only after it.
	h.lostFinished = !h.serverDone && h.sv.Gaps > 0 && c.Has(dissect.Server, dissect.EvApplicationData)
	// Clients judge the certificate as soon as it arrives (Java does not
	// wait for ServerHelloDone when the server's flight is slow).
	h.anchor = h.cert
	if h.anchor == nil {
		h.anchor = h.done
	}
	for _, rule := range verdict12Rules {
		if rule(h, w) {
			break
		}
	}
	return *w
}

func completed12(h *hello12, w *Wire) bool {
	if !h.clientDone || !(h.serverDone || h.lostFinished) {
		return false
	}
	w.Verdict = VerdictOK
	w.Detail = "the handshake completed: both sides sent ChangeCipherSpec and Finished"
	if h.c.SSLv2 != nil {
		w.Detail = "the SSL 2.0 handshake completed: the client sent its CLIENT-MASTER-KEY, then both sides encrypted records (CLIENT-FINISHED; SERVER-VERIFY and SERVER-FINISHED)"
		if h.c.SSLv2.SessionIDHit {
			w.Detail = "the SSL 2.0 handshake completed: the server resumed a session, then both sides sent encrypted records (CLIENT-FINISHED; SERVER-VERIFY and SERVER-FINISHED)"
		}
	}
	if h.lostFinished {
		w.Detail = "the handshake completed: the client sent ChangeCipherSpec and Finished, and the server application data, which comes only after its Finished (bytes of which are missing from the capture)"
	}
	afterHandshake(h.c, w)
	return true
}

// rejectedAtCertificate12: after the server's Certificate the client's
// next move was a FIN, a RST or a fatal alert, with no ClientKeyExchange.
func rejectedAtCertificate12(h *hello12, w *Wire) bool {
	c, cert, anchor := h.c, h.cert, h.anchor
	if h.cke != nil || anchor == nil {
		return false
	}
	ev, ok := clientHungUp(c, anchor)
	if !ok {
		return false
	}
	w.Verdict = VerdictClientRejectedCertificate
	w.CloseAfterCert = ev.Time().Sub(certTime(cert, anchor))
	var how string
	if a := fatalAlert(c, dissect.Client, true); a != nil {
		w.Alert = alertOf(a)
		how = fmt.Sprintf("sent %s (frame %d)", w.Alert, a.Frame)
		if fin := closeEvent(c, dissect.Client); fin != nil {
			how += fmt.Sprintf(", then %s (frame %d)", fin.Flags, fin.Frame)
		}
	} else {
		how = closeSequence(c, dissect.Client)
	}
	w.Detail = fmt.Sprintf("%s after the server's Certificate (frame %d) the client %s, without a ClientKeyExchange: it did not accept the server's certificate",
		fmtDur(w.CloseAfterCert), certFrame(cert, anchor), how)
	if cert == nil {
		w.Detail += " (no Certificate message was seen: anonymous or PSK suite?)"
	}
	return true
}

// certAlertAfterLostFlight12: a certificate alert of the client after a
// server flight the capture lost bytes of.
func certAlertAfterLostFlight12(h *hello12, w *Wire) bool {
	a := fatalAlert(h.c, dissect.Client, false)
	if a == nil || h.cke != nil || h.cert != nil || h.sv.Gaps == 0 || !certAlert(a.Alert.Description) {
		return false
	}
	w.Verdict = VerdictClientRejectedCertificate
	w.Alert = alertOf(a)
	w.Detail = fmt.Sprintf("the client sent %s (frame %d) after the ServerHello: it did not accept the server's certificate. Bytes of the server's flight are missing from the capture, so the certificate itself was not seen", w.Alert, a.Frame)
	return true
}

func bytesMissing12(h *hello12, w *Wire) bool { return bytesMissing(h.c, w) }

// bytesMissing: a hole in either direction leaves the handshake's end
// unknown.
func bytesMissing(c *dissect.Conn, w *Wire) bool {
	if c.Sides[dissect.Client].Gaps == 0 && c.Sides[dissect.Server].Gaps == 0 {
		return false
	}
	w.Verdict = VerdictIncomplete
	w.Detail = "bytes are missing from the handshake: the capture cannot tell how it ended"
	return true
}

func serverHungUp12(h *hello12, w *Wire) bool {
	if rst := h.sv.RST; rst != nil {
		w.Verdict = VerdictServerReset
		w.Detail = fmt.Sprintf("the server reset the connection (frame %d) before the handshake completed", rst.Frame)
		return true
	}
	if fin := h.sv.FIN; fin != nil && !h.serverDone {
		w.Verdict = VerdictServerClosed
		w.Detail = fmt.Sprintf("the server closed the connection (frame %d) before the handshake completed", fin.Frame)
		return true
	}
	return false
}

func clientAlert12(h *hello12, w *Wire) bool {
	a := fatalAlert(h.c, dissect.Client, true)
	if a == nil {
		return false
	}
	w.Alert = alertOf(a)
	w.Verdict = VerdictClientAbortedAfterFlight
	if h.cke == nil && h.anchor == nil {
		w.Detail = fmt.Sprintf("the client sent %s (frame %d) after the ServerHello", w.Alert, a.Frame)
		return true
	}
	w.Detail = fmt.Sprintf("the client sent %s (frame %d) during the handshake", w.Alert, a.Frame)
	return true
}

func unfinished12(h *hello12, w *Wire) bool {
	w.Verdict = VerdictIncomplete
	w.Detail = "the handshake did not complete within the capture"
	if e := closeEvent(h.c, dissect.Client); e != nil {
		w.Detail = fmt.Sprintf("the client hung up (%s, frame %d) before the handshake completed", e.Flags, e.Frame)
		if h.cke != nil {
			w.Verdict = VerdictClientAbortedAfterFlight
		}
	}
	return true
}

func certTime(cert, anchor *dissect.Event) time.Time {
	if cert != nil {
		return cert.Time()
	}
	return anchor.Time()
}

func certFrame(cert, anchor *dissect.Event) int {
	if cert != nil {
		return cert.Frame
	}
	return anchor.Frame
}

// clientHungUp reports whether the client's next move after the server's
// flight (ending with anchor) was a FIN, a RST or a fatal alert, and
// returns that first move.
func clientHungUp(c *dissect.Conn, anchor *dissect.Event) (*dissect.Event, bool) {
	ch := c.First(dissect.Client, dissect.EvClientHello)
	var last *dissect.Event = ch
	// Skip a second ClientHello (after HRR) and compat CCS.
	for i := range c.Events {
		e := &c.Events[i]
		if e.From != dissect.Client || e.Offset < ch.Offset || e == ch {
			continue
		}
		switch e.Kind {
		case dissect.EvSYN, dissect.EvGap, dissect.EvClientHello:
			continue
		case dissect.EvChangeCipherSpec:
			if c.Version().IsTLS13() {
				continue
			}
			return nil, false
		case dissect.EvFIN, dissect.EvRST, dissect.EvAlert, dissect.EvEncryptedAlert:
			if e.Kind == dissect.EvAlert && e.Alert.Level != tlsparse.AlertFatal && e.Alert.Description == tlsparse.AlertCloseNotify {
				// close_notify before any move: still a hang-up.
			}
			// Did the client hang up after it had the server's flight?
			// By acknowledgement when the frame carries one, else by time.
			if e.PeerAck >= 0 && e.PeerAck < anchor.Offset {
				return e, false
			}
			if e.PeerAck < 0 && e.Time().Before(anchor.Time()) {
				return e, false
			}
			_ = last
			return e, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// closeSequence describes how side s closed, in its own order.
func closeSequence(c *dissect.Conn, s dissect.Side) string {
	si := c.Sides[s]
	switch {
	case si.FIN != nil && si.RST != nil:
		return fmt.Sprintf("closed the connection: %s (frame %d), then %s (frame %d)", si.FIN.Flags, si.FIN.Frame, si.RST.Flags, si.RST.Frame)
	case si.FIN != nil:
		return fmt.Sprintf("closed the connection: %s (frame %d)", si.FIN.Flags, si.FIN.Frame)
	case si.RST != nil:
		return fmt.Sprintf("reset the connection: %s (frame %d)", si.RST.Flags, si.RST.Frame)
	}
	return "stopped"
}

// hello13 is what the TLS 1.3 verdict rules read: the server's first
// encrypted flight and the client's encrypted answer (its Finished).
type hello13 struct {
	c                 *dissect.Conn
	flight, clientFin *dissect.Event
}

// verdict13Rules are tried in order on a TLS 1.3 handshake; the last
// always applies.
var verdict13Rules = []func(h *hello13, w *Wire) bool{
	finished13,
	abortedAfterFlight13,
	func(h *hello13, w *Wire) bool { return serverFailure(h.c, w, false) },
	func(h *hello13, w *Wire) bool { return bytesMissing(h.c, w) },
	serverHungUp13,
	func(h *hello13, w *Wire) bool {
		w.Verdict = VerdictIncomplete
		w.Detail = "the handshake did not complete within the capture"
		return true
	},
}

func verdict13(c *dissect.Conn, w *Wire) Wire {
	h := &hello13{c: c, flight: c.First(dissect.Server, dissect.EvEncryptedHandshake), clientFin: c.First(dissect.Client, dissect.EvEncryptedHandshake)}
	for _, rule := range verdict13Rules {
		if rule(h, w) {
			break
		}
	}
	return *w
}

// finished13: the client sent its Finished. Did the server accept it?
func finished13(h *hello13, w *Wire) bool {
	c, clientFin := h.c, h.clientFin
	if clientFin == nil || h.flight == nil {
		return false
	}
	if a := fatalAlert(c, dissect.Server, false); a != nil {
		serverFailure(c, w, false)
		return true
	}
	w.Verdict = VerdictOK
	w.Detail = "the handshake completed: both sides sent their encrypted handshake"
	// By events, not SideInfo.AppData: in TLS 1.3 that count is a guess
	// and includes the 19-byte records taken for alerts. The client's
	// data does not count: it may send its request right after its
	// Finished, before it reads the server's refusal. (Unless bytes of
	// the server's stream are missing: its data may be in the hole.)
	if !c.Has(dissect.Server, dissect.EvApplicationData) && c.Sides[dissect.Server].Gaps == 0 {
		if sa := c.First(dissect.Server, dissect.EvEncryptedAlert); sa != nil && !clientClosedBefore(c, clientFin, sa) {
			refusedAfterFinished13(h, w, sa)
			return true
		}
	}
	afterHandshake(c, w)
	return true
}

// refusedAfterFinished13: the server answered the client's Finished with
// an encrypted alert and no application data.
func refusedAfterFinished13(h *hello13, w *Wire, sa *dissect.Event) {
	c, clientFin := h.c, h.clientFin
	w.Alert = alertOf(sa)
	unanswered := ""
	if c.Has(dissect.Client, dissect.EvApplicationData) {
		unanswered = "; the client's data went unanswered"
	}
	// A client answers a flight without CertificateRequest with its
	// Finished alone; asked for a certificate, it sends a Certificate
	// (empty if it has none), then a CertificateVerify if not empty, then
	// Finished, in one record or several.
	if n := clientHandshake13(c); n > maxFinished13 {
		w.Verdict = VerdictClientCertRejected
		w.Detail = fmt.Sprintf("TLS 1.3: the client answered the server's flight with %d bytes of encrypted handshake (frame %d), more than a Finished (at most %d): a Certificate message (empty when it has no certificate to offer) and its Finished, as a client does when the server asks for a certificate; the server then sent an encrypted alert (frame %d) and no application data: it most likely refused the client's certificate, or the lack of one%s",
			n, clientFin.Frame, maxFinished13, sa.Frame, unanswered)
		return
	}
	w.Verdict = VerdictServerAlert
	w.Detail = fmt.Sprintf("after the client's Finished the server sent an encrypted alert (frame %d) and no application data: it most likely rejected the client (a client certificate?)%s", sa.Frame, unanswered)
}

// abortedAfterFlight13: the client hung up after the server's encrypted
// flight without sending its Finished.
func abortedAfterFlight13(h *hello13, w *Wire) bool {
	c, flight := h.c, h.flight
	if flight == nil {
		return false
	}
	ev, ok := clientHungUp(c, flight)
	if !ok {
		return false
	}
	w.CloseAfterCert = ev.Time().Sub(flight.Time())
	if cert := c.First(dissect.Server, dissect.EvCertificate); cert != nil && cert.Decrypted {
		*w = rejectedDecrypted(c, w, cert, ev)
		return true
	}
	if a := fatalAlert(c, dissect.Client, false); a != nil && certAlert(a.Alert.Description) {
		w.Alert = alertOf(a)
		w.Verdict = VerdictClientRejectedCertificate
		w.Detail = fmt.Sprintf("%s after the server's encrypted flight (frame %d) the client sent %s (frame %d) %s: it did not accept the server's certificate",
			fmtDur(w.CloseAfterCert), flight.Frame, w.Alert, a.Frame, plainOrDecrypted(a))
		return true
	}
	w.Verdict = VerdictClientAbortedAfterFlight
	how := closeSequence(c, dissect.Client)
	if a := fatalAlert(c, dissect.Client, true); a != nil {
		w.Alert = alertOf(a)
		how = fmt.Sprintf("sent %s (frame %d)", w.Alert, a.Frame)
		if a.Detail != "" {
			how += " [" + a.Detail + "]"
		}
		if fin := closeEvent(c, dissect.Client); fin != nil {
			how += fmt.Sprintf(", then %s (frame %d)", fin.Flags, fin.Frame)
		}
	}
	w.Detail = fmt.Sprintf("TLS 1.3: %s after the server's encrypted flight (frame %d) the client %s without sending its Finished. The certificate is encrypted, so the capture alone cannot prove why: most likely the client rejected the server's certificate",
		fmtDur(w.CloseAfterCert), flight.Frame, how)
	return true
}

func serverHungUp13(h *hello13, w *Wire) bool {
	sv := &h.c.Sides[dissect.Server]
	if sv.RST != nil {
		w.Verdict = VerdictServerReset
		w.Detail = fmt.Sprintf("the server reset the connection (frame %d) before the handshake completed", sv.RST.Frame)
		return true
	}
	if sv.FIN != nil {
		w.Verdict = VerdictServerClosed
		w.Detail = fmt.Sprintf("the server closed the connection (frame %d) before the handshake completed", sv.FIN.Frame)
		return true
	}
	return false
}

// clientHandshake13 is how many bytes of encrypted handshake records the
// client sent (its second flight, in one record or several).
func clientHandshake13(c *dissect.Conn) int {
	n := 0
	for i := range c.Events {
		if e := &c.Events[i]; e.From == dissect.Client && e.Kind == dissect.EvEncryptedHandshake {
			n += e.Length
		}
	}
	return n
}

// The largest TLS 1.3 Finished record body (SHA-384: a 4-byte header, 48
// bytes of MAC, the inner content type and a 16-byte AEAD tag).
const maxFinished13 = 4 + 48 + 1 + 16

// clientClosedBefore reports whether the client sent an alert after its
// Finished (fin), or a FIN or RST, before the server's event e: the server's
// alert then answers the client's (a close_notify) instead of rejecting it.
func clientClosedBefore(c *dissect.Conn, fin, e *dissect.Event) bool {
	for i := range c.Events {
		ev := &c.Events[i]
		if ev.From != dissect.Client || ev.Frame > e.Frame {
			continue
		}
		switch ev.Kind {
		case dissect.EvFIN, dissect.EvRST:
			return true
		case dissect.EvAlert, dissect.EvEncryptedAlert:
			if ev.Offset > fin.Offset {
				return true
			}
		}
	}
	return false
}

// afterHandshake adds findings about how a completed handshake was used.
func afterHandshake(c *dissect.Conn, w *Wire) {
	// By event: SideInfo.AppData counts a TLS 1.3 close_notify too.
	if c.Has(dissect.Client, dissect.EvApplicationData) {
		return
	}
	e := closeEvent(c, dissect.Client)
	if e == nil {
		return
	}
	desc := closeSequence(c, dissect.Client)
	if a := firstAlertFrom(c, dissect.Client); a != nil {
		desc = "sent " + alertOf(a).String() + " and " + desc
	}
	w.Findings = append(w.Findings, Finding{Code: FindingClosedAfterHandshake, Severity: SevWarning,
		Summary: fmt.Sprintf("the handshake completed but the client sent no application data: it %s. Clients that check the hostname after the handshake (curl, some HTTP libraries) do this on a name mismatch", desc)})
}

func firstAlertFrom(c *dissect.Conn, s dissect.Side) *dissect.Event {
	for i := range c.Events {
		e := &c.Events[i]
		if e.From == s && (e.Kind == dissect.EvAlert || e.Kind == dissect.EvEncryptedAlert) {
			return e
		}
	}
	return nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

// firstLine is the first line of a plaintext exchange (an HTTP request or
// status line).
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// refusalLine is the last line of a plaintext exchange that reads as a
// refusal: an SMTP or FTP 4xx/5xx reply, POP3's -ERR, IMAP's NO or BAD
// ("" when none does; the last line may be the answer to QUIT).
func refusalLine(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		f := strings.Fields(l)
		switch {
		case len(l) >= 3 && (l[0] == '4' || l[0] == '5') && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' && l[2] <= '9':
			return l
		case strings.HasPrefix(l, "-ERR"):
			return l
		case len(f) >= 2 && (f[1] == "NO" || f[1] == "BAD"):
			return l
		}
	}
	return ""
}

// lastLine is the last non-empty line of a plaintext exchange.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// RefusedAfterAccept reports whether the server closed or reset c within
// moments of accepting it, before either side sent a byte: a refusal a
// TLS client sees as "connection reset by peer" before its ClientHello,
// reported as a failed handshake although no TLS byte was seen.
func RefusedAfterAccept(c *dissect.Conn) bool {
	var w Wire
	return !c.TLS && closedBeforeHello(c, &w)
}

// encryptedRecords counts the encrypted handshake records side s sent.
func encryptedRecords(c *dissect.Conn, s dissect.Side) int {
	n := 0
	for i := range c.Events {
		if e := &c.Events[i]; e.From == s && e.Kind == dissect.EvEncryptedHandshake {
			n += e.Count
		}
	}
	return n
}

// sslv2Finding is the finding of a server that answered in SSL 2.0: a
// warning on a handshake that completed (the client accepted it, as weak
// keys are), an error otherwise.
func sslv2Finding(c *dissect.Conn) Finding {
	sev := SevError
	if c.Has(dissect.Client, dissect.EvEncryptedHandshake) && c.Has(dissect.Server, dissect.EvEncryptedHandshake) {
		sev = SevWarning
	}
	frame := 0
	if e := c.First(dissect.Server, dissect.EvServerHello); e != nil {
		frame = e.Frame
	}
	return Finding{Code: FindingObsoleteProtocol, Severity: sev,
		Summary: fmt.Sprintf("the server answered in SSL 2.0 (SERVER-HELLO, frame %d): a protocol broken beyond repair (RFC 6176 prohibits it; DROWN, CVE-2016-0800, lets its key decrypt TLS sessions too) that no current client speaks: %s",
			frame, sslv2Fix(c))}
}

// sslv2Fix is what to do about a server that speaks SSL 2.0.
func sslv2Fix(c *dissect.Conn) string {
	return fmt.Sprintf("disable SSL 2.0 on the server %s and enable TLS 1.2 or 1.3 (OpenSSL removed SSL 2.0 in 1.1.0; in older ones, SSLv2 in the protocol list or an SSLv2 cipher turns it on), then replace its key and certificate, which SSL 2.0 exposed", c.Server)
}
