// Package promtest runs a real Prometheus server and promtool for tests.
//
// Both come from Debian's prometheus package (.ci/run installs it); the
// tests that need them skip, with a message, where they are absent.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ScrapeInterval is how often the Prometheus of Start scrapes its targets.
const ScrapeInterval = time.Second

// Server is a running Prometheus.
type Server struct {
	// URL is its base address, http://127.0.0.1:PORT.
	URL string
	cmd *exec.Cmd
	log *lockedBuffer
}

// lookPath finds a tool in PATH or in /usr/bin (where Debian puts it,
// and where a test's PATH may not reach).
func lookPath(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	p := filepath.Join("/usr/bin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, true
	}
	return "", false
}

// Start starts Prometheus on a free loopback port, with its storage in a
// temporary directory, scraping targets (host:port, path /metrics) every
// ScrapeInterval, and waits until it is ready. It skips the test when no
// prometheus binary is installed. The server is stopped when the test
// ends; its log is shown if the test failed.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin, ok := lookPath("prometheus")
	if !ok {
		t.Skip("prometheus not installed: apt-get install prometheus")
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: tlstriage
    scrape_interval: %[1]s
    scrape_timeout: %[1]s
    static_configs:
      - targets: [%[2]s]
`, ScrapeInterval, strings.Join(quoted, ", "))
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	s := &Server{URL: "http://" + addr, log: &lockedBuffer{}}
	s.cmd = exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("promtest: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("promtest: prometheus exited: %v\n%s", err, s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: prometheus not ready after 30s\n%s", s.log.String())
		}
	}
}

// freePort is a loopback address whose port was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Key is the sample's label set written as {a="x",b="y"}, names sorted,
// the metric name (__name__) and empty labels left out (Prometheus holds
// no empty label: an exporter's cause="" is no cause label).
func (s Sample) Key() string { return Key(s.Metric) }

// Key writes a label set as Sample.Key does.
func Key(labels map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if k == "__name__" || labels[k] == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Query evaluates expr at the current time through /api/v1/query and
// returns its instant vector (a scalar result is one sample without
// labels).
func (s *Server) Query(ctx context.Context, expr string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("promtest: query %q: HTTP %d: %w: %.200s", expr, resp.StatusCode, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("promtest: query %q: %s", expr, r.Error)
	}
	var out []Sample
	switch r.Data.ResultType {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
		}
		for _, e := range v {
			f, err := value(e.Value[1])
			if err != nil {
				return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
			}
			out = append(out, Sample{Metric: e.Metric, Value: f})
		}
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
		}
		f, err := value(v[1])
		if err != nil {
			return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
		}
		out = append(out, Sample{Metric: map[string]string{}, Value: f})
	default:
		return nil, fmt.Errorf("promtest: query %q: result type %q", expr, r.Data.ResultType)
	}
	return out, nil
}

// value reads a sample value, which the API sends as a string.
func value(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v)
	}
	return strconv.ParseFloat(s, 64)
}

// WaitFor queries expr until its result, by Key, equals want, and fails
// the test with the last result when timeout passes first.
func (s *Server) WaitFor(t testing.TB, expr string, want map[string]float64, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got map[string]float64
	var err error
	for {
		var samples []Sample
		samples, err = s.Query(ctx, expr)
		if err == nil {
			got = map[string]float64{}
			for _, sm := range samples {
				got[sm.Key()] = sm.Value
			}
			if maps.Equal(got, want) {
				return
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			t.Fatalf("%s after %v:\n got %v\nwant %v", expr, timeout, got, want)
		case <-time.After(ScrapeInterval / 4):
		}
	}
}

// CheckMetrics runs "promtool check metrics" on an exposition (the body of
// a scrape) and fails the test on every problem it reports. It skips the
// test when promtool is not installed.
func CheckMetrics(t testing.TB, body []byte) {
	t.Helper()
	bin, ok := lookPath("promtool")
	if !ok {
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	if out, err := checkMetrics(bin, body); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// checkMetrics runs promtool (bin) check metrics on body. It returns what
// promtool said, and an error when it found a problem: a non-zero exit, or
// any output (the linter's findings).
func checkMetrics(bin string, body []byte) ([]byte, error) {
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		err = fmt.Errorf("promtool reported problems")
	}
	return out, err
}

// lockedBuffer is a bytes.Buffer that a process's output and the test may
// use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// CheckRules runs "promtool check rules" on a rule file's content and
// fails the test on the problems it reports. It skips the test when
// promtool is not installed.
func CheckRules(t testing.TB, rules []byte) {
	t.Helper()
	bin, ok := lookPath("promtool")
	if !ok {
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	f := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
