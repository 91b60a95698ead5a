package main

import (
	"fmt"
	"strings"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/truststore"
)

// adviceFlags are this command's options that diagnose's advice names.
var adviceFlags = diagnose.Flags{KeyLog: "--keylog", Host: "--host", Truststore: "--truststore", ExportCerts: "--export-certs"}

// fetchChainCommand is a command that fetches and judges the chain the
// server of c sends: tlstriage probe with the truststores given, or,
// where TLS starts inside another protocol, openssl s_client speaking it
// (probe speaks TLS from the first byte only).
func fetchChainCommand(c *dissect.Conn, trust *truststore.Store, host, client string) string {
	sni := c.SNI()
	switch c.Upgrade {
	case dissect.UpgradeNone:
		probe := fmt.Sprintf("tlstriage probe %s", c.Server)
		if sni != "" {
			probe += " --sni " + sni
		}
		if host != "" {
			probe += " --host " + host
		}
		if client != "" {
			probe += " --client " + client
		}
		if trust == nil || trust.BuiltIn || len(trust.Files) == 0 {
			return probe + " --truststore <the client's truststore>"
		}
		for _, f := range trust.Files {
			probe += " --truststore " + f
		}
		return probe
	case dissect.UpgradeHTTPConnect:
		// CONNECT host:port HTTP/1.1: the target behind the proxy.
		line, _, _ := strings.Cut(string(c.Sides[dissect.Client].PlainHead), "\n")
		target := strings.Fields(line)
		cmd := fmt.Sprintf("openssl s_client -proxy %s -showcerts", c.Server)
		if len(target) >= 2 {
			cmd += " -connect " + target[1]
		}
		if sni != "" {
			cmd += " -servername " + sni
		}
		return cmd
	}
	proto := map[string]string{"smtp": "smtp", "imap": "imap", "pop3": "pop3", "ftp": "ftp", "xmpp": "xmpp", "ldap": "ldap", "postgresql": "postgres", "mysql": "mysql"}[string(c.Upgrade)]
	if proto == "" {
		return fmt.Sprintf("openssl s_client -connect %s -showcerts, after starting TLS inside %s by hand", c.Server, c.Upgrade)
	}
	cmd := fmt.Sprintf("openssl s_client -starttls %s -connect %s -showcerts", proto, c.Server)
	if sni != "" {
		cmd += " -servername " + sni
	}
	return cmd
}
