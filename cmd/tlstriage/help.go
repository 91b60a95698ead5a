package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// helpGroup is a heading of --help and the options under it.
type helpGroup struct {
	title string
	flags []string
}

// helpGroups order the options of --help as users look for them.
var helpGroups = []helpGroup{
	{"Input", []string{"read", "keylog"}},
	{"Selection", []string{"select", "count", "all"}},
	{"Output", []string{"json", "summary", "json-file", "verbose", "quiet", "brief", "color", "progress", "write", "write-all", "file-size", "file-count", "rotate-seconds", "export-certs", "force"}},
	{"Trust and the client", []string{"truststore", "truststore-password", "host", "client"}},
	{"Live capture", []string{"interface", "list-interfaces", "snapshot-length", "buffer-size", "no-promiscuous-mode", "duration", "relinquish-privileges"}},
	{"Service", []string{"metrics", "metrics-file"}},
	{"Other", []string{"jobs", "numeric", "version", "help"}},
}

// placeholders name the values of options whose usage text names none.
var placeholders = map[string]string{
	"color":               "WHEN",
	"progress":            "WHEN",
	"truststore-password": "PASSWORD",
}

const helpIntro = `Usage: tlstriage -r FILE [-r FILE...] [options] [filter expression]
       tlstriage -i IFACE [-w FILE] [-c N] [options] [filter expression]
       tlstriage -D
       tlstriage probe HOST[:PORT]|URL [--sni NAME] [--truststore PATH] [--json]

tlstriage reads packet captures (pcap or pcapng, optionally gzip-compressed;
"-" is standard input), follows every TLS handshake in them and tells, for
each, whether it completed and if not why: the timeline with frame numbers,
the certificate chain compared with the client's truststore, the verdict, the
cause and the fix.

Exit status: 0 every handshake completed, 1 at least one failed, 2 bad usage
or unreadable input, 3 input damaged (the report covers what could be read).
`

const helpOutro = `
Filter expression (files and live capture alike), tcpdump's words:
  host, net, port, portrange, src, dst, tcp, ip, ip6, and, or, not, ( )

Examples:
  tlstriage -r backend.pcap --truststore truststore.jks
  tlstriage -r backend.pcap -Y 'failed && sni == "backend.example.com"' --json > failed.ndjson
  tlstriage -r backend.pcap -q --json-file report.json host 10.1.2.3 and port 8443
  tlstriage -i any --truststore truststore.jks port 443
  tlstriage -i any -q --metrics :9464 --json-file tls.ndjson -w failed.pcapng -C 100 -W 10
  tlstriage probe https://backend.example.com:8443/v1 --truststore truststore.jks --client java
`

// usage writes --help: the options in groups, wrapped to the terminal's
// width (100 columns when w is no terminal).
func usage(fs *pflag.FlagSet, w io.Writer) {
	width := 100
	if f, ok := w.(*os.File); ok {
		if tw := termWidth(f); tw >= 40 {
			width = tw
		}
	}
	fmt.Fprint(w, helpIntro)
	seen := map[string]bool{}
	for _, g := range helpGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.flags {
			if f := fs.Lookup(name); f != nil {
				writeFlagHelp(w, f, width)
				seen[name] = true
			}
		}
	}
	// An option no group names still shows.
	var rest []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if !seen[f.Name] && !f.Hidden {
			rest = append(rest, f)
		}
	})
	if len(rest) > 0 {
		fmt.Fprintf(w, "\nMore:\n")
		for _, f := range rest {
			writeFlagHelp(w, f, width)
		}
	}
	fmt.Fprint(w, helpOutro)
}

// writeFlagHelp writes one option: "  -r, --read FILE", then its usage,
// wrapped and indented, with its default when it has one worth saying.
func writeFlagHelp(w io.Writer, f *pflag.Flag, width int) {
	name, text := pflag.UnquoteUsage(f)
	if p, ok := placeholders[f.Name]; ok {
		name = p
	}
	if f.Value.Type() == "bool" {
		name = ""
	}
	head := "      --" + f.Name
	if f.Shorthand != "" {
		head = "  -" + f.Shorthand + ", --" + f.Name
	}
	if name != "" {
		head += " " + name
	}
	switch f.Value.Type() {
	case "bool", "stringArray":
	default:
		if f.DefValue != "" && f.DefValue != "0" && f.Name != "jobs" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
	}
	fmt.Fprintln(w, head)
	for _, line := range wrap(text, width-8) {
		fmt.Fprintf(w, "        %s\n", line)
	}
}

// wrap breaks text into lines of at most width columns, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
