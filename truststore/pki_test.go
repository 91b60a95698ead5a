package truststore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// pki is a small certificate hierarchy: root → intermediate → leaf, another
// root, and a re-issued root (same subject and key as root, other bytes).
type pki struct {
	root, inter, leaf, other, reissued *x509.Certificate
}

var testTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newPKI(t testing.TB) *pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	mk := func(tmpl, parent *x509.Certificate, pub, priv any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber:          big.NewInt(serial),
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"tlstriage test"}},
			NotBefore:             testTime.Add(-time.Hour),
			NotAfter:              testTime.Add(365 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageCertSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
	}
	rootKey, interKey, leafKey, otherKey := key(), key(), key(), key()
	p := &pki{}
	p.root = mk(ca(1, "Test Root CA"), ca(1, "Test Root CA"), &rootKey.PublicKey, rootKey)
	re := ca(99, "Test Root CA")
	re.NotAfter = testTime.Add(2 * 365 * 24 * time.Hour)
	p.reissued = mk(re, re, &rootKey.PublicKey, rootKey)
	p.inter = mk(ca(2, "Test Intermediate CA"), p.root, &interKey.PublicKey, rootKey)
	p.leaf = mk(&x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "server.test"},
		DNSNames:     []string{"server.test"},
		NotBefore:    testTime.Add(-time.Hour),
		NotAfter:     testTime.Add(30 * 24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.inter, &leafKey.PublicKey, interKey)
	p.other = mk(ca(4, "Other Root CA"), ca(4, "Other Root CA"), &otherKey.PublicKey, otherKey)
	return p
}

func pkcs12Modern() *pkcs12.Encoder { return pkcs12.Modern }
