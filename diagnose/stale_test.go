package diagnose_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"

	"github.com/tlstriage/tlstriage/diagnose"
	"github.com/tlstriage/tlstriage/internal/pcaptest"
)

// TestStaleIntermediate: the server sends an intermediate of the right
// name from another generation (another key) that did not sign its leaf.
// A real crypto/tls client rejects the chain; the cause is the server's
// chain, with the key identifiers that prove it, not an intermediate the
// truststore lacks.
func TestStaleIntermediate(t *testing.T) {
	tp := getPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *tp.pki.Intermediate
	tmpl.SerialNumber = big.NewInt(9999)
	tmpl.SubjectKeyId = []byte{0xde, 0xad, 0xbe, 0xef}
	tmpl.PublicKey = nil
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, tp.pki.Root, &key.PublicKey, tp.pki.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pki := *tp.pki
	pki.Intermediate = stale
	c := handshake(t, pcaptest.TLSOptions{PKI: &pki, MaxVersion: tls.VersionTLS12}, "unknown authority")
	r := diagnose.Diagnose(c, diagnose.Options{Trust: store(tp.pki.Root)})
	if r.Verdict != diagnose.VerdictClientRejectedCertificate || r.Cause != diagnose.CauseIncompleteChain {
		t.Fatalf("%s/%s: %s", r.Verdict, r.Cause, r.CauseDetail)
	}
	if !strings.Contains(r.CauseDetail, "de:ad:be:ef") || !strings.Contains(r.CauseDetail, "did not sign") || !strings.Contains(r.Fix, "current") {
		t.Errorf("detail %q\nfix %q", r.CauseDetail, r.Fix)
	}
}
