package selection

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tlstriage/tlstriage/report"
)

// env is what an expression sees: one field per selectable name.
type env struct {
	Verdict    string   `expr:"verdict"`
	Cause      string   `expr:"cause"`
	Failed     bool     `expr:"failed"`
	SNI        string   `expr:"sni"`
	Server     string   `expr:"server"`
	ServerIP   string   `expr:"server_ip"`
	ServerPort int      `expr:"server_port"`
	Client     string   `expr:"client"`
	ClientIP   string   `expr:"client_ip"`
	ClientPort int      `expr:"client_port"`
	Version    string   `expr:"version"`
	Cipher     string   `expr:"cipher"`
	ALPN       string   `expr:"alpn"`
	Host       string   `expr:"host"`
	File       string   `expr:"file"`
	JA3        string   `expr:"ja3"`
	JA4        string   `expr:"ja4"`
	Stack      string   `expr:"stack"`
	App        string   `expr:"app"`
	Findings   []string `expr:"findings"`
	ID         int      `expr:"id"`
	DurationMS float64  `expr:"duration_ms"`
}

// set fills e from rec, reusing e's findings slice.
func (e *env) set(rec *report.Record) {
	findings := e.Findings[:0]
	for _, f := range rec.Findings {
		findings = append(findings, string(f.Code))
	}
	*e = env{
		Verdict: rec.Verdict, Cause: rec.Cause, Failed: rec.Failed, SNI: rec.SNI,
		Server: rec.Server, Client: rec.Client,
		Version: rec.Version, Cipher: rec.Cipher, ALPN: rec.ALPN, Host: rec.Host, File: rec.File,
		JA3: rec.JA3, JA4: rec.JA4, Findings: findings, ID: rec.ID, DurationMS: rec.DurationMS,
	}
	e.ServerIP, e.ServerPort = splitAddrPort(rec.Server)
	e.ClientIP, e.ClientPort = splitAddrPort(rec.Client)
	if s := rec.ClientStack; s != nil {
		e.Stack, e.App = s.Name, s.App
	}
}

// splitAddrPort splits "ip:port" or "[ip6]:port" as netip.AddrPort.String
// writes it, without allocating. A string without a port is all address.
func splitAddrPort(s string) (ip string, port int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		return s, 0 // no port, or a bare IPv6 address
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p < 0 {
		return s, 0
	}
	ip = s[:i]
	if len(ip) >= 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
		ip = ip[1 : len(ip)-1]
	}
	return ip, p
}

// Selection is a compiled selection expression. It is safe for concurrent
// use.
type Selection struct {
	src     string
	program *vm.Program
	pool    sync.Pool // of *state
}

// state is what one Match needs and reuses: the environment and the
// machine that runs the program.
type state struct {
	env env
	vm  vm.VM
}

// Compile compiles the selection expression src. Unknown names, type
// errors and expressions that do not yield a bool are errors, with the
// position of the mistake.
func Compile(src string) (*Selection, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("selection: empty expression")
	}
	program, err := expr.Compile(src,
		expr.Env(env{}),
		expr.AsBool(),
		// Selections are over captures: the wall clock means nothing there,
		// and libraries never read it.
		expr.DisableBuiltin("now"),
	)
	if err != nil {
		return nil, fmt.Errorf("selection: %w", err)
	}
	s := &Selection{src: src, program: program}
	s.pool.New = func() any { return new(state) }
	return s, nil
}

// String returns the source of the expression.
func (s *Selection) String() string { return s.src }

// Match reports whether rec is selected. An expression that fails while
// it runs (a division by zero, say) selects nothing.
func (s *Selection) Match(rec *report.Record) bool {
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	st.env.set(rec)
	out, err := st.vm.Run(s.program, &st.env)
	b, ok := out.(bool)
	return err == nil && ok && b
}
