package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// inputs is everything the soak left.
type inputs struct {
	env       []kv
	rss       []sample
	metrics   []series
	tlstriage captureCounts
	summary   string // tlstriage's standard output: its summary
	tcpdump   captureCounts
	gen       generatorReport
	events    []event // generator.log; nil when absent
	pieces    []piece
	ring      []ringFile
}

type kv struct{ key, value string }

// sample is one line of rss.csv; a negative value is a column not sampled.
type sample struct {
	t                                 float64 // seconds since tlstriage started
	rssKiB, heap, goroutines, packets float64
	handshakes                        float64
}

// series is one line of the Prometheus text exposition.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// captureCounts are a capturing tool's counts at its exit; -1 when absent.
type captureCounts struct {
	captured, received, kernelDrops, ifaceDrops int64
}

// generatorReport is the JSON internal/cmd/handshakes prints (the fields
// used here).
type generatorReport struct {
	Rate         float64           `json:"rate"`
	Duration     string            `json:"duration"`
	ElapsedS     float64           `json:"elapsed_s"`
	AchievedRate float64           `json:"achieved_rate"`
	Started      int               `json:"started"`
	Servers      map[string]string `json:"servers"`
	Total        genCounts         `json:"total"`
	Kinds        map[string]genCounts
	Versions     map[string]genCounts
	Unexpected   int `json:"unexpected"`
	Errors       []struct {
		Error string   `json:"error"`
		Count int      `json:"count"`
		Kinds []string `json:"kinds"`
	} `json:"errors"`
}

type genCounts struct {
	Attempted  int `json:"attempted"`
	OK         int `json:"ok"`
	Failed     int `json:"failed"`
	AfterData  int `json:"after_data_error"`
	DialErrors int `json:"dial_errors"`
}

// record is the part of an NDJSON object used here.
type record struct {
	Type    string `json:"type"`
	ID      int    `json:"id"`
	Client  string `json:"client"`
	Server  string `json:"server"`
	SNI     string `json:"sni"`
	Verdict string `json:"verdict"`
	Cause   string `json:"cause"`
	Failed  bool   `json:"failed"`
	Start   string `json:"start"`
}

// event is a line of the generator's --log: a connection that did not
// complete.
type event struct {
	Start   time.Time `json:"start"`
	Kind    string    `json:"kind"`
	Version string    `json:"version"`
	Client  string    `json:"client"`
	Server  string    `json:"server"`
	Stage   string    `json:"stage"`
	Error   string    `json:"error"`
}

func readEvents(name string) ([]event, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []event
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, e)
	}
}

// piece is one NDJSON file of the rotation.
type piece struct {
	name      string
	records   []record
	summaries []map[string]any
	bad       []string // lines that are not JSON objects (a cut line)
}

// ringFile is one file of the -w ring.
type ringFile struct {
	name    string
	mod     time.Time
	packets []ringPacket
	err     error // reading stopped early
}

// ringPacket is the connection a packet of the ring belongs to.
type ringPacket struct {
	id       int    // from the comment; 0 when there is none or it names none
	comment  string // the first comment
	tuple    string // "a:p-b:p", endpoints sorted
	verdict  string // from the comment
	comments int
}

func load(dir string) (*inputs, error) {
	in := &inputs{}
	var err error
	if in.env, err = readEnv(filepath.Join(dir, "soak.env")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if in.rss, err = readRSS(filepath.Join(dir, "rss.csv")); err != nil {
		return nil, err
	}
	if in.metrics, err = readMetrics(filepath.Join(dir, "metrics.prom")); err != nil {
		return nil, err
	}
	// With -q the summary, its capture line included, goes to standard
	// output; warnings go to standard error.
	if in.tlstriage, err = readCounts(tlstriageCounts, filepath.Join(dir, "tlstriage.err"), filepath.Join(dir, "tlstriage.out")); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "tlstriage.out")); err == nil {
		in.summary = string(b)
	}
	if in.tcpdump, err = readCounts(tcpdumpCounts, filepath.Join(dir, "tcpdump.err")); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "generator.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &in.gen); err != nil {
		return nil, fmt.Errorf("generator.json: %w", err)
	}
	if in.events, err = readEvents(filepath.Join(dir, "generator.log")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if in.pieces, err = readPieces(dir, "conns.ndjson"); err != nil {
		return nil, err
	}
	if in.ring, err = readRing(dir, "failed.pcapng"); err != nil {
		return nil, err
	}
	return in, nil
}

