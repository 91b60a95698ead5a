// Package capture opens packet sources: capture files (pcap and pcapng,
// optionally gzip-compressed, or standard input) and live interfaces.
//
// Every source yields raw frames with their capture info and link type; it
// never decodes them. Files are read with gopacket's pure-Go pcapgo, so the
// default build needs neither cgo nor libpcap.
package capture
