package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	got := Key(map[string]string{"__name__": "up", "verdict": "ok", "cause": "", "job": `a"b`})
	if want := `{job="a\"b",verdict="ok"}`; got != want {
		t.Errorf("Key = %s, want %s", got, want)
	}
	if got := Key(nil); got != "{}" {
		t.Errorf("Key(nil) = %s", got)
	}
}

func TestCheckMetrics(t *testing.T) {
	bin, ok := lookPath("promtool")
	if !ok {
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	good := "# HELP x_total Things.\n# TYPE x_total counter\nx_total 1\n"
	if out, err := checkMetrics(bin, []byte(good)); err != nil {
		t.Errorf("good exposition: %v\n%s", err, out)
	}
	for _, bad := range []string{
		"# HELP x_bytes Things.\n# TYPE x_bytes counter\nx_bytes 1\n", // lint: no _total
		"x_total{ 1\n", // does not parse
	} {
		if out, err := checkMetrics(bin, []byte(bad)); err == nil {
			t.Errorf("%q: no problem found (%s)", bad, out)
		}
	}
}

// TestServer starts Prometheus scraping a tiny exporter and reads the
// scraped value back through the query API.
func TestServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE promtest_answer gauge\npromtest_answer{kind=\"x\"} 42\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	p := Start(t, ln.Addr().String())
	p.WaitFor(t, `promtest_answer`, map[string]float64{
		fmt.Sprintf(`{instance=%q,job="tlstriage",kind="x"}`, ln.Addr().String()): 42,
	}, 30*time.Second)
	got, err := p.Query(context.Background(), `scalar(promtest_answer) * 2`)
	if err != nil || len(got) != 1 || got[0].Value != 84 {
		t.Errorf("scalar query = %v, %v; want one sample 84", got, err)
	}
	if _, err := p.Query(context.Background(), `sum(`); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Errorf("bad query: error %v, want a parse error", err)
	}
}
