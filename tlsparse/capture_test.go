package tlsparse

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// fixedTime is the clock given to crypto/tls so that tests do not depend on
// the wall clock.
var fixedTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testPKI is a CA with a server and a client leaf, made once per test run.
type testPKI struct {
	ca               *x509.Certificate
	server, client   tls.Certificate
	serverDER, caDER []byte
	pool             *x509.CertPool
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

func makeCert(t testing.TB, tmpl, parent *x509.Certificate, pub, priv any) []byte {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func getPKI(t testing.TB) *testPKI {
	pkiOnce.Do(func() {
		caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		caTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsparse test CA"},
			NotBefore: fixedTime.Add(-time.Hour), NotAfter: fixedTime.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		caDER := makeCert(t, caTmpl, caTmpl, &caKey.PublicKey, caKey)
		ca, err := x509.ParseCertificate(caDER)
		if err != nil {
			t.Fatal(err)
		}
		leaf := func(cn string, usage x509.ExtKeyUsage) (tls.Certificate, []byte) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
				NotBefore: fixedTime.Add(-time.Hour), NotAfter: fixedTime.Add(time.Hour),
				ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			}
			der := makeCert(t, tmpl, ca, &k.PublicKey, caKey)
			return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: k}, der
		}
		p := &testPKI{ca: ca, caDER: caDER, pool: x509.NewCertPool()}
		p.pool.AddCert(ca)
		p.server, p.serverDER = leaf("server.test", x509.ExtKeyUsageServerAuth)
		p.client, _ = leaf("client.test", x509.ExtKeyUsageClientAuth)
		pki = p
	})
	return pki
}

// recConn records everything written to it.
type recConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

// handshake is what one crypto/tls handshake over loopback TCP produced.
type handshake struct {
	client, server []byte // raw bytes written by each side
	state          tls.ConnectionState
	hello          *tls.ClientHelloInfo // as the server's crypto/tls saw the (last) ClientHello
	clientErr      error
	serverErr      error
}

// runHandshake runs a crypto/tls handshake between cc and sc over a
// loopback TCP connection and records both directions. (net.Pipe is
// unbuffered: in a HelloRetryRequest flow both sides write their
// compatibility change_cipher_spec at once and would block forever.)
func runHandshake(t testing.TB, cc, sc *tls.Config) *handshake {
	t.Helper()
	cc, sc = cc.Clone(), sc.Clone()
	cc.Time = func() time.Time { return fixedTime }
	sc.Time = func() time.Time { return fixedTime }
	h := &handshake{}
	var mu sync.Mutex
	sc.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		h.hello = chi
		mu.Unlock()
		return nil, nil
	}
	p1, p2 := loopbackPair(t)
	crec, srec := &recConn{Conn: p1}, &recConn{Conn: p2}
	client, server := tls.Client(crec, cc), tls.Server(srec, sc)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.serverErr = server.Handshake()
		if h.serverErr != nil {
			server.Close()
		}
	}()
	h.clientErr = client.Handshake()
	if h.clientErr == nil {
		h.state = client.ConnectionState()
	}
	client.Close()
	wg.Wait()
	server.Close()
	h.client, h.server = crec.bytes(), srec.bytes()
	return h
}

// plaintextMessages returns the handshake messages of stream that were
// sent in plaintext: those of handshake records before the first
// application_data record (a TLS 1.3 compatibility change_cipher_spec,
// which follows a HelloRetryRequest, is skipped).
func plaintextMessages(t testing.TB, stream []byte) [][]byte {
	t.Helper()
	hb := NewHandshakeBuffer(0)
	var msgs [][]byte
	for len(stream) > 0 {
		hdr, err := ReadRecordHeader(stream)
		if err != nil {
			t.Fatalf("record header: %v", err)
		}
		if len(stream) < RecordHeaderLen+hdr.Length {
			t.Fatalf("truncated record")
		}
		frag := stream[RecordHeaderLen : RecordHeaderLen+hdr.Length]
		stream = stream[RecordHeaderLen+hdr.Length:]
		if hdr.Type == TypeChangeCipherSpec && !tls12Encrypted(msgs) {
			continue
		}
		if hdr.Type != TypeHandshake {
			break
		}
		hb.Write(frag)
		for {
			_, msg, err := hb.Next()
			if err != nil {
				t.Fatal(err)
			}
			if msg == nil {
				break
			}
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

func findMessage(msgs [][]byte, typ HandshakeType) []byte {
	for _, m := range msgs {
		if len(m) > 0 && HandshakeType(m[0]) == typ {
			return m
		}
	}
	return nil
}

// clientConfig and serverConfig are the base configurations of the tests.
func clientConfig(t testing.TB) *tls.Config {
	return &tls.Config{
		RootCAs:    getPKI(t).pool,
		ServerName: "server.test",
		NextProtos: []string{"h2", "http/1.1"},
	}
}

func serverConfig(t testing.TB) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{getPKI(t).server},
		NextProtos:   []string{"http/1.1"},
	}
}

// loopbackPair returns the two ends of a TCP connection on 127.0.0.1.
func loopbackPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c2 := <-accepted
	if c2 == nil {
		c1.Close()
		t.Fatal("accept failed")
	}
	return c1, c2
}

// tls12Encrypted reports whether msgs hold a TLS 1.2-style ServerHello or a
// ClientKeyExchange, after which a change_cipher_spec starts encryption.
func tls12Encrypted(msgs [][]byte) bool {
	for _, m := range msgs {
		switch HandshakeType(m[0]) {
		case ClientKeyExchange, ServerHelloDone:
			return true
		}
	}
	return false
}
