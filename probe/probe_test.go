package probe

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/tlsparse"
)

// TestFetch: a probe of a crypto/tls server on loopback gives the chain it
// sends, the hellos as they went over the wire and the server's address;
// a port with nothing listening is a connect error.
func TestFetch(t *testing.T) {
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.TLSCertificate(pcaptest.ChainLeafIntermediate)}, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	r, err := Fetch(t.Context(), Options{Target: ln.Addr().String(), SNI: "backend.example.test", Timeout: 5 * time.Second, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Conn
	if len(c.Chain) != 2 || c.ClientHello == nil || c.ClientHello.ServerName != "backend.example.test" || c.Version() != tlsparse.VersionTLS12 || c.Server.String() != ln.Addr().String() {
		t.Errorf("chain %d, hello %v, version %v, server %v", len(c.Chain), c.ClientHello != nil, c.Version(), c.Server)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	_, err = Fetch(t.Context(), Options{Target: addr, Timeout: 2 * time.Second, Now: time.Now})
	var pe *Error
	if !errors.As(err, &pe) || pe.Stage != "connect" {
		t.Errorf("nothing listening: %v", err)
	}
}
