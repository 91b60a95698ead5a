// Package tlsparse parses TLS records and handshake messages as seen on the
// wire by a passive observer.
//
// It is split in two layers, following crypto/tls:
//
//   - Framing answers "complete / need more / invalid": ReadRecordHeader,
//     LooksLikeTLS, SSLv2RecordLen, ReadSSLv2RecordHeader,
//     LooksLikeSSLv2ServerHello and HandshakeBuffer (which joins handshake
//     fragments across records).
//   - Parsers see only complete messages: ParseClientHello, ParseServerHello,
//     ParseCertificate, ParseCertificateRequest, ParseAlert(s),
//     ParseSSLv2ClientHello, and the SSL 2.0 messages sent in the clear
//     after it: ParseSSLv2ServerHello, ParseSSLv2ClientMasterKey and
//     ParseSSLv2Error.
//
// Framing is strict (every length-prefixed block is consumed exactly and the
// 4-byte handshake header length is verified, so every strict prefix of a
// message fails), semantics are lenient: unknown and duplicate extensions
// are kept in wire order and oddities are recorded in the Anomalies fields
// instead of failing the parse.
//
// Ownership: parsed messages alias the byte slice given to the parser (Raw,
// Random, SessionID, Extension.Data, certificate DER bytes...). Callers that
// reuse their buffers must copy first. HandshakeBuffer.Next returns messages
// the caller owns.
//
// The package also computes the JA3/JA3S (Salesforce) and JA4 (FoxIO) client
// fingerprints. It imports only the standard library and cryptobyte; it never
// logs, prints or reads the clock.
package tlsparse
