package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
	"github.com/tlstriage/tlstriage/internal/promtest"
)

// TestPrometheusLive captures real crypto/tls handshakes on the loopback
// interface (one that succeeds, one the client rejects, one the server
// rejects with an alert) while a real Prometheus scrapes the metrics, and
// queries its API for the counts by verdict and cause.
func TestPrometheusLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	pki, err := pcaptest.NewPKI(pcaptest.PKIOptions{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	roots, cert := pki.RootPool(), pki.TLSCertificate(pcaptest.ChainLeafIntermediate)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
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
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	src, err := capture.OpenLive("lo", capture.LiveOptions{Filter: fmt.Sprintf("tcp port %d", port)})
	switch {
	case errors.Is(err, capture.ErrPermission):
		t.Skipf("live capture needs root or CAP_NET_RAW: %v", err)
	case err != nil && strings.Contains(err.Error(), "pcap build"):
		t.Skipf("no live capture in this build: %v", err)
	case err != nil:
		t.Fatalf("opening the loopback interface: %v", err)
	}
	defer src.Close()

	m := New(Options{})
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Serve(ctx, mln)
	p := promtest.Start(t, mln.Addr().String())

	var (
		mu  sync.Mutex
		all []judged
	)
	an := dissect.NewAnalyzer(dissect.Options{}, func(c *dissect.Conn) {
		r := diagnose.Diagnose(c, diagnose.Options{})
		m.Observe(c, r)
		mu.Lock()
		all = append(all, judged{c, r})
		mu.Unlock()
	})
	capCtx, stopCapture := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- an.Run(capCtx, liveFrames{src}) }()

	handshake := func(cfg *tls.Config) error {
		raw, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		c := tls.Client(raw, cfg)
		err = c.Handshake()
		if err == nil {
			c.Write([]byte("hello"))
		}
		c.Close()
		return err
	}
	if err := handshake(&tls.Config{RootCAs: roots, ServerName: pcaptest.DefaultServerName}); err != nil {
		t.Fatalf("good client: %v", err)
	}
	if err := handshake(&tls.Config{RootCAs: x509.NewCertPool(), ServerName: pcaptest.DefaultServerName, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("client without the root: the handshake succeeded")
	}
	if err := handshake(&tls.Config{RootCAs: roots, ServerName: pcaptest.DefaultServerName, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}); err == nil {
		t.Fatal("client with RSA suites only: the handshake succeeded")
	}
	time.Sleep(500 * time.Millisecond) // past the ring's block timeout
	stopCapture()
	src.Close()
	<-ran
	an.Flush()
	st, _ := src.(capture.StatsSource)
	var cs capture.Stats
	if st != nil {
		cs, _ = st.Stats()
	}
	m.SetCapture(an.Stats(), cs)

	mu.Lock()
	want := byCause(all)
	verdicts := map[diagnose.Verdict]int{}
	for _, j := range all {
		verdicts[j.r.Verdict]++
	}
	mu.Unlock()
	if verdicts[diagnose.VerdictOK] != 1 || verdicts[diagnose.VerdictClientRejectedCertificate] != 1 || verdicts[diagnose.VerdictServerAlert] != 1 {
		t.Errorf("verdicts %v, want one ok, one client_rejected_certificate, one server_alert", verdicts)
	}
	p.WaitFor(t, `sum by (verdict, cause) (tlstriage_handshakes_total)`, want, 30*time.Second)
	p.WaitFor(t, `sum(tlstriage_tls_connections_total)`, map[string]float64{"{}": 3}, 30*time.Second)
}

// liveFrames reads a live source as dissect.Analyzer.Run does.
type liveFrames struct{ capture.Source }

func (l liveFrames) ReadFrame(ci *gopacket.CaptureInfo) ([]byte, error) {
	data, c, err := l.ReadPacketData()
	*ci = c
	return data, err
}
