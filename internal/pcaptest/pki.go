package pcaptest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Default names of the test PKI.
const (
	DefaultRootName         = "tlstriage Test Root CA"
	DefaultIntermediateName = "tlstriage Test Issuing CA 1"
	DefaultOtherRootName    = "Other Root CA"
	DefaultServerName       = "backend.example.test"
)

// KeyType selects the key algorithm and size of a certificate.
type KeyType int

// Key types. ECDSAP256 is the default.
const (
	ECDSAP256 KeyType = iota
	RSA2048
	RSA1024 // weak
)

// LeafOptions describes the end-entity certificate of a PKI.
type LeafOptions struct {
	// DNSNames are the subjectAltName DNS names; default {DefaultServerName}.
	DNSNames []string
	// CommonName defaults to DNSNames[0].
	CommonName string
	// CNOnly leaves the SAN extension out: only the subject CN names the host.
	CNOnly bool
	// NotBefore and NotAfter default to PKIOptions.Now - 30 days and + 90 days.
	NotBefore, NotAfter time.Time
	// Key is the leaf key type.
	Key KeyType
	// SelfSigned makes the leaf sign itself instead of being issued by the intermediate.
	SelfSigned bool
	// SHA1 signs the leaf with SHA-1 (RSA issuer keys only; see PKI.SHA1Unsupported).
	SHA1 bool
	// AIA is the CA Issuers URL put in the leaf's Authority Information Access.
	AIA string
	// ClientAuth adds the clientAuth extended key usage instead of serverAuth.
	ClientAuth bool
}

// PKIOptions configures NewPKI. The zero value is usable.
type PKIOptions struct {
	// Now is the reference time (usually the capture start); default DefaultStart.
	// CA certificates are valid from Now-1 year to Now+10 years.
	Now              time.Time
	RootName         string
	IntermediateName string
	// CAKey is the key type of the root and intermediate.
	CAKey KeyType
	// IntermediateAIA is the CA Issuers URL put in the intermediate.
	IntermediateAIA string
	Leaf            LeafOptions
}

// PKI is a root, an intermediate and a leaf issued by the intermediate
// (or self-signed, see LeafOptions.SelfSigned).
type PKI struct {
	Root, Intermediate, Leaf          *x509.Certificate
	RootKey, IntermediateKey, LeafKey crypto.Signer
	// Now is the reference time the PKI was built for.
	Now time.Time
	// SHA1Unsupported reports that LeafOptions.SHA1 was asked for but the
	// standard library refused to sign with SHA-1; the leaf uses SHA-256.
	SHA1Unsupported bool
	serial          int64
}

// ChainKind selects which certificates the server sends.
type ChainKind int

// Chains a server can send.
const (
	ChainLeafIntermediate ChainKind = iota // leaf, intermediate (the usual)
	ChainFull                              // leaf, intermediate, root
	ChainLeafOnly                          // leaf alone (incomplete chain)
	ChainLeafRoot                          // leaf and root, the intermediate left out
	ChainLeafTwice                         // leaf, leaf again, intermediate, root (a chain file that also holds the leaf)
)

func genKey(k KeyType) (crypto.Signer, error) {
	switch k {
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA1024:
		return rsa.GenerateKey(rand.Reader, 1024)
	default:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
}

func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(der)
	return sum[:], nil
}

func (p *PKI) nextSerial() *big.Int {
	p.serial++
	return big.NewInt(0x7151_0000 + p.serial)
}

