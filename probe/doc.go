// Package probe fetches the certificate chain a server sends, as a TLS
// client that verifies nothing, and describes the connection as dissect
// describes a captured one, so that diagnose judges it as a client with a
// given truststore would (tlstriage probe).
package probe
