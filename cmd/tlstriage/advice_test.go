package main

import (
	"net/netip"
	"testing"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsparse"
	"github.com/tlstriage/tlstriage/truststore"
)

// TestFetchChainCommand: the command offered to fetch a chain the capture
// hides names the truststores given (a placeholder when none was), the
// host and client options given, and speaks the protocol TLS started in.
func TestFetchChainCommand(t *testing.T) {
	server := netip.MustParseAddrPort("10.0.0.2:443")
	sni := &tlsparse.ClientHello{ServerName: "backend.example.test"}
	given := &truststore.Store{Files: []string{"ca.pem", "ts.jks"}}
	for _, tc := range []struct {
		name         string
		conn         dissect.Conn
		trust        *truststore.Store
		host, client string
		want         string
	}{
		{"no truststore", dissect.Conn{Server: server, ClientHello: sni}, truststore.Mozilla(), "", "",
			"tlstriage probe 10.0.0.2:443 --sni backend.example.test --truststore <the client's truststore>"},
		{"truststores given", dissect.Conn{Server: server, ClientHello: sni}, given, "api.example.test", "java",
			"tlstriage probe 10.0.0.2:443 --sni backend.example.test --host api.example.test --client java --truststore ca.pem --truststore ts.jks"},
		{"SMTP STARTTLS", dissect.Conn{Server: netip.MustParseAddrPort("10.0.0.2:25"), Upgrade: "smtp", ClientHello: sni}, given, "", "",
			"openssl s_client -starttls smtp -connect 10.0.0.2:25 -showcerts -servername backend.example.test"},
		{"CONNECT tunnel", dissect.Conn{Server: netip.MustParseAddrPort("10.0.0.9:3128"), Upgrade: "http-connect"}, given, "", "",
			"openssl s_client -proxy 10.0.0.9:3128 -showcerts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fetchChainCommand(&tc.conn, tc.trust, tc.host, tc.client); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
