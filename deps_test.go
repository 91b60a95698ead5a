package tlstriage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the import path of this module.
const module = "github.com/tlstriage/tlstriage"

// listedPackage is what TestImportPolicy reads from go list.
type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	CgoFiles   []string
	Error      *struct{ Err string }
}

// goList runs "go list -e -deps" on every package of the module, with the
// extra environment env, and returns the packages by import path.
func goList(t *testing.T, goTool string, env ...string) map[string]*listedPackage {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-e", "-deps",
		"-json=ImportPath,Standard,Imports,CgoFiles,Error", "./...")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s go list: %v\n%s", strings.Join(env, " "), err, stderr.Bytes())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// importRule says what one package of the module may import directly.
type importRule struct {
	pkg    string                      // relative to the module
	banned func(imp string) bool       // direct imports it must not have
	allow  func(p *listedPackage) bool // if set, every package in its dependency closure must pass
	why    string
}

func ours(name string) string { return module + "/" + name }

func is(paths ...string) func(string) bool {
	return func(imp string) bool { return slices.Contains(paths, imp) }
}

func under(prefix string) func(string) bool {
	return func(imp string) bool { return imp == prefix || strings.HasPrefix(imp, prefix+"/") }
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(imp string) bool {
		for _, f := range fs {
			if f(imp) {
				return true
			}
		}
		return false
	}
}

// importRules is STYLE.md section 11.2.
var importRules = []importRule{
	{
		pkg: "tlsparse",
		// Libraries never log or touch the process (habit 9); net/netip is
		// a value type and stays allowed.
		banned: func(imp string) bool {
			return under("log")(imp) || under("os")(imp) || (under("net")(imp) && imp != "net/netip") ||
				under(module)(imp) || under("github.com/gopacket")(imp)
		},
		allow: func(p *listedPackage) bool {
			return p.Standard || under("golang.org/x/crypto/cryptobyte")(p.ImportPath)
		},
		why: "tlsparse imports only the standard library (no log, os, net) and cryptobyte",
	},
	{
		pkg: "tlsdecrypt",
		banned: func(imp string) bool {
			return under("log")(imp) || under("os")(imp) || (under("net")(imp) && imp != "net/netip") ||
				under(module)(imp) || under("github.com/gopacket")(imp)
		},
		allow: func(p *listedPackage) bool {
			return p.Standard || under("golang.org/x/crypto")(p.ImportPath) || under("golang.org/x/sys/cpu")(p.ImportPath)
		},
		why: "tlsdecrypt imports only the standard library (no log, os, net) and x/crypto",
	},
	{
		pkg:    "capture",
		banned: func(imp string) bool { return under(module)(imp) && imp != ours("capture/filter") },
		why:    "capture imports no package of the module but capture/filter",
	},
	{
		// A leaf; gopacket/pcap (libpcap) only under the pcap tag.
		pkg: "capture/filter",
		banned: func(imp string) bool {
			std := !strings.Contains(strings.Split(imp, "/")[0], ".")
			return under("log")(imp) || under("os")(imp) ||
				!std && !is("github.com/gopacket/gopacket/layers", "github.com/gopacket/gopacket/pcap", "golang.org/x/net/bpf")(imp)
		},
		why: "capture/filter imports only the standard library (no log, os), gopacket's layers and pcap, and x/net/bpf",
	},
	{
		pkg:    "clientstack",
		banned: func(imp string) bool { return under(module)(imp) && imp != ours("tlsparse") },
		allow: func(p *listedPackage) bool {
			return p.Standard || p.ImportPath == ours("tlsparse") || under("golang.org/x/crypto/cryptobyte")(p.ImportPath)
		},
		why: "clientstack imports only the standard library and tlsparse",
	},
	{
		pkg:    "dissect",
		banned: anyOf(is(ours("capture"), ours("diagnose"), ours("report")), under("log"), under(ours("cmd"))),
		why:    "dissect must not import capture, diagnose, report or log",
	},
	{
		pkg:    "diagnose",
		banned: anyOf(under("github.com/gopacket"), is(ours("capture"), ours("report")), under(ours("cmd"))),
		why:    "diagnose must not import gopacket, capture or report",
	},
	{
		pkg:    "probe",
		banned: anyOf(under("github.com/gopacket"), is(ours("capture"), ours("report"), ours("diagnose")), under(ours("cmd"))),
		why:    "probe fetches a chain and describes the connection: no capture, diagnosis or report",
	},
	{
		pkg:    "report",
		banned: anyOf(under("github.com/gopacket"), is(ours("capture")), under(ours("cmd"))),
		why:    "report must not import capture or gopacket",
	},
	{
		// metrics reads the facts (dissect), the judgement (diagnose and
		// the clientstack names it exposes) and the capture's counters
		// (capture.Stats). It is report's sibling, not its user: both
		// turn a judged connection into output, and the metric names are
		// their own contract, not the JSON's. Like every library it never
		// logs or parses flags; gopacket stays behind capture and dissect.
		pkg: "metrics",
		banned: anyOf(under("github.com/gopacket"), is(ours("report")), under(ours("cmd")), under(ours("internal")),
			under("log"), is("flag"), is("os")),
		why: "metrics imports dissect, diagnose, clientstack, capture and prometheus: no report, cmd, gopacket, log, flag or os",
	},
}