func readEnv(name string) ([]kv, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []kv
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			out = append(out, kv{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out, nil
}

func readRSS(name string) ([]sample, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || n == 1 && strings.HasPrefix(line, "t_s") {
			continue
		}
		cols := strings.Split(line, ",")
		v := []float64{-1, -1, -1, -1, -1, -1}
		for i := 0; i < len(cols) && i < len(v); i++ {
			if cols[i] == "" {
				continue
			}
			if v[i], err = strconv.ParseFloat(cols[i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, err)
			}
		}
		if v[0] < 0 || v[1] < 0 {
			continue // no RSS: the process was gone
		}
		out = append(out, sample{t: v[0], rssKiB: v[1], heap: v[2], goroutines: v[3], packets: v[4], handshakes: v[5]})
	}
	return out, sc.Err()
}

// readMetrics parses the Prometheus text format: "name{l="v",...} value"
// lines, comments skipped.
func readMetrics(name string) ([]series, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []series
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s, ok := parseSeries(line)
		if !ok {
			return nil, fmt.Errorf("%s:%d: cannot parse %q", name, n+1, line)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSeries(line string) (series, bool) {
	s := series{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, false
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, ", ")
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			eq := strings.Index(line, `="`)
			if eq <= 0 {
				return s, false
			}
			key := line[:eq]
			line = line[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(line); j++ {
				c := line[j]
				if c == '\\' && j+1 < len(line) {
					j++
					switch line[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(line[j])
					}
					continue
				}
				if c == '"' {
					line = line[j+1:]
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return s, false
			}
			s.labels[key] = val.String()
		}
	}
	f := strings.Fields(line)
	if len(f) < 1 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

var (
	// tlstriage: capture on lo: 45333 packets captured, 45333 received by the filter, 0 dropped by the kernel, 0 dropped by the interface
	tlstriageCounts = []*regexp.Regexp{
		regexp.MustCompile(`capture on .*: ([0-9]+) packets captured`),
		regexp.MustCompile(`capture on .*[ ,]([0-9]+) received by the filter`),
		regexp.MustCompile(`capture on .*[ ,]([0-9]+) dropped by the kernel`),
		regexp.MustCompile(`capture on .*[ ,]([0-9]+) dropped by the interface`),
	}
	// 784 packets captured / 784 packets received by filter / 0 packets dropped by kernel
	tcpdumpCounts = []*regexp.Regexp{
		regexp.MustCompile(`^([0-9]+) packets captured`),
		regexp.MustCompile(`^([0-9]+) packets received by filter`),
		regexp.MustCompile(`^([0-9]+) packets dropped by kernel`),
		regexp.MustCompile(`^([0-9]+) packets dropped by interface`),
	}
)

// readCounts finds, in a tool's output files (the first required), the
// last value of each counter.
func readCounts(res []*regexp.Regexp, names ...string) (captureCounts, error) {
	c := captureCounts{-1, -1, -1, -1}
	var text []byte
	for i, name := range names {
		b, err := os.ReadFile(name)
		if err != nil && (i == 0 || !errors.Is(err, fs.ErrNotExist)) {
			return c, err
		}
		text = append(text, b...)
	}
	dst := []*int64{&c.captured, &c.received, &c.kernelDrops, &c.ifaceDrops}
	for _, line := range strings.Split(string(text), "\n") {
		for i, re := range res {
			if m := re.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				*dst[i], _ = strconv.ParseInt(m[1], 10, 64)
			}
		}
	}
	return c, nil
}

// readPieces reads base.1, base.2, ... then base, in that order.
func readPieces(dir, base string) ([]piece, error) {
	names, err := filepath.Glob(filepath.Join(dir, base+".*"))
	if err != nil {
		return nil, err
	}
	type numbered struct {
		n    int
		name string
	}
	var list []numbered
	for _, name := range names {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(name), base+"."))
		if err == nil {
			list = append(list, numbered{n, name})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n < list[j].n })
	var out []piece
	for _, l := range list {
		p, err := readPiece(l.name)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	last := filepath.Join(dir, base)
	if _, err := os.Stat(last); err == nil {
		p, err := readPiece(last)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s in %s", base, dir)
	}
	return out, nil
}

func readPiece(name string) (piece, error) {
	p := piece{name: filepath.Base(name)}
	f, err := os.Open(name)
	if err != nil {
		return p, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			// One decoding for the connection records; a summary (its
			// "failed" is a number) fails on a field's type only.
			var rec record
			jerr := json.Unmarshal(line, &rec)
			var typeErr *json.UnmarshalTypeError
			switch {
			case rec.Type == "summary" && (jerr == nil || errors.As(jerr, &typeErr)):
				var m map[string]any
				json.Unmarshal(line, &m)
				p.summaries = append(p.summaries, m)
			case jerr != nil:
				cut := string(line)
				if len(cut) > 80 {
					cut = cut[:80] + "..."
				}
				p.bad = append(p.bad, cut)
			default:
				p.records = append(p.records, rec)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// readRing reads base0, base1, ... in the order they were written (their
// modification times: each file of the ring is complete before the next
// one starts, the newest is being written).
func readRing(dir, base string) ([]ringFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, base+"*"))
	if err != nil {
		return nil, err
	}
	var out []ringFile
	for _, name := range names {
		if _, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(name), base)); err != nil {
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return nil, err
		}
		rf := ringFile{name: filepath.Base(name), mod: st.ModTime()}
		rf.packets, rf.err = readRingFile(name)
		out = append(out, rf)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].mod.Equal(out[j].mod) {
			return out[i].mod.Before(out[j].mod)
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// commentRE matches the comment tlstriage -w gives each packet:
// "tlstriage: connection #12 127.0.0.1:40000 -> 127.0.0.1:8444: client_rejected_certificate, cause truststore_missing_root".
var commentRE = regexp.MustCompile(`#([0-9]+) (\S+) -> (\S+): ([a-z_]+)`)

func readRingFile(name string) ([]ringPacket, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // created, nothing written yet
		}
		return nil, err
	}
	var out []ringPacket
	for {
		data, _, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p := ringPacket{tuple: tupleOf(data, r.LinkType()), comments: len(opts.Comments)}
		if len(opts.Comments) > 0 {
			p.comment = opts.Comments[0]
			if m := commentRE.FindStringSubmatch(p.comment); m != nil {
				p.id, _ = strconv.Atoi(m[1])
				p.verdict = m[4]
			}
		}
		out = append(out, p)
	}
}

// tupleOf returns the packet's TCP endpoints, sorted, or "" when it has
// none.
func tupleOf(data []byte, lt layers.LinkType) string {
	pkt := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	nl, tl := pkt.NetworkLayer(), pkt.Layer(layers.LayerTypeTCP)
	if nl == nil || tl == nil {
		return ""
	}
	tcp := tl.(*layers.TCP)
	a := endpoint(nl.NetworkFlow().Src().String(), int(tcp.SrcPort))
	b := endpoint(nl.NetworkFlow().Dst().String(), int(tcp.DstPort))
	if b < a {
		a, b = b, a
	}
	return a + "-" + b
}

func endpoint(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// sortedTuple turns "client" and "server" into tupleOf's form.
func sortedTuple(client, server string) string {
	if server < client {
		client, server = server, client
	}
	return client + "-" + server
}