func newCA(name string, parent *x509.Certificate, parentKey crypto.Signer, k KeyType, now time.Time, serial *big.Int, aia string, pathLen int) (*x509.Certificate, crypto.Signer, error) {
	key, err := genKey(k)
	if err != nil {
		return nil, nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"tlstriage test"}},
		NotBefore:             now.AddDate(-1, 0, 0),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		SubjectKeyId:          ski,
	}
	if aia != "" {
		tmpl.IssuingCertificateURL = []string{aia}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pcaptest: create %q: %w", name, err)
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// NewPKI builds a root, an intermediate and a leaf.
func NewPKI(o PKIOptions) (*PKI, error) {
	if o.Now.IsZero() {
		o.Now = DefaultStart
	}
	if o.RootName == "" {
		o.RootName = DefaultRootName
	}
	if o.IntermediateName == "" {
		o.IntermediateName = DefaultIntermediateName
	}
	p := &PKI{Now: o.Now}
	var err error
	p.Root, p.RootKey, err = newCA(o.RootName, nil, nil, o.CAKey, o.Now, p.nextSerial(), "", 1)
	if err != nil {
		return nil, err
	}
	p.Intermediate, p.IntermediateKey, err = newCA(o.IntermediateName, p.Root, p.RootKey, o.CAKey, o.Now, p.nextSerial(), o.IntermediateAIA, 0)
	if err != nil {
		return nil, err
	}
	if err := p.issueLeaf(o.Leaf); err != nil {
		return nil, err
	}
	return p, nil
}

// WithLeaf returns a copy of p sharing its root and intermediate with a new leaf.
func (p *PKI) WithLeaf(o LeafOptions) (*PKI, error) {
	q := *p
	q.SHA1Unsupported = false
	if err := q.issueLeaf(o); err != nil {
		return nil, err
	}
	p.serial = q.serial
	return &q, nil
}

func (p *PKI) issueLeaf(o LeafOptions) error {
	if len(o.DNSNames) == 0 {
		o.DNSNames = []string{DefaultServerName}
	}
	if o.CommonName == "" {
		o.CommonName = o.DNSNames[0]
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = p.Now.AddDate(0, 0, -30)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = p.Now.AddDate(0, 0, 90)
	}
	key, err := genKey(o.Key)
	if err != nil {
		return err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          p.nextSerial(),
		Subject:               pkix.Name{CommonName: o.CommonName, Organization: []string{"tlstriage test"}},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:          ski,
		BasicConstraintsValid: true,
	}
	if o.ClientAuth {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if _, ok := key.(*rsa.PrivateKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if !o.CNOnly {
		tmpl.DNSNames = o.DNSNames
	}
	if o.AIA != "" {
		tmpl.IssuingCertificateURL = []string{o.AIA}
	}
	parent, parentKey := p.Intermediate, p.IntermediateKey
	if o.SelfSigned {
		parent, parentKey = tmpl, key
	}
	if o.SHA1 {
		if _, ok := parentKey.(*rsa.PrivateKey); ok {
			tmpl.SignatureAlgorithm = x509.SHA1WithRSA
		} else {
			tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil && o.SHA1 {
		p.SHA1Unsupported = true
		tmpl.SignatureAlgorithm = x509.UnknownSignatureAlgorithm
		der, err = x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	}
	if err != nil {
		return fmt.Errorf("pcaptest: create leaf %q: %w", o.CommonName, err)
	}
	p.Leaf, err = x509.ParseCertificate(der)
	p.LeafKey = key
	return err
}

// Chain returns the DER certificates a server sends for kind. A self-signed
// leaf is always sent alone.
func (p *PKI) Chain(kind ChainKind) [][]byte {
	// Not CheckSignatureFrom: it refuses a parent that is not a CA, and a
	// self-signed leaf is not one.
	selfSigned := bytes.Equal(p.Leaf.RawIssuer, p.Leaf.RawSubject) &&
		p.Leaf.CheckSignature(p.Leaf.SignatureAlgorithm, p.Leaf.RawTBSCertificate, p.Leaf.Signature) == nil
	if selfSigned || kind == ChainLeafOnly {
		return [][]byte{p.Leaf.Raw}
	}
	switch kind {
	case ChainFull:
		return [][]byte{p.Leaf.Raw, p.Intermediate.Raw, p.Root.Raw}
	case ChainLeafRoot:
		return [][]byte{p.Leaf.Raw, p.Root.Raw}
	case ChainLeafTwice:
		return [][]byte{p.Leaf.Raw, p.Leaf.Raw, p.Intermediate.Raw, p.Root.Raw}
	}
	return [][]byte{p.Leaf.Raw, p.Intermediate.Raw}
}

// TLSCertificate returns the leaf key with the chain for kind.
func (p *PKI) TLSCertificate(kind ChainKind) tls.Certificate {
	return tls.Certificate{Certificate: p.Chain(kind), PrivateKey: p.LeafKey, Leaf: p.Leaf}
}

// RootPool returns a pool holding only p.Root.
func (p *PKI) RootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root)
	return pool
}

// NewOtherRoot returns a self-signed root unrelated to any PKI, named
// DefaultOtherRootName, valid around now.
func NewOtherRoot(now time.Time) (*x509.Certificate, crypto.Signer, error) {
	if now.IsZero() {
		now = DefaultStart
	}
	return newCA(DefaultOtherRootName, nil, nil, ECDSAP256, now, big.NewInt(0x0e7e_0001), "", 1)
}

// PoolOf returns a pool holding certs.
func PoolOf(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// PEM encodes certs as concatenated CERTIFICATE blocks.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
