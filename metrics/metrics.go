package metrics

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/dissect"
)

// Default caps, used where Options leaves a field zero.
const (
	DefaultMaxServers      = 1000
	DefaultMaxSNIs         = 1000
	DefaultMaxSeries       = 10000
	DefaultMaxCertificates = 1000
)

// Other is the label value that stands for every server or SNI beyond the
// caps.
const Other = "other"

// Length caps of label values taken from the wire, in bytes.
const (
	maxSNILen     = 253 // the longest DNS name (RFC 1035, Section 2.3.4)
	maxNameLen    = 256 // certificate subject and issuer
	maxSerialLen  = 64  // hex; RFC 5280 allows 20 octets, 40 digits
	maxServerLen  = 128 // "[v6 address%zone]:port"
	maxLimitLen   = 64  // names of dissect's limits
	maxVerdictLen = 64  // verdicts and causes (diagnose's constants)
)

// Options bound what a Metrics keeps. Zero fields take the defaults.
type Options struct {
	// MaxServers is how many distinct server addresses (ip:port) get a
	// label value of their own (default DefaultMaxServers); connections to
	// the others are counted under server="other".
	MaxServers int
	// MaxSNIs is how many distinct SNI names get a label value of their
	// own (default DefaultMaxSNIs); the others are counted under
	// sni="other". The empty SNI (none sent) never takes a place.
	MaxSNIs int
	// MaxSeries is how many label sets tlstriage_handshakes_total may hold
	// (default DefaultMaxSeries). Beyond it, a connection of a new label
	// set is counted with server and sni "other", which verdicts, causes
	// and client stacks alone bound.
	MaxSeries int
	// MaxCertificates is how many leaf certificates
	// tlstriage_certificate_not_after_timestamp_seconds shows (default
	// DefaultMaxCertificates); when full, the least recently seen leaf is
	// dropped.
	MaxCertificates int
	// ErrorLog, when set, receives the errors of serving a scrape; nil
	// serves them without logging (the library never logs on its own).
	ErrorLog promhttp.Logger
}

func (o *Options) defaults() {
	if o.MaxServers <= 0 {
		o.MaxServers = DefaultMaxServers
	}
	if o.MaxSNIs <= 0 {
		o.MaxSNIs = DefaultMaxSNIs
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMaxSeries
	}
	if o.MaxCertificates <= 0 {
		o.MaxCertificates = DefaultMaxCertificates
	}
}

// DurationBuckets are the upper bounds, in seconds, of
// tlstriage_handshake_duration_seconds: from a loopback handshake (well
// under a millisecond) to a client's read timeout.
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics counts judged connections and exposes them, with the capture's
// counters, to Prometheus. Its methods are safe for concurrent use.
type Metrics struct {
	o        Options
	reg      *prometheus.Registry
	handler  http.Handler
	capture  *captureCollector
	shakes   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	notAfter *prometheus.GaugeVec
	overflow *prometheus.CounterVec
	evicted  prometheus.Counter

	mu      sync.Mutex
	servers map[string]struct{}
	snis    map[string]struct{}
	series  map[[5]string]struct{}
	certs   map[[5]string]*list.Element // of certLabels; front is the most recently seen
	lru     *list.List
}

// New makes a Metrics with its own registry, holding the Go runtime and
// process collectors and tlstriage's metrics.
func New(o Options) *Metrics {
	o.defaults()
	m := &Metrics{
		o:       o,
		reg:     prometheus.NewRegistry(),
		capture: &captureCollector{},
		shakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlstriage_handshakes_total",
			Help: "TLS connections judged, by verdict, cause, server (ip:port), SNI and client stack.",
		}, []string{"verdict", "cause", "server", "sni", "client_stack"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tlstriage_handshake_duration_seconds",
			Help:    "Time from a connection's first packet to the end of its handshake: its last handshake message before application data, or the alert or close that ended it.",
			Buckets: DurationBuckets,
		}, []string{"verdict"}),
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tlstriage_certificate_not_after_timestamp_seconds",
			Help: "NotAfter of the leaf certificates servers sent, as Unix seconds.",
		}, []string{"server", "sni", "subject", "issuer", "serial"}),
		overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tlstriage_metrics_label_overflow_total",
			Help: "Handshakes counted under server or sni \"other\" because a label cap (servers, snis, series) was reached.",
		}, []string{"label"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tlstriage_metrics_certificates_evicted_total",
			Help: "Leaf certificates dropped from tlstriage_certificate_not_after_timestamp_seconds to stay within its cap.",
		}),
		servers: map[string]struct{}{},
		snis:    map[string]struct{}{},
		series:  map[[5]string]struct{}{},
		certs:   map[[5]string]*list.Element{},
		lru:     list.New(),
	}
	for _, l := range []string{"server", "sni", "series"} {
		m.overflow.WithLabelValues(l)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.capture, m.shakes, m.duration, m.notAfter, m.overflow, m.evicted,
	)
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      o.ErrorLog,
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	}))
	return m
}

