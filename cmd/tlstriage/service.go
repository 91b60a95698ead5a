package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/internal/rotate"
	"github.com/tlstriage/tlstriage/internal/safefile"
	"github.com/tlstriage/tlstriage/metrics"
)

// serviceOutputs are the outputs of a long run: the Prometheus metrics
// (--metrics served, --metrics-file written) and the --json-file log
// reopened on SIGHUP.
type serviceOutputs struct {
	met        *metrics.Metrics // nil without --metrics or --metrics-file
	file       string           // --metrics-file
	force      bool
	wroteFile  bool
	stopServe  context.CancelFunc
	served     chan struct{} // closed when the server has stopped
	stopSignal func()
}

// startService starts what the service flags ask for: the metrics server
// listening on --metrics (an address that cannot be listened on is an
// error now, not later).
func startService(ctx context.Context, cfg *config, stderr io.Writer) (*serviceOutputs, error) {
	so := &serviceOutputs{file: cfg.metricsFile, force: cfg.force}
	if cfg.metricsAddr == "" && cfg.metricsFile == "" {
		return so, nil
	}
	so.met = metrics.New(metrics.Options{})
	if cfg.metricsFile != "" {
		if err := safefile.Check(cfg.metricsFile, cfg.force); err != nil {
			return nil, fmt.Errorf("--metrics-file: %w", err)
		}
	}
	if cfg.metricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("--metrics: %w", err)
		}
		fmt.Fprintf(stderr, "tlstriage: serving metrics on http://%s/metrics\n", ln.Addr())
		sctx, cancel := context.WithCancel(ctx)
		so.stopServe, so.served = cancel, make(chan struct{})
		go func() {
			defer close(so.served)
			if err := so.met.Serve(sctx, ln); err != nil {
				warnf(stderr, "%v", err)
			}
		}()
	}
	return so, nil
}

// capture records the capture's counters.
func (so *serviceOutputs) capture(st dissect.Stats, src capture.Stats) {
	if so.met != nil {
		so.met.SetCapture(st, src)
	}
}

// writeFile writes --metrics-file anew (node_exporter's textfile
// collector reads it).
func (so *serviceOutputs) writeFile() error {
	if so.met == nil || so.file == "" {
		return nil
	}
	err := safefile.Replace(so.file, so.force, !so.wroteFile, func(f *os.File) error { return so.met.WriteText(f) })
	so.wroteFile = true
	if err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return nil
}

// stop writes --metrics-file a last time and stops the server.
func (so *serviceOutputs) stop(stderr io.Writer) {
	if err := so.writeFile(); err != nil {
		errorf(stderr, "%v", err)
	}
	if so.stopServe != nil {
		so.stopServe()
		<-so.served
	}
	if so.stopSignal != nil {
		so.stopSignal()
	}
}

// reopenOnHangup reopens log (--json-file) on each SIGHUP, as logrotate
// expects, until the returned function is called. Without a log, SIGHUP
// is ignored (a service manager's reload must not end the capture).
func reopenOnHangup(log *rotate.Log, stderr io.Writer) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if log == nil {
					continue
				}
				if err := log.Reopen(); err != nil {
					errorf(stderr, "--json-file: reopening on SIGHUP: %v", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
