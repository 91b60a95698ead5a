// Package pcaptest builds packet captures of TLS connections for tests.
//
// A capture is made in three steps, each usable alone:
//
//  1. PKI: NewPKI builds a root, an intermediate and a leaf (NewOtherRoot an
//     unrelated root); PKI.WithLeaf swaps the leaf to make it expired, not yet
//     valid, self-signed, for another name, CN-only or weakly keyed.
//  2. Record runs a real crypto/tls client and server over an in-memory pipe
//     and returns a Conversation: every write of each side, in order, with
//     realistic delays. The client verifies at PKI.Now against its own
//     truststore, so a rejection carries crypto/tls's real alert, which
//     TLSOptions.OnReject can keep, drop (the "FIN then RST right after the
//     Certificate" playbook) or replace (certificate_unknown like Java,
//     unknown_ca like OpenSSL). TLSOptions.Close appends the close sequence.
//  3. Frame turns a Conversation into TCP/IP packets with a 3-way handshake,
//     ACKs, FIN and RST, on Ethernet, VLAN, QinQ, Linux SLL v1/v2, raw IP or
//     BSD loopback, IPv4 or IPv6, optionally reordered, retransmitted, cut
//     mid-stream, with a lost segment or with the server's handshake split
//     into tiny records.
//
// WritePcap, WritePcapOptions (big-endian, nanosecond), WritePcapng (several
// interfaces with different link types) and Gzip write the packets.
//
// For tests of other packages, the shortest path is a Scenario:
//
//	pkts, err := pcaptest.Scenario{TLS: pcaptest.TLSOptions{
//		MaxVersion:  tls.VersionTLS12,
//		ClientRoots: x509.NewCertPool(), // trusts nothing
//		OnReject:    pcaptest.DropAlert,
//		Close:       pcaptest.ClosePlaybook,
//	}}.Packets()
//	var buf bytes.Buffer
//	err = pcaptest.WritePcap(&buf, layers.LinkTypeEthernet, pkts)
//
// Keys and signatures are random (crypto/rand), so bytes differ between runs;
// times, addresses, ports and sequence numbers are fixed (DefaultStart,
// DefaultClient, DefaultServer). The package never reads the wall clock.
package pcaptest
