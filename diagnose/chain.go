package diagnose

import (
	"bytes"
	//lint:ignore SA1019 x509 still parses DSA keys: the type names them and gives their size
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"weak"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/truststore"
)

// ChainCert is one certificate of the chain the server sent, judged.
type ChainCert struct {
	Info         *dissect.CertInfo
	Position     int    // 0 is the leaf
	Role         string // "leaf", "intermediate", "root"
	SelfSigned   bool
	IsCA         bool
	InTruststore bool
	TrustMatch   string // "sha256", "subject+key", ""
	TrustAlias   string
	// ValidAtCapture is false when the certificate was expired or not yet
	// valid at the capture's timestamp.
	ValidAtCapture bool
	Validity       Validity
	IssuedByNext   bool   // the next certificate in the chain signed this one
	Key            string // "RSA 2048", "ECDSA P-256", ...
	KeyBits        int
}

// ChainReport is the comparison of the chain with the truststore: the
// playbook's phase 2.
type ChainReport struct {
	Certs []ChainCert
	At    time.Time // when the chain was judged (the Certificate's capture time)
	// Trusted reports whether a path from the leaf reaches a truststore
	// certificate, with every signature checking out.
	Trusted bool
	// Path is the path built: positions in Certs, then the anchor.
	Path []string
	// Anchor is the truststore certificate that ends the path, if any.
	Anchor *truststore.Cert
	// End is the last certificate of the path when it is not trusted.
	End *x509.Certificate
	// MissingIssuer describes the certificate the path needs next and that
	// neither the server nor the truststore provides ("" when none).
	MissingIssuer string
	// MissingIssuerInMozilla is that certificate found in the built-in
	// Mozilla set (so it can be exported and imported).
	MissingIssuerInMozilla *truststore.Cert
	// LookAlikes are truststore certificates with the subject of a chain
	// certificate (or of the missing issuer) but another key.
	LookAlikes []*truststore.Cert
	// BeyondGap is set when the path from the leaf breaks (MissingIssuer
	// is not "") but other certificates the server sent build a path to
	// the truststore: the truststore holds the anchor the server's chain
	// leads to, and what is missing is only the intermediate between.
	// BeyondGapFrom is the position in Certs of the sent certificate that
	// starts that path (meaningful only when BeyondGap is set).
	BeyondGap     *truststore.Cert
	BeyondGapFrom int
	Findings      []Finding

	allValid  bool   // every certificate that parses is valid at At
	untrusted string // the "untrusted" finding's summary, when not Trusted
}

// keyDesc describes c's key ("RSA 2048") and gives its size in bits.
func keyDesc(c *x509.Certificate) (string, int) {
	m := memoOf(c)
	return m.key, m.bits
}

func keyDescOf(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen()), k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	case *dsa.PublicKey:
		return fmt.Sprintf("DSA %d", k.P.BitLen()), k.P.BitLen()
	}
	return c.PublicKeyAlgorithm.String(), 0
}

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && checkSig(c, c)
}

// issuedBy reports whether parent signed child.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 && !bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId) {
		return false
	}
	return checkSig(child, parent)
}

// checkSig checks parent's signature on child without the CA-flag checks of
// CheckSignatureFrom (those are findings, not reasons to lose the path).
// SHA-1 and MD5 signatures count as made (they are reported as weak).
// Results are remembered (see sigCache).
func checkSig(child, parent *x509.Certificate) bool { return cachedCheckSig(child, parent) }

func verifySig(child, parent *x509.Certificate) bool {
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	var insecure x509.InsecureAlgorithmError
	return err == nil || errors.As(err, &insecure)
}

// Validity says whether a certificate is valid at a time, and if not, on
// which side of its validity period the time falls.
type Validity string

// Validities of a certificate at the capture's time.
const (
	ValidityOK          Validity = ""
	ValidityExpired     Validity = "expired"
	ValidityNotYetValid Validity = "not_yet_valid"
)

func validityAt(c *x509.Certificate, at time.Time) Validity {
	switch {
	case at.After(c.NotAfter):
		return ValidityExpired
	case at.Before(c.NotBefore):
		return ValidityNotYetValid
	}
	return ValidityOK
}

