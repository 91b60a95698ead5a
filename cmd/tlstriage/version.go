package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/tlstriage/tlstriage/capture"
)

// writeVersion prints what this binary is, as `tlstriage --version`: the
// module version, the VCS revision and time it was built from, the Go
// version, and whether libpcap is linked.
func writeVersion(w io.Writer) {
	version, revision, when, modified := "(devel)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(w, "tlstriage %s\n", version)
	switch {
	case revision == "":
		fmt.Fprintf(w, "  revision: unknown (built without VCS information)\n")
	default:
		dirty := ""
		if modified {
			dirty = " (with uncommitted changes)"
		}
		fmt.Fprintf(w, "  revision: %s%s, %s\n", revision, dirty, when)
	}
	fmt.Fprintf(w, "  go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if capture.Libpcap {
		fmt.Fprintf(w, "  libpcap: linked (pcap build)\n")
	} else {
		fmt.Fprintf(w, "  libpcap: not linked (pure Go: files, AF_PACKET live capture)\n")
	}
}
