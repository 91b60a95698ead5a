package truststore

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// aliases returns one keytool-like alias per certificate: the lower-case
// common name, made unique with a " (n)" suffix.
func aliases(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	used := make(map[string]bool, len(certs))
	for i, c := range certs {
		a := aliasFromSubject(c)
		if a == "" {
			a = "cert"
		}
		base := a
		for n := 2; used[a]; n++ {
			a = fmt.Sprintf("%s (%d)", base, n)
		}
		used[a] = true
		out[i] = a
	}
	return out
}

// WriteJKS writes certs to w as a Java KeyStore of trusted certificate
// entries protected by password, as keytool -importcert -storetype JKS does.
// Aliases are the lower-case common names. Entry creation times are the
// certificates' NotBefore times, so the output depends only on the input.
func WriteJKS(w io.Writer, certs []*x509.Certificate, password string) error {
	ks := keystore.New(keystore.WithOrderedAliases(), keystore.WithCaseExactAliases())
	for i, a := range aliases(certs) {
		if certs[i] == nil {
			return errors.New("truststore: write JKS: nil certificate")
		}
		err := ks.SetTrustedCertificateEntry(a, keystore.TrustedCertificateEntry{
			CreationTime: certs[i].NotBefore,
			Certificate:  keystore.Certificate{Type: "X.509", Content: certs[i].Raw},
		})
		if err != nil {
			return fmt.Errorf("truststore: write JKS: %w", err)
		}
	}
	if err := ks.Store(w, []byte(password)); err != nil {
		return fmt.Errorf("truststore: write JKS: %w", err)
	}
	return nil
}

// WritePKCS12 writes certs to w as a PKCS#12 trust store, as keytool
// -importcert -storetype PKCS12 does: each certificate carries Java's
// trusted-certificate attribute and its alias as friendly name, encrypted
// with PBES2 and AES-256 and protected by an HMAC-SHA-256 MAC. An empty
// password writes a store without encryption or MAC, which Java reads without
// a password.
func WritePKCS12(w io.Writer, certs []*x509.Certificate, password string) error {
	entries := make([]pkcs12.TrustStoreEntry, len(certs))
	for i, a := range aliases(certs) {
		if certs[i] == nil {
			return errors.New("truststore: write PKCS#12: nil certificate")
		}
		entries[i] = pkcs12.TrustStoreEntry{Cert: certs[i], FriendlyName: a}
	}
	enc := pkcs12.Modern
	if password == "" {
		enc = pkcs12.Passwordless
	}
	data, err := enc.EncodeTrustStoreEntries(entries, password)
	if err != nil {
		return fmt.Errorf("truststore: write PKCS#12: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("truststore: write PKCS#12: %w", err)
	}
	return nil
}

// WritePEM writes certs to w as a PEM bundle of CERTIFICATE blocks.
func WritePEM(w io.Writer, certs []*x509.Certificate) error {
	for _, c := range certs {
		if c == nil {
			return errors.New("truststore: write PEM: nil certificate")
		}
		if err := pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return fmt.Errorf("truststore: write PEM: %w", err)
		}
	}
	return nil
}
