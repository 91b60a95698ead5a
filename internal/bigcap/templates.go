package bigcap

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// Kind selects the traffic mix of a capture.
type Kind int

// Kinds of capture.
const (
	Bulk      Kind = iota // TLS sessions with bulk application data
	Handshake             // short connections: mostly handshakes
)

func (k Kind) String() string {
	if k == Handshake {
		return "handshake"
	}
	return "bulk"
}

// ParseKind parses "bulk" or "handshake".
func ParseKind(s string) (Kind, error) {
	switch s {
	case "bulk":
		return Bulk, nil
	case "handshake", "handshakes":
		return Handshake, nil
	}
	return 0, fmt.Errorf("bigcap: unknown kind %q (want bulk or handshake)", s)
}

// DefaultBulkBytes is the application data one bulk session moves.
const DefaultBulkBytes = 96 << 10

// Verdicts the templates must be given (values of package diagnose).
const (
	VerdictOK           = "ok"
	VerdictRejected     = "client_rejected_certificate"
	VerdictAborted      = "client_aborted_after_server_flight"
	VerdictNoResponse   = "no_server_response"
	VerdictNotTLS       = "not_tls"
	templateClientPort  = 43210
	templateServerPort  = 443
	ethHeaderLen        = 14
	maxAppRecordPayload = 16384 + 17 // a full TLS 1.3 record: 2^14 + type + tag
)

// template is one recorded and framed connection, replayed by sessions.
type template struct {
	name    string
	verdict string
	weight  int
	server  int // index of the server (PKI) it talks to
	ipv6    bool
	pkts    []tpkt
	size    int64 // bytes in a pcap file, record headers included
}

// tpkt is one packet of a template.
type tpkt struct {
	dir  uint8         // 0: client to server
	off  time.Duration // since the first packet of the connection
	data []byte        // Ethernet frame
}

// Templates are the recorded connections a capture is made of.
type Templates struct {
	kind  Kind
	bulk  int
	list  []*template
	total int // sum of weights
	roots []*x509.Certificate
	names []string
}

// Servers of the templates: each has its own PKI and name.
var serverNames = []string{"www.example.test", "api.example.test", "cdn.example.test", "login.example.test"}

// NewTemplates records the conversations of kind. bulk is the application
// data of one bulk session (0: DefaultBulkBytes). It takes a second or two:
// keys are generated and every handshake is run.
func NewTemplates(kind Kind, bulk int) (*Templates, error) {
	if bulk <= 0 {
		bulk = DefaultBulkBytes
	}
	ts := &Templates{kind: kind, bulk: bulk}
	// Four servers with different chains: RSA and ECDSA, so certificate
	// sizes and parsing costs are those of real sites.
	keys := []struct{ ca, leaf pcaptest.KeyType }{
		{pcaptest.RSA2048, pcaptest.RSA2048},
		{pcaptest.ECDSAP256, pcaptest.ECDSAP256},
		{pcaptest.RSA2048, pcaptest.ECDSAP256},
		{pcaptest.ECDSAP256, pcaptest.ECDSAP256},
	}
	pkis := make([]*pcaptest.PKI, len(keys))
	for i, k := range keys {
		p, err := pcaptest.NewPKI(pcaptest.PKIOptions{
			CAKey:            k.ca,
			RootName:         fmt.Sprintf("bigcap Root CA %d", i+1),
			IntermediateName: fmt.Sprintf("bigcap Issuing CA %d", i+1),
			IntermediateAIA:  fmt.Sprintf("http://pki.example.test/root-%d.crt", i+1),
			Leaf:             pcaptest.LeafOptions{DNSNames: []string{serverNames[i]}, Key: k.leaf},
		})
		if err != nil {
			return nil, err
		}
		pkis[i] = p
		ts.roots = append(ts.roots, p.Root)
	}
	ts.names = serverNames
	other, _, err := pcaptest.NewOtherRoot(pkis[0].Now)
	if err != nil {
		return nil, err
	}
	distrust := pcaptest.PoolOf(other)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for si, p := range pkis {
		for _, sc := range scenarios(kind) {
			o := sc.tls
			o.PKI = p
			o.ServerName = serverNames[si]
			if sc.distrust {
				o.ClientRoots = distrust
			}
			conv, err := pcaptest.Record(o)
			if err != nil {
				return nil, fmt.Errorf("bigcap: %s: %w", sc.name, err)
			}
			if sc.traffic != noTraffic {
				if conv.ClientErr != nil || conv.ServerErr != nil {
					return nil, fmt.Errorf("bigcap: %s: handshake failed: %v / %v", sc.name, conv.ClientErr, conv.ServerErr)
				}
				addTraffic(conv, sc, kind, bulk, random)
			}
			conv.Events = append(conv.Events, sc.close...)
			fo := sc.frame
			if kind == Bulk {
				fo.AckEvery = 2
			}
			pkts, err := pcaptest.Frame(conv, fo)
			if err != nil {
				return nil, fmt.Errorf("bigcap: %s: %w", sc.name, err)
			}
			t := &template{name: fmt.Sprintf("%s/%s", sc.name, serverNames[si]), verdict: sc.verdict, weight: sc.weight, server: si, ipv6: fo.IPv6}
			start := pkts[0].CI.Timestamp
			for _, pk := range pkts {
				dir := uint8(0)
				if srcPort(pk.Data, fo.IPv6) != templateClientPort {
					dir = 1
				}
				t.pkts = append(t.pkts, tpkt{dir: dir, off: pk.CI.Timestamp.Sub(start), data: pk.Data})
			}
			if sc.bulkMangle {
				t.pkts = mangleBulk(t.pkts)
			}
			for _, pk := range t.pkts {
				t.size += int64(16 + len(pk.data))
			}
			ts.list = append(ts.list, t)
			ts.total += t.weight
		}
	}
	return ts, nil
}

