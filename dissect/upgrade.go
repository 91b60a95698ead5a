package dissect

import (
	"bytes"
)

// plainHeadMax is how many plaintext bytes of each side are kept to name the
// protocol that upgraded to TLS, and to show a refusal.
const plainHeadMax = 1024

// guessUpgrade names the plaintext protocol that preceded TLS on c, from
// the first plaintext bytes of each side.
func guessUpgrade(c *Conn) string {
	cl, sv := c.Sides[Client].PlainHead, c.Sides[Server].PlainHead
	upper := bytes.ToUpper(cl)
	has := func(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
	switch {
	case bytes.HasPrefix(upper, []byte("CONNECT ")):
		return "http-connect"
	case len(cl) >= 8 && bytes.Equal(cl[:8], []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}): // SSLRequest
		return "postgresql"
	case len(cl) >= 3 && (cl[0] == 4 && (cl[1] == 1 || cl[1] == 2) || cl[0] == 5 && cl[1] >= 1 && int(cl[1])+2 <= len(cl)):
		return "socks"
	case len(cl) >= 4 && cl[0] == 3 && cl[1] == 0: // TPKT: X.224 connection request
		return "rdp"
	case len(cl) > 0 && cl[0] == 0x30 && has(cl, "1.3.6.1.4.1.1466.20037"):
		return "ldap"
	case len(sv) >= 5 && sv[3] == 0 && (sv[4] == 10 || sv[4] == 9): // protocol 10 greeting
		return "mysql"
	case has(upper, "STARTTLS") && (has(upper, "EHLO") || has(upper, "HELO")):
		return "smtp"
	case bytes.HasPrefix(sv, []byte("* OK")) || has(upper, " STARTTLS"):
		return "imap"
	case bytes.HasPrefix(sv, []byte("+OK")) || has(upper, "STLS"):
		return "pop3"
	case has(upper, "AUTH TLS") || has(upper, "AUTH SSL"):
		return "ftp"
	case has(cl, "<stream:stream") || has(cl, "<starttls"):
		return "xmpp"
	case has(upper, "STARTTLS"):
		return "starttls"
	}
	return "unknown"
}

// upgradeRequested reports whether the client's plaintext asks to start
// TLS: STARTTLS (SMTP, IMAP, XMPP, LDAP by its extended operation), STLS
// (POP3), AUTH TLS (FTP), PostgreSQL's SSLRequest, or an HTTP proxy's
// CONNECT tunnel (which TLS follows on an API proxy's outbound calls).
func upgradeRequested(c *Conn) bool {
	cl := c.Sides[Client].PlainHead
	upper := bytes.ToUpper(cl)
	if bytes.HasPrefix(upper, []byte("CONNECT ")) {
		return true
	}
	for _, s := range []string{"STARTTLS", "STLS\r", "STLS\n", "AUTH TLS", "AUTH SSL", "<STARTTLS", "1.3.6.1.4.1.1466.20037"} {
		if bytes.Contains(upper, []byte(s)) {
			return true
		}
	}
	return len(cl) >= 8 && bytes.Equal(cl[:8], []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f})
}

// checkRefusal marks a connection whose client asked to start TLS but on
// which no TLS record followed: the server refused the upgrade (or the
// capture ended first).
func checkRefusal(c *Conn) {
	if c.TLS || c.Upgrade != "" || !upgradeRequested(c) {
		return
	}
	c.Upgrade = guessUpgrade(c)
	c.UpgradeRefused = true
}
