package truststore

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Store is a set of trust anchors: the certificates a TLS client accepts as
// the end of a chain.
//
// The look-up methods index Certs on first use; do not modify Certs after
// calling one of them.
type Store struct {
	// Name is what a report shows, for example
	// "truststore.jks (142 certificates)", several such descriptions
	// joined with ", ", or "built-in Mozilla roots (146 certificates)".
	Name string
	// Files are the paths the store was loaded from, as given.
	Files []string
	// Certs are the certificates, without duplicates, in the order they
	// were found.
	Certs []*Cert
	// BuiltIn reports whether the store is the built-in Mozilla set.
	BuiltIn bool
	// Skipped lists what Load passed over: the files of a directory that
	// hold no PEM or DER certificate, and the certificates of a file that
	// do not parse. [Store.Warnings] describes them in one line per path
	// given to Load, and Name counts and names them.
	Skipped []Skipped

	once sync.Once
	idx  *index
}

// Cert is one trust anchor of a [Store].
type Cert struct {
	Cert *x509.Certificate
	// Alias is the JKS or PKCS#12 alias, or the file name and index of the
	// certificate within a PEM bundle ("ca.pem#2").
	Alias string
	// File is the file the certificate was read from ("" when built in).
	File string

	// constraint is the extra condition the Mozilla root program puts on
	// a root (for example distrust after a date); nil for most roots.
	constraint func([]*x509.Certificate) error
}

// SHA256 returns the SHA-256 fingerprint of the certificate's DER encoding.
func (c *Cert) SHA256() [32]byte { return sha256.Sum256(c.Cert.Raw) }

type subjectKey struct{ subject, spki string }

type index struct {
	bySHA        map[[32]byte]*Cert
	bySubjectKey map[subjectKey]*Cert
	bySubject    map[string][]*Cert
	bySKID       map[string][]*Cert
	pool         *x509.CertPool
}

func (s *Store) index() *index {
	s.once.Do(func() {
		x := &index{
			bySHA:        make(map[[32]byte]*Cert, len(s.Certs)),
			bySubjectKey: make(map[subjectKey]*Cert, len(s.Certs)),
			bySubject:    make(map[string][]*Cert, len(s.Certs)),
			bySKID:       make(map[string][]*Cert, len(s.Certs)),
			pool:         x509.NewCertPool(),
		}
		for _, c := range s.Certs {
			if c == nil || c.Cert == nil {
				continue
			}
			sum := c.SHA256()
			if _, dup := x.bySHA[sum]; dup {
				continue
			}
			x.bySHA[sum] = c
			k := subjectKey{string(c.Cert.RawSubject), string(c.Cert.RawSubjectPublicKeyInfo)}
			if _, ok := x.bySubjectKey[k]; !ok {
				x.bySubjectKey[k] = c
			}
			x.bySubject[string(c.Cert.RawSubject)] = append(x.bySubject[string(c.Cert.RawSubject)], c)
			if len(c.Cert.SubjectKeyId) > 0 {
				x.bySKID[string(c.Cert.SubjectKeyId)] = append(x.bySKID[string(c.Cert.SubjectKeyId)], c)
			}
			if c.constraint != nil {
				x.pool.AddCertWithConstraint(c.Cert, c.constraint)
			} else {
				x.pool.AddCert(c.Cert)
			}
		}
		s.idx = x
	})
	return s.idx
}

// Len returns the number of certificates in the store.
func (s *Store) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Certs)
}

// Contains reports whether the store holds c. It returns the matching
// certificate and how it matched: "sha256" when the store holds the very same
// certificate, "subject+key" when it holds a certificate with the same subject
// and public key (a re-issued root, which Java and Go accept as the same
// anchor), or nil and "" when there is no match.
func (s *Store) Contains(c *x509.Certificate) (match *Cert, how string) {
	if s == nil || c == nil {
		return nil, ""
	}
	x := s.index()
	if m, ok := x.bySHA[sha256.Sum256(c.Raw)]; ok {
		return m, "sha256"
	}
	if m, ok := x.bySubjectKey[subjectKey{string(c.RawSubject), string(c.RawSubjectPublicKeyInfo)}]; ok {
		return m, "subject+key"
	}
	return nil, ""
}

// BySubject returns the certificates whose DER-encoded subject equals
// rawSubject (compare with an issuer's RawIssuer). The slice must not be
// modified.
func (s *Store) BySubject(rawSubject []byte) []*Cert {
	if s == nil {
		return nil
	}
	return s.index().bySubject[string(rawSubject)]
}

// BySubjectKeyID returns the certificates whose subject key identifier is id
// (compare with an issuer's AuthorityKeyId). The slice must not be modified.
func (s *Store) BySubjectKeyID(id []byte) []*Cert {
	if s == nil || len(id) == 0 {
		return nil
	}
	return s.index().bySKID[string(id)]
}

// Pool returns a new certificate pool holding the store's certificates, with
// the Mozilla root program's constraints for the built-in roots. The caller
// may modify it.
func (s *Store) Pool() *x509.CertPool {
	if s == nil {
		return x509.NewCertPool()
	}
	return s.index().pool.Clone()
}

// New returns a store of the given certificates, without duplicates, for
// callers that build trust anchors in memory (tests, for example). name is
// used as the Name as is.
func New(name string, certs []*x509.Certificate) *Store {
	s := &Store{Name: name}
	seen := make(map[[32]byte]bool, len(certs))
	for i, c := range certs {
		if c == nil {
			continue
		}
		sum := sha256.Sum256(c.Raw)
		if seen[sum] {
			continue
		}
		seen[sum] = true
		s.Certs = append(s.Certs, &Cert{Cert: c, Alias: fmt.Sprintf("#%d", i)})
	}
	return s
}

// SHA256Hex returns the SHA-256 fingerprint of der in lower-case hex without
// separators.
func SHA256Hex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Mozilla returns the Mozilla root program certificates built into the binary
// (golang.org/x/crypto/x509roots/fallback/bundle). They are parsed on the
// first call; every call returns the same store, which must not be modified.
// Unlike importing the fallback package, this does not change the roots that
// crypto/x509 uses.
func Mozilla() *Store { return mozilla() }

var mozilla = sync.OnceValue(func() *Store {
	s := &Store{BuiltIn: true}
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			// The bundle is generated and tested upstream; a root that
			// this Go version cannot parse is skipped, not fatal.
			s.Skipped = append(s.Skipped, Skipped{Source: "built-in Mozilla roots", Entry: "built-in root", Reason: "does not parse: " + err.Error()})
			continue
		}
		alias := c.Subject.CommonName
		if alias == "" {
			alias = c.Subject.String()
		}
		s.Certs = append(s.Certs, &Cert{Cert: c, Alias: alias, constraint: r.Constraint})
	}
	s.Name = "built-in Mozilla roots (" + countCerts(len(s.Certs)) + ")"
	return s
})

// countCerts returns "1 certificate" or "N certificates".
func countCerts(n int) string {
	if n == 1 {
		return "1 certificate"
	}
	return fmt.Sprintf("%d certificates", n)
}

// aliasFromSubject returns a keytool-like alias for c: its common name in
// lower case, or its whole subject if it has no common name.
func aliasFromSubject(c *x509.Certificate) string {
	a := c.Subject.CommonName
	if a == "" {
		a = c.Subject.String()
	}
	return strings.ToLower(a)
}