// TestImportPolicy enforces the import rules of STYLE.md section 11.2 with
// go list, in the default pure-Go build (CGO_ENABLED=0) and with cgo
// enabled:
//   - the per-package rules of importRules;
//   - only cmd/tlstriage imports pflag;
//   - only metrics imports the Prometheus client;
//   - the default build needs no cgo: every package builds with
//     CGO_ENABLED=0, and no package outside the standard library has cgo
//     files when cgo is enabled (gopacket/pcap only under the pcap tag).
func TestImportPolicy(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	for _, build := range []struct {
		name string
		env  []string
	}{
		{"CGO_ENABLED=0", []string{"CGO_ENABLED=0"}},
		{"CGO_ENABLED=1", []string{"CGO_ENABLED=1"}},
	} {
		t.Run(build.name, func(t *testing.T) {
			pkgs := goList(t, goTool, build.env...)
			for _, v := range importViolations(pkgs) {
				t.Error(v)
			}
			for _, p := range pkgs {
				if p.Error != nil {
					t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
				}
				if len(p.CgoFiles) > 0 && !p.Standard {
					t.Errorf("%s has cgo files %v in the default build (cgo belongs under the pcap tag)", p.ImportPath, p.CgoFiles)
				}
			}
		})
	}
}

// importViolations checks the import graph pkgs against importRules, the
// Prometheus rule and the pflag rule.
func importViolations(pkgs map[string]*listedPackage) []string {
	var out []string
	for _, r := range importRules {
		p := pkgs[ours(r.pkg)]
		if p == nil {
			out = append(out, fmt.Sprintf("package %s not found: update importRules", r.pkg))
			continue
		}
		for _, imp := range p.Imports {
			if r.banned(imp) {
				out = append(out, fmt.Sprintf("%s imports %s: %s", r.pkg, imp, r.why))
			}
		}
		if r.allow == nil {
			continue
		}
		seen := map[string]bool{}
		todo := slices.Clone(p.Imports)
		for len(todo) > 0 {
			imp := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			if seen[imp] {
				continue
			}
			seen[imp] = true
			dep := pkgs[imp]
			if dep == nil {
				out = append(out, fmt.Sprintf("%s: dependency %s not listed", r.pkg, imp))
				continue
			}
			if !r.allow(dep) {
				out = append(out, fmt.Sprintf("%s depends on %s: %s", r.pkg, imp, r.why))
			}
			todo = append(todo, dep.Imports...)
		}
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if under("github.com/prometheus")(imp) && p.ImportPath != ours("metrics") && under(module)(p.ImportPath) {
				out = append(out, fmt.Sprintf("%s imports %s: only metrics imports the Prometheus client (cmd/tlstriage uses metrics)", p.ImportPath, imp))
			}
		}
	}
	pflagUsers := 0
	for _, p := range pkgs {
		if !slices.Contains(p.Imports, "github.com/spf13/pflag") {
			continue
		}
		pflagUsers++
		if p.ImportPath != ours("cmd/tlstriage") {
			out = append(out, fmt.Sprintf("%s imports pflag: only cmd/tlstriage parses flags", p.ImportPath))
		}
	}
	if pflagUsers == 0 {
		out = append(out, "no package imports pflag: update the pflag rule")
	}
	slices.Sort(out)
	return out
}