// Name gives a certificate's subject in the one-line form people compare
// ("CN=backend.example.test,O=Example").
func Name(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return memoOf(c).name
}

// IssuerName is c's issuer as one line, as Name gives a subject.
func IssuerName(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return memoOf(c).issuerName
}

// AnalyzeChain compares the server's chain with the truststore at time at.
// The report is shared with other connections that send the same chain
// (chainMemo): it must not be changed.
func AnalyzeChain(chain []*dissect.CertInfo, trust *truststore.Store, at time.Time) *ChainReport {
	if len(chain) == 0 || len(chain) > len(chainKey{}.certs) || trust == nil {
		return analyzeChain(chain, trust, at)
	}
	k := chainKey{store: trust, n: len(chain)}
	for i, ci := range chain {
		k.certs[i] = weak.Make(ci)
	}
	m := chainMemo.get(k, func() *ChainReport { return analyzeChain(chain, trust, at) })
	if !m.allValid || !validAt(chain, at) {
		// Validity is all that depends on the time.
		return analyzeChain(chain, trust, at)
	}
	r := *m
	r.At = at
	return &r
}

// validAt reports whether every certificate of chain that parses is valid
// at time at.
func validAt(chain []*dissect.CertInfo, at time.Time) bool {
	for _, ci := range chain {
		if ci.Cert != nil && validityAt(ci.Cert, at) != ValidityOK {
			return false
		}
	}
	return true
}

func analyzeChain(chain []*dissect.CertInfo, trust *truststore.Store, at time.Time) *ChainReport {
	r := &ChainReport{At: at, allValid: validAt(chain, at)}
	seen := map[string]int{}
	firstAt := map[string]int{}
	for i, ci := range chain {
		if _, ok := firstAt[ci.SHA256]; !ok {
			firstAt[ci.SHA256] = i
		}
		cc := ChainCert{Info: ci, Position: i}
		if dup, ok := seen[ci.SHA256]; ok {
			r.Findings = append(r.Findings, Finding{Code: FindingChainDuplicate, Severity: SevWarning,
				Summary: fmt.Sprintf("the server sends certificate #%d twice (again as #%d)", dup, i)})
		}
		seen[ci.SHA256] = i
		if ci.Cert == nil {
			cc.Role = role(i, len(chain), false, false)
			r.Certs = append(r.Certs, cc)
			r.Findings = append(r.Findings, Finding{Code: FindingCertificateUnparsable, Severity: SevWarning,
				Summary: fmt.Sprintf("certificate #%d (SHA-256 %s) cannot be parsed: %v", i, ci.SHA256, ci.Err)})
			continue
		}
		c := ci.Cert
		cc.SelfSigned = selfSigned(c)
		cc.IsCA = c.BasicConstraintsValid && c.IsCA
		cc.Role = role(i, len(chain), cc.SelfSigned, cc.IsCA)
		if dup, ok := firstAt[ci.SHA256]; ok && dup < i {
			cc.Role = r.Certs[dup].Role // a copy has the role of the original
		}
		if m, how := contains(trust, c); m != nil {
			cc.InTruststore, cc.TrustMatch, cc.TrustAlias = true, how, m.Alias
		}
		cc.Validity = validityAt(c, at)
		cc.ValidAtCapture = cc.Validity == ValidityOK
		if i+1 < len(chain) && chain[i+1].Cert != nil {
			cc.IssuedByNext = issuedBy(c, chain[i+1].Cert)
		}
		cc.Key, cc.KeyBits = keyDesc(c)
		r.Certs = append(r.Certs, cc)
	}
	for i, cc := range r.Certs {
		if i+1 < len(r.Certs) && cc.Info.Cert != nil && r.Certs[i+1].Info.Cert != nil && !cc.IssuedByNext && !cc.SelfSigned {
			r.Findings = append(r.Findings, Finding{Code: FindingChainOrder, Severity: SevWarning,
				Summary: fmt.Sprintf("certificate #%d (%s) is not issued by the next one (#%d, %s): the chain is out of order or holds an unrelated certificate",
					i, Name(cc.Info.Cert), i+1, Name(r.Certs[i+1].Info.Cert))})
		}
	}
	r.buildPath(chain, trust)
	if !r.Trusted {
		r.untrusted = r.untrustedSummary()
	}
	return r
}

