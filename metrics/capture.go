package metrics

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/dissect"
)

// captureCollector exposes the latest snapshot of the capture's
// cumulative counters as const metrics: the figures are kept elsewhere
// (dissect.Analyzer, the packet source), and a scrape reads the last ones
// handed over.
type captureCollector struct {
	mu  sync.Mutex
	st  dissect.Stats
	src capture.Stats
}

var (
	descPackets     = prometheus.NewDesc("tlstriage_packets_total", "Packets (frames) read by the analysis.", nil, nil)
	descBytes       = prometheus.NewDesc("tlstriage_bytes_total", "Bytes of the frames read by the analysis, as captured.", nil, nil)
	descKernelDrops = prometheus.NewDesc("tlstriage_kernel_drops_total", "Packets the kernel dropped before tlstriage read them (capture buffer full); live capture only.", nil, nil)
	descIfaceDrops  = prometheus.NewDesc("tlstriage_interface_drops_total", "Packets the interface or its driver dropped; live capture only.", nil, nil)
	descEvicted     = prometheus.NewDesc("tlstriage_connections_evicted_total", "Connections handed over early because the flow table was full.", nil, nil)
	descLimits      = prometheus.NewDesc("tlstriage_limits_reached_total", "Times a memory limit of the analysis was reached, by limit.", []string{"limit"}, nil)
	descTCP         = prometheus.NewDesc("tlstriage_tcp_connections_total", "TCP connections seen.", nil, nil)
	descTLS         = prometheus.NewDesc("tlstriage_tls_connections_total", "TCP connections that carried TLS.", nil, nil)
)

func (c *captureCollector) set(st dissect.Stats, src capture.Stats) {
	// Copy the maps: the analysis keeps counting in its own.
	st.LimitsReached = maps.Clone(st.LimitsReached)
	st.NotDecoded, st.LinkTypes = nil, nil
	c.mu.Lock()
	c.st, c.src = st, src
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *captureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descBytes, descKernelDrops, descIfaceDrops, descEvicted, descLimits, descTCP, descTLS} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Before the first snapshot the
// counters are 0; the drop counters appear only when the source knows
// them.
func (c *captureCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	st, src := c.st, c.src
	c.mu.Unlock()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	counter(descPackets, float64(st.Packets))
	counter(descBytes, float64(st.Bytes))
	counter(descEvicted, float64(st.Evicted))
	counter(descTCP, float64(st.TCPConns))
	counter(descTLS, float64(st.TLSConns))
	if src.Known {
		counter(descKernelDrops, float64(src.KernelDrops))
		counter(descIfaceDrops, float64(src.IfaceDrops))
	}
	for _, name := range slices.Sorted(maps.Keys(st.LimitsReached)) {
		counter(descLimits, float64(st.LimitsReached[name]), label(name, maxLimitLen))
	}
}
