// Package clientstack names the TLS implementation that wrote a ClientHello
// (Java's JSSE, OpenSSL, Go's crypto/tls, GnuTLS, NSS, BoringSSL ...) and,
// where the offer tells it, the application on top of OpenSSL (curl,
// openssl s_client, Python, Node).
//
// It decides from features that a stack keeps across releases: which
// extensions it sends and in what order, its cipher suite and group lists,
// GREASE, extensions only one stack sends. It does not match JA3 or JA4
// hashes, which change with every release. A ClientHello that fits no
// known stack is Unknown rather than a guess.
package clientstack