// TestImportViolations checks that importViolations catches a breach of
// each rule, on a made-up import graph.
func TestImportViolations(t *testing.T) {
	std := func(path string, imports ...string) *listedPackage {
		return &listedPackage{ImportPath: path, Standard: true, Imports: imports}
	}
	pkg := func(path string, imports ...string) *listedPackage {
		return &listedPackage{ImportPath: path, Imports: imports}
	}
	clean := []*listedPackage{
		std("fmt"), std("log"), std("os"), std("net"), std("net/netip"), std("log/slog"),
		pkg("golang.org/x/crypto/cryptobyte", "golang.org/x/crypto/cryptobyte/asn1"),
		pkg("golang.org/x/crypto/cryptobyte/asn1"),
		pkg("github.com/gopacket/gopacket"), pkg("github.com/gopacket/gopacket/layers", "github.com/gopacket/gopacket"),
		pkg("github.com/spf13/pflag", "fmt"), pkg("example.com/uses/os", "os"),
		pkg(ours("tlsparse"), "fmt", "net/netip", "golang.org/x/crypto/cryptobyte"),
		pkg(ours("capture"), "github.com/gopacket/gopacket", "os", "net", ours("capture/filter")),
		pkg(ours("capture/filter"), "fmt", "github.com/gopacket/gopacket/layers", "golang.org/x/net/bpf"),
		pkg("golang.org/x/net/bpf", "fmt"),
		pkg(ours("tlsdecrypt"), "fmt", "golang.org/x/crypto/cryptobyte"),
		pkg(ours("clientstack"), "fmt", ours("tlsparse")),
		pkg(ours("dissect"), ours("tlsparse"), ours("tlsdecrypt"), "github.com/gopacket/gopacket/layers"),
		pkg(ours("diagnose"), ours("dissect"), ours("tlsparse")),
		pkg(ours("report"), ours("diagnose"), ours("dissect"), "os"),
		pkg(ours("probe"), ours("dissect"), ours("tlsparse"), "net"),
		pkg("github.com/prometheus/client_golang/prometheus", "os", "log"),
		pkg(ours("metrics"), ours("dissect"), ours("diagnose"), ours("capture"), "net/http", "github.com/prometheus/client_golang/prometheus"),
		pkg(ours("cmd/tlstriage"), ours("capture"), ours("report"), "github.com/spf13/pflag", "log"),
	}
	graph := func(extra map[string][]string) map[string]*listedPackage {
		m := map[string]*listedPackage{}
		for _, p := range clean {
			q := *p
			q.Imports = append(slices.Clone(p.Imports), extra[p.ImportPath]...)
			m[p.ImportPath] = &q
		}
		return m
	}
	if v := importViolations(graph(nil)); len(v) != 0 {
		t.Fatalf("violations in the clean graph: %q", v)
	}
	for _, c := range []struct{ pkg, imp, want string }{
		{ours("tlsparse"), "os", "tlsparse imports os"},
		{ours("tlsparse"), "log/slog", "tlsparse imports log/slog"},
		{ours("tlsparse"), "net", "tlsparse imports net"},
		{ours("tlsparse"), "github.com/gopacket/gopacket", "tlsparse imports github.com/gopacket/gopacket"},
		{ours("tlsparse"), "example.com/uses/os", "tlsparse depends on example.com/uses/os"},
		{ours("tlsdecrypt"), ours("tlsparse"), "tlsdecrypt imports " + ours("tlsparse")},
		{ours("tlsdecrypt"), "os", "tlsdecrypt imports os"},
		{ours("capture"), ours("tlsparse"), "capture imports " + ours("tlsparse")},
		{ours("capture/filter"), ours("capture"), "capture/filter imports " + ours("capture")},
		{ours("capture/filter"), ours("dissect"), "capture/filter imports " + ours("dissect")},
		{ours("capture/filter"), "os", "capture/filter imports os"},
		{ours("capture/filter"), "github.com/gopacket/gopacket/pcapgo", "capture/filter imports github.com/gopacket/gopacket/pcapgo"},
		{ours("clientstack"), ours("dissect"), "clientstack imports " + ours("dissect")},
		{ours("clientstack"), "example.com/uses/os", "clientstack depends on example.com/uses/os"},
		{ours("dissect"), ours("capture"), "dissect imports " + ours("capture")},
		{ours("dissect"), "log", "dissect imports log"},
		{ours("dissect"), ours("report"), "dissect imports " + ours("report")},
		{ours("diagnose"), "github.com/gopacket/gopacket/layers", "diagnose imports github.com/gopacket/gopacket/layers"},
		{ours("diagnose"), ours("report"), "diagnose imports " + ours("report")},
		{ours("report"), ours("capture"), "report imports " + ours("capture")},
		{ours("probe"), ours("diagnose"), "probe imports " + ours("diagnose")},
		{ours("report"), "github.com/gopacket/gopacket", "report imports github.com/gopacket/gopacket"},
		{ours("report"), "github.com/spf13/pflag", ours("report") + " imports pflag"},
		{ours("metrics"), ours("report"), "metrics imports " + ours("report")},
		{ours("metrics"), "log", "metrics imports log"},
		{ours("metrics"), "github.com/gopacket/gopacket", "metrics imports github.com/gopacket/gopacket"},
		{ours("report"), "github.com/prometheus/client_golang/prometheus", ours("report") + " imports github.com/prometheus"},
		{ours("cmd/tlstriage"), "github.com/prometheus/client_golang/prometheus", ours("cmd/tlstriage") + " imports github.com/prometheus"},
	} {
		v := importViolations(graph(map[string][]string{c.pkg: {c.imp}}))
		if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
			t.Errorf("%s importing %s: violations %q, want one starting %q", c.pkg, c.imp, v, c.want)
		}
	}
}