// RootsPEM is the root certificates of the servers' PKIs in PEM: the
// truststore a client of the capture would have (give it to tlstriage with
// --truststore for "trusted" chains).
func (ts *Templates) RootsPEM() []byte { return pcaptest.PEM(ts.roots...) }

// MeanSize is the average size in a pcap file of one session, by weight.
func (ts *Templates) MeanSize() int64 {
	var sum int64
	for _, t := range ts.list {
		sum += int64(t.weight) * t.size
	}
	return sum / int64(ts.total)
}

func srcPort(frame []byte, ipv6 bool) uint16 {
	off := ethHeaderLen + 20
	if ipv6 {
		off = ethHeaderLen + 40
	}
	return binary.BigEndian.Uint16(frame[off:])
}

// traffic says what a successful session does after the handshake.
type traffic int

const (
	noTraffic traffic = iota // the handshake failed: nothing
	download                 // a request, then a response of the bulk size (small for Handshake)
	upload                   // bulk from the client, a small response
)

// scenario is one kind of connection of the mix.
type scenario struct {
	name     string
	verdict  string
	weight   int // out of 100 per server
	tls      pcaptest.TLSOptions
	distrust bool // the client trusts another root: it rejects the chain
	frame    pcaptest.FrameOptions
	traffic  traffic
	close    []pcaptest.Event
	// bulkMangle reorders and retransmits segments in the bulk phase.
	bulkMangle bool
}

var (
	tls12 = pcaptest.TLSOptions{MaxVersion: tls.VersionTLS12}
	tls13 = pcaptest.TLSOptions{MinVersion: tls.VersionTLS13}
)

func with(o pcaptest.TLSOptions, f func(*pcaptest.TLSOptions)) pcaptest.TLSOptions {
	f(&o)
	return o
}

// scenarios is the connection mix of kind (weights out of 100).
func scenarios(kind Kind) []scenario {
	closeOK := pcaptest.CloseClientFirst
	v6 := pcaptest.FrameOptions{IPv6: true}
	mangled := pcaptest.FrameOptions{Reorder: true, Retransmit: true}
	keep := func(o pcaptest.TLSOptions) pcaptest.TLSOptions {
		return with(o, func(o *pcaptest.TLSOptions) { o.OnReject = pcaptest.KeepAlert })
	}
	drop := func(o pcaptest.TLSOptions) pcaptest.TLSOptions {
		return with(o, func(o *pcaptest.TLSOptions) { o.OnReject = pcaptest.DropAlert })
	}
	s := []scenario{
		{name: "tls12-ok", verdict: VerdictOK, weight: 24, tls: tls12, traffic: download, close: closeOK},
		{name: "tls13-ok", verdict: VerdictOK, weight: 30, tls: tls13, traffic: download, close: closeOK},
		{name: "tls13-ok-ipv6", verdict: VerdictOK, weight: 8, tls: tls13, frame: v6, traffic: download, close: closeOK},
		{name: "tls12-ok-reordered", verdict: VerdictOK, weight: 4, tls: tls12, frame: mangled, traffic: download, close: closeOK, bulkMangle: true},
		{name: "tls13-ok-reordered", verdict: VerdictOK, weight: 4, tls: tls13, frame: mangled, traffic: download, close: closeOK, bulkMangle: true},
		{name: "tls13-ok-upload", verdict: VerdictOK, weight: 6, tls: tls13, traffic: upload, close: closeOK},
		{name: "tls13-ok-left-open", verdict: VerdictOK, weight: 2, tls: tls13, traffic: download},
		{name: "tls12-rejected-playbook", verdict: VerdictRejected, weight: 7, tls: drop(tls12), distrust: true, close: pcaptest.ClosePlaybook},
		{name: "tls12-rejected-alert", verdict: VerdictRejected, weight: 5, tls: keep(tls12), distrust: true, close: pcaptest.CloseServerFirst},
		{name: "tls13-aborted", verdict: VerdictAborted, weight: 6, tls: keep(tls13), distrust: true, close: pcaptest.CloseServerFirst},
		{name: "no-server-response", verdict: VerdictNoResponse, weight: 2, tls: pcaptest.TLSOptions{Kind: pcaptest.NoServerResponse}, close: pcaptest.ClosePlaybook},
		{name: "not-tls", verdict: VerdictNotTLS, weight: 2, tls: pcaptest.TLSOptions{Kind: pcaptest.NotTLS}, close: pcaptest.CloseServerFirst},
	}
	if kind == Bulk {
		// Failures are rarer in bulk traffic: most bytes are downloads.
		for i := range s {
			if s[i].traffic == download {
				s[i].weight *= 3
			}
		}
	}
	return s
}

