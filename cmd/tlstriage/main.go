// Command tlstriage finds out why TLS handshakes fail, from packet captures
// or a live interface, without Wireshark.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The collector's settings, once for the process (gctune.go).
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
