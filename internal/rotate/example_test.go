package rotate_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlstriage/tlstriage/internal/rotate"
)

// A -w writer with -C 100 -W 10: each file starts with its own section
// header and interface.
func ExampleCreate() {
	size, _ := rotate.ParseFileSize("100") // -C 100
	files, err := rotate.Create("failed.pcapng", rotate.Options{
		FileSize: size, FileCount: 10, // -W 10
		// With -G: Seconds, Start: time.Now() and Location: time.Local
		// (only the command reads the clock and the time zone).
		Opened: func(name string) { fmt.Fprintln(os.Stderr, "tlstriage: writing", name) },
	}, func(w io.Writer) (*pcapgo.NgWriter, error) {
		intf := pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9}
		return pcapgo.NewNgWriterInterface(w, intf, pcapgo.NgWriterOptions{})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlstriage: error: -w:", err)
		return
	}
	defer files.Close()

	var data []byte
	var ci gopacket.CaptureInfo // a packet of a failed connection
	ng, err := files.Before(ci.Timestamp)
	if errors.Is(err, rotate.ErrFileLimit) {
		return // -G with -W: the run is over
	}
	if err == nil {
		err = ng.WritePacketWithOptions(ci, data, pcapgo.NgPacketOptions{Comments: []string{"tlstriage: ..."}})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlstriage: error: -w:", err)
	}
}

// An NDJSON log reopened on SIGHUP, for logrotate.
func ExampleOpenLog() {
	log, err := rotate.OpenLog("tlstriage.json", false, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlstriage: error: --json-file:", err)
		return
	}
	defer log.Close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := log.Reopen(); err != nil {
				fmt.Fprintln(os.Stderr, "tlstriage: error: --json-file:", err)
			}
		}
	}()
	log.Write([]byte(`{"verdict":"..."}` + "\n")) // one record per Write, as report.JSON writes
}
