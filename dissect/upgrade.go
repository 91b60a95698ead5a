package dissect

import (
	"bytes"
)

// plainHeadMax is how many plaintext bytes of each side are kept to name the
// protocol that upgraded to TLS, and to show a refusal.
const plainHeadMax = 1024

// Upgrade names the plaintext protocol inside which TLS started (STARTTLS
// and the like) or was asked for; its text is the JSON "upgrade" field.
type Upgrade string

// The protocols guessUpgrade names.
const (
	UpgradeNone        Upgrade = "" // TLS started with the connection
	UpgradeHTTPConnect Upgrade = "http-connect"
	UpgradePostgreSQL  Upgrade = "postgresql"
	UpgradeSOCKS       Upgrade = "socks"
	UpgradeRDP         Upgrade = "rdp"
	UpgradeLDAP        Upgrade = "ldap"
	UpgradeMySQL       Upgrade = "mysql"
	UpgradeSMTP        Upgrade = "smtp"
	UpgradeIMAP        Upgrade = "imap"
	UpgradePOP3        Upgrade = "pop3"
	UpgradeFTP         Upgrade = "ftp"
	UpgradeXMPP        Upgrade = "xmpp"
	UpgradeSTARTTLS    Upgrade = "starttls" // a STARTTLS of an unrecognised protocol
	UpgradeUnknown     Upgrade = "unknown"
)

// guessUpgrade names the plaintext protocol that preceded TLS on c, from
// the first plaintext bytes of each side.
func guessUpgrade(c *Conn) Upgrade {
	cl, sv := c.Sides[Client].PlainHead, c.Sides[Server].PlainHead
	upper := bytes.ToUpper(cl)
	has := func(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
	switch {
	case bytes.HasPrefix(upper, []byte("CONNECT ")):
		return UpgradeHTTPConnect
	case len(cl) >= 8 && bytes.Equal(cl[:8], []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}): // SSLRequest
		return UpgradePostgreSQL
	case len(cl) >= 3 && (cl[0] == 4 && (cl[1] == 1 || cl[1] == 2) || cl[0] == 5 && cl[1] >= 1 && int(cl[1])+2 <= len(cl)):
		return UpgradeSOCKS
	case len(cl) >= 4 && cl[0] == 3 && cl[1] == 0: // TPKT: X.224 connection request
		return UpgradeRDP
	case len(cl) > 0 && cl[0] == 0x30 && has(cl, "1.3.6.1.4.1.1466.20037"):
		return UpgradeLDAP
	case len(sv) >= 5 && sv[3] == 0 && (sv[4] == 10 || sv[4] == 9): // protocol 10 greeting
		return UpgradeMySQL
	case has(upper, "STARTTLS") && (has(upper, "EHLO") || has(upper, "HELO")):
		return UpgradeSMTP
	case bytes.HasPrefix(sv, []byte("* OK")) || has(upper, " STARTTLS"):
		return UpgradeIMAP
	case bytes.HasPrefix(sv, []byte("+OK")) || has(upper, "STLS"):
		return UpgradePOP3
	case has(upper, "AUTH TLS") || has(upper, "AUTH SSL"):
		return UpgradeFTP
	case has(cl, "<stream:stream") || has(cl, "<starttls"):
		return UpgradeXMPP
	case has(upper, "STARTTLS"):
		return UpgradeSTARTTLS
	}
	return UpgradeUnknown
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
	if c.TLS || c.Upgrade != UpgradeNone || !upgradeRequested(c) {
		return
	}
	c.Upgrade = guessUpgrade(c)
	c.UpgradeRefused = true
}
