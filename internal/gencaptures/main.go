package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gencaptures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "testdata/pcap", "output `directory`")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if err := generate(*out, stdout); err != nil {
		fmt.Fprintf(stderr, "gencaptures: error: %v\n", err)
		return 1
	}
	return 0
}
