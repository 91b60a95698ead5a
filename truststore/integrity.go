package truststore

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// A wrong password and a changed byte both make the integrity check of a
// key store (the JKS digest, the PKCS#12 MAC) fail. To tell them apart, the
// loader checks what it can without the password: the structure, and the
// certificates, whose signatures protect their content. A changed byte in a
// certificate makes it fail to parse, or makes its signature (checked with
// its own key if it is self-signed, or with its issuer's if the store holds
// it) fail to verify.

// storedCert is a certificate of a key store, before parsing.
type storedCert struct {
	name string // "entry \"myroot\"", "certificate 2"
	der  []byte
}

// checkCerts checks the certificates of a key store whose integrity check
// failed. It returns the first sign of damage ("" if none), and reports
// whether some certificate could not be checked: one that crypto/x509
// refuses although it is well formed (a negative serial number, an unknown
// curve), or whose signature it cannot verify here (no issuer in the store,
// an algorithm it does not verify).
func checkCerts(cs []storedCert) (damage string, unchecked bool) {
	parsed := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		cert, err := x509.ParseCertificate(c.der)
		if err != nil {
			if strictnessError(err) {
				unchecked = true
				continue
			}
			return fmt.Sprintf("%s: the certificate does not parse: %v", c.name, err), unchecked
		}
		parsed[i] = cert
	}
	for i, cert := range parsed {
		if cert == nil {
			continue
		}
		verified, broken := false, false
		for _, s := range signersOf(cert, parsed) {
			switch verify(cert, s) {
			case sigOK:
				verified = true
			case sigBroken:
				broken = true
			}
		}
		switch {
		case verified:
		case broken:
			return fmt.Sprintf("%s (%s): the certificate's signature does not match its content", cs[i].name, describeCert(cert)), unchecked
		default:
			unchecked = true
		}
	}
	return "", unchecked
}

// describeCert names a certificate by its subject's common name, or its
// whole subject.
func describeCert(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	return c.Subject.String()
}

// strictnessError reports whether err is crypto/x509 refusing a certificate
// that other parsers (Java's) accept, rather than a malformed one.
func strictnessError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "negative serial number") || strings.Contains(msg, "unsupported")
}

// signersOf returns the certificates among all whose key should verify c's
// signature: c itself if it is self-signed (same subject and issuer, or an
// authority key identifier equal to its subject key identifier), otherwise
// those whose subject key identifier is c's authority key identifier, or,
// without identifiers, whose subject is c's issuer.
func signersOf(c *x509.Certificate, all []*x509.Certificate) []*x509.Certificate {
	aki, ski := c.AuthorityKeyId, c.SubjectKeyId
	if len(aki) > 0 && bytes.Equal(aki, ski) {
		return []*x509.Certificate{c}
	}
	if bytes.Equal(c.RawIssuer, c.RawSubject) && (len(aki) == 0 || len(ski) == 0) {
		return []*x509.Certificate{c}
	}
	var out []*x509.Certificate
	for _, o := range all {
		if o == nil || o == c {
			continue
		}
		switch {
		case len(aki) > 0 && bytes.Equal(o.SubjectKeyId, aki):
			out = append(out, o)
		case bytes.Equal(o.RawSubject, c.RawIssuer) && (len(aki) == 0 || len(o.SubjectKeyId) == 0):
			out = append(out, o)
		}
	}
	return out
}

type sigResult int

const (
	sigUnchecked sigResult = iota
	sigOK
	sigBroken
)

// verify checks c's signature with signer's key. Only a signature that
// the key does not verify is sigBroken; an algorithm or key that
// crypto/x509 does not verify is sigUnchecked.
func verify(c, signer *x509.Certificate) sigResult {
	err := signer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	switch {
	case err == nil:
		return sigOK
	case errors.Is(err, rsa.ErrVerification), strings.HasSuffix(err.Error(), "verification failure"):
		return sigBroken
	}
	return sigUnchecked
}
