// Package filter compiles tcpdump filter expressions (pcap-filter(7)) to
// classic BPF programs, for the kernel to run on a capture socket or for
// Go code to run on frames read from a file.
//
// Parse checks an expression; Expr.Compile compiles it for one link type;
// Matcher runs the program in process, and Set does so for frames of any
// link type. The default build compiles with a pure-Go compiler that
// implements the subset of the syntax people use with tcpdump (see Parse);
// the pcap build (go build -tags pcap) compiles with libpcap.
package filter
