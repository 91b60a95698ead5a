// Package tlsdecrypt removes TLS record protection for a passive observer
// that holds the session's secrets, as a key log gives them.
//
// It reads key logs in the NSS format (SSLKEYLOGFILE, as written by curl,
// browsers, OpenSSL's -keylogfile, Go's tls.Config.KeyLogWriter and Java
// agents; also the payload of a pcapng Decryption Secrets Block): KeyLog
// indexes their secrets by client random.
//
// From the secrets it derives record keys: for TLS 1.3 the traffic keys and
// IVs of a traffic secret (HKDF-Expand-Label, RFC 8446, Section 7), for TLS
// 1.2 the key block of a master secret (the PRF of RFC 5246, Section 5,
// with SHA-256 or SHA-384 as the suite says). A Cipher then opens the records
// of one direction, in order: AES-GCM and ChaCha20-Poly1305 (TLS 1.2 and
// 1.3) and, for TLS 1.2, AES-CBC with HMAC-SHA1/SHA256/SHA384, with or
// without encrypt_then_mac (RFC 7366).
//
// An Inflater decompresses the records of a session that negotiated DEFLATE
// compression (RFC 3749) once they are opened.
//
// A record that fails authentication is never guessed at: Open returns an
// error wrapping ErrAuth, and the caller says the key does not match.
//
// The package imports only the standard library and golang.org/x/crypto; it
// never logs, prints or reads the clock.
package tlsdecrypt