func role(i, n int, selfSigned, isCA bool) string {
	switch {
	case i == 0:
		return "leaf"
	case selfSigned:
		return "root"
	}
	return "intermediate"
}

// buildPath walks from the leaf towards a trust anchor the way Java's PKIX
// builder does: any truststore certificate may anchor the path, and the
// certificates the server sent serve as intermediates in any order.
func (r *ChainReport) buildPath(chain []*dissect.CertInfo, trust *truststore.Store) {
	if len(chain) == 0 || chain[0].Cert == nil {
		return
	}
	cur := chain[0].Cert
	pos := 0
	used := map[int]bool{0: true}
	for depth := 0; depth < 12; depth++ {
		r.Path = append(r.Path, fmt.Sprintf("#%d", pos))
		if m, _ := contains(trust, cur); m != nil {
			r.Trusted, r.Anchor = true, m
			r.Path[len(r.Path)-1] += " (in truststore)"
			return
		}
		for _, cand := range trust.BySubject(cur.RawIssuer) {
			if issuedBy(cur, cand.Cert) {
				r.Trusted, r.Anchor = true, cand
				r.Path = append(r.Path, "truststore: "+Name(cand.Cert))
				return
			}
		}
		next := -1
		for j, ci := range chain {
			if used[j] || ci.Cert == nil {
				continue
			}
			if issuedBy(cur, ci.Cert) {
				next = j
				break
			}
		}
		if next < 0 || selfSigned(cur) {
			r.End = cur
			if !selfSigned(cur) {
				r.MissingIssuer = describeIssuer(cur)
				r.BeyondGap, r.BeyondGapFrom = anchorBeyond(chain, trust, used)
				for _, m := range truststore.Mozilla().BySubject(cur.RawIssuer) {
					if issuedBy(cur, m.Cert) {
						r.MissingIssuerInMozilla = m
						break
					}
				}
				r.LookAlikes = append(r.LookAlikes, trust.BySubject(cur.RawIssuer)...)
			} else {
				r.LookAlikes = append(r.LookAlikes, trust.BySubject(cur.RawSubject)...)
			}
			return
		}
		used[next] = true
		pos = next
		cur = chain[next].Cert
	}
}

// anchorBeyond looks for a path to the truststore that starts at a
// certificate the server sent but that the path from the leaf did not use.
// It returns the anchor and the position of the certificate that starts
// the path, or nil and -1.
func anchorBeyond(chain []*dissect.CertInfo, trust *truststore.Store, onPath map[int]bool) (*truststore.Cert, int) {
	for start, ci := range chain {
		if onPath[start] || ci.Cert == nil {
			continue
		}
		used := map[int]bool{start: true}
		cur := ci.Cert
		for depth := 0; depth < 12; depth++ {
			if m, _ := contains(trust, cur); m != nil {
				return m, start
			}
			for _, cand := range trust.BySubject(cur.RawIssuer) {
				if issuedBy(cur, cand.Cert) {
					return cand, start
				}
			}
			if selfSigned(cur) {
				break
			}
			next := -1
			for j, cj := range chain {
				if !used[j] && !onPath[j] && cj.Cert != nil && issuedBy(cur, cj.Cert) {
					next = j
					break
				}
			}
			if next < 0 {
				break
			}
			used[next] = true
			cur = chain[next].Cert
		}
	}
	return nil, -1
}

func describeIssuer(c *x509.Certificate) string { return memoOf(c).issuer }

func issuerDesc(c *x509.Certificate) string {
	s := c.Issuer.String()
	if len(c.AuthorityKeyId) > 0 {
		s += ", key id " + hex.EncodeToString(c.AuthorityKeyId)
	}
	if len(c.IssuingCertificateURL) > 0 {
		s += ", CA issuers URL " + strings.Join(c.IssuingCertificateURL, " ")
	}
	return s
}