// addTraffic appends what a successful session does after its handshake:
// application data records (pseudo-random bytes, as good as ciphertext to
// an analyser), then close_notify from both sides.
func addTraffic(conv *pcaptest.Conversation, sc scenario, kind Kind, bulk int, random []byte) {
	tls13 := conv.Version == tls.VersionTLS13
	ver := uint16(tls.VersionTLS12)
	if conv.Version == tls.VersionTLS10 || conv.Version == tls.VersionTLS11 {
		ver = conv.Version
	}
	off := 0
	appData := func(n int) []byte {
		b := make([]byte, 0, n+5*(n/maxAppRecordPayload+1))
		for n > 0 {
			l := min(n, maxAppRecordPayload)
			if tls13 && l == 19 {
				l = 20 // 19 bytes is the size of an encrypted alert
			}
			b = binary.BigEndian.AppendUint16(append(b, 23), ver)
			b = binary.BigEndian.AppendUint16(b, uint16(l))
			n -= l
			for l > 0 {
				if off == len(random) {
					off = 0
				}
				k := min(l, len(random)-off)
				b = append(b, random[off:off+k]...)
				off += k
				l -= k
			}
		}
		return b
	}
	alert := func() []byte {
		if tls13 {
			// An encrypted alert: 2 bytes, the inner type, a 16-byte tag.
			b := []byte{23, 3, 3, 0, 19}
			return append(b, random[100:119]...)
		}
		// TLS 1.2 AEAD: an 8-byte explicit nonce, 2 bytes, a 16-byte tag.
		b := []byte{21, 3, 3, 0, 26}
		return append(b, random[200:226]...)
	}
	request, response := 420, 600+len(sc.name)*17
	if kind == Bulk {
		switch sc.traffic {
		case download:
			response = bulk
		case upload:
			request, response = bulk, 320
		}
	}
	ev := []pcaptest.Event{
		{Dir: pcaptest.ClientToServer, Kind: pcaptest.Data, Data: appData(request), Delay: 2500 * time.Microsecond},
		{Dir: pcaptest.ServerToClient, Kind: pcaptest.Data, Data: appData(response), Delay: 900 * time.Microsecond},
		{Dir: pcaptest.ServerToClient, Kind: pcaptest.Data, Data: alert(), Delay: 60 * time.Microsecond},
		{Dir: pcaptest.ClientToServer, Kind: pcaptest.Data, Data: alert(), Delay: 400 * time.Microsecond},
	}
	conv.Events = append(conv.Events, ev...)
}

// mangleBulk reorders two server segments in the middle of the bulk data
// and retransmits one, as a lossy path does.
func mangleBulk(p []tpkt) []tpkt {
	var data []int // server data segments
	for i, pk := range p {
		if pk.dir == 1 && len(pk.data) > 200 {
			data = append(data, i)
		}
	}
	if len(data) < 12 {
		return p
	}
	i, j := data[len(data)/2], data[len(data)/2+1]
	p[i].data, p[j].data = p[j].data, p[i].data
	// A spurious retransmission of an earlier segment, after the swap.
	k := data[len(data)/2-3]
	dup := p[k]
	dup.off = p[j].off + 5*time.Microsecond
	out := make([]tpkt, 0, len(p)+1)
	out = append(out, p[:j+1]...)
	out = append(out, dup)
	out = append(out, p[j+1:]...)
	for n := j + 2; n < len(out); n++ {
		if out[n].off < dup.off {
			out[n].off = dup.off
		}
	}
	return out
}

// template endpoints as pcaptest frames them.
var (
	templateClient4 = pcaptest.DefaultClient.Addr()
	templateServer4 = pcaptest.DefaultServer.Addr()
	templateClient6 = pcaptest.DefaultClient6.Addr()
	templateServer6 = pcaptest.DefaultServer6.Addr()
)