// Registry is the registry the metrics are in, for a caller that adds its
// own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe counts one judged connection: tlstriage_handshakes_total, its
// handshake duration, and the NotAfter of the leaf certificate it carried
// in plaintext (or decrypted).
func (m *Metrics) Observe(c *dissect.Conn, r *diagnose.Result) {
	verdict := label(string(r.Verdict), maxVerdictLen)
	cause := label(string(r.Cause), maxVerdictLen)
	stack := ""
	if c.ClientHello != nil {
		stack = string(clientstack.Unknown)
		if slices.Contains(clientstack.Names, r.ClientStack.Name) {
			stack = string(r.ClientStack.Name)
		}
	}
	server := ""
	if c.Server.IsValid() {
		server = label(c.Server.String(), maxServerLen)
	}
	sni := label(c.SNI(), maxSNILen)

	m.mu.Lock()
	server = m.admit(m.servers, server, m.o.MaxServers, "server")
	sni = m.admit(m.snis, sni, m.o.MaxSNIs, "sni")
	key := [5]string{verdict, cause, server, sni, stack}
	if _, ok := m.series[key]; !ok {
		if len(m.series) < m.o.MaxSeries {
			m.series[key] = struct{}{}
		} else {
			m.overflow.WithLabelValues("series").Inc()
			server, sni = Other, Other
			key[2], key[3] = Other, Other
		}
	}
	if leaf := leafOf(c); leaf != nil {
		m.seeCert(server, sni, leaf)
	}
	m.mu.Unlock()

	m.shakes.WithLabelValues(key[:]...).Inc()
	m.duration.WithLabelValues(verdict).Observe(HandshakeDuration(c).Seconds())
}

// admit gives the label value of v among the values seen (set, at most
// max of them): v itself, or Other when set is full. The empty value is
// always itself.
func (m *Metrics) admit(set map[string]struct{}, v string, max int, name string) string {
	if v == "" {
		return v
	}
	if _, ok := set[v]; ok {
		return v
	}
	if len(set) < max {
		set[v] = struct{}{}
		return v
	}
	m.overflow.WithLabelValues(name).Inc()
	return Other
}

// leafOf is the server's parsed leaf certificate, or nil.
func leafOf(c *dissect.Conn) *dissect.CertInfo {
	if len(c.Chain) == 0 || c.Chain[0] == nil || c.Chain[0].Cert == nil {
		return nil
	}
	return c.Chain[0]
}

// seeCert sets the NotAfter gauge of a leaf and makes it the most recently
// seen, dropping the least recently seen one when the set is full. m.mu is
// held.
func (m *Metrics) seeCert(server, sni string, ci *dissect.CertInfo) {
	cert := ci.Cert
	subject := cert.Subject.CommonName
	if subject == "" {
		subject = cert.Subject.String()
	}
	issuer := cert.Issuer.CommonName
	if issuer == "" {
		issuer = cert.Issuer.String()
	}
	serial := ""
	if cert.SerialNumber != nil {
		serial = fmt.Sprintf("%x", cert.SerialNumber)
	}
	key := [5]string{server, sni, label(subject, maxNameLen), label(issuer, maxNameLen), label(serial, maxSerialLen)}
	if e, ok := m.certs[key]; ok {
		m.lru.MoveToFront(e)
	} else {
		if m.lru.Len() >= m.o.MaxCertificates {
			old := m.lru.Remove(m.lru.Back()).([5]string)
			delete(m.certs, old)
			m.notAfter.DeleteLabelValues(old[:]...)
			m.evicted.Inc()
		}
		m.certs[key] = m.lru.PushFront(key)
	}
	m.notAfter.WithLabelValues(key[:]...).Set(float64(cert.NotAfter.Unix()))
}

// label makes s a label value: valid UTF-8 (invalid bytes become U+FFFD)
// of at most max bytes, cut on a rune boundary.
func label(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// HandshakeDuration is how long c's handshake took, in capture time: from
// its first packet to the last handshake message (ChangeCipherSpec and
// encrypted handshake records included) before the first application
// data, or to the first alert, FIN or RST when one came before application
// data. It is 0 for a connection with no handshake event.
func HandshakeDuration(c *dissect.Conn) time.Duration {
	end := c.FirstTime
loop:
	for i := range c.Events {
		e := &c.Events[i]
		switch e.Kind {
		case dissect.EvApplicationData:
			break loop
		case dissect.EvAlert, dissect.EvEncryptedAlert, dissect.EvFIN, dissect.EvRST:
			end = e.Time()
			break loop
		case dissect.EvSYN, dissect.EvGap, dissect.EvPlaintext, dissect.EvHeartbeat:
		default:
			end = e.Time()
		}
	}
	if end.Before(c.FirstTime) {
		return 0
	}
	return end.Sub(c.FirstTime)
}

// SetCapture records the latest counters of the capture: st from the
// analysis (dissect.Analyzer.Stats), src from the packet source
// (capture.StatsSource; its drops are exposed only when src.Known). Both
// are cumulative since the start of the process: the counters are these
// figures, not increments.
func (m *Metrics) SetCapture(st dissect.Stats, src capture.Stats) {
	m.capture.set(st, src)
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Serve serves Handler at /metrics on ln until ctx is done, then shuts the
// server down. It returns nil when ctx ended it, and the server's error
// otherwise.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "tlstriage metrics: /metrics")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) && ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("metrics: serve %s: %w", ln.Addr(), err)
}

// WriteText writes every metric once, in the Prometheus text format (what
// a scrape of Handler gets without content negotiation).
func (m *Metrics) WriteText(w io.Writer) error {
	mfs, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: gather: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: write: %w", err)
		}
	}
	return nil
}
