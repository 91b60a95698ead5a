package truststore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// parsePKCS12 returns the certificates of a PKCS#12 file (RFC 7292).
//
// A Java trust store (keytool -storetype PKCS12) holds only certificate bags
// marked with Java's trusted-certificate attribute; it is read with
// DecodeTrustStore. A key store with one private key is read with
// DecodeChain: its certificate and the CA certificates stored with it are all
// returned, since go-pkcs12 does not tell a key's chain from trusted entries
// stored beside it.
//
// go-pkcs12 does not return the friendly names (aliases), so the aliases are
// the file name and the index of the certificate.
func parsePKCS12(data []byte, name, password string) ([]entry, error) {
	if n := maxIterationCount(data, 0); n > maxIterations {
		return nil, fmt.Errorf("%w PKCS#12: key derivation iteration count %d exceeds %d", ErrUnsupported, n, maxIterations)
	}
	if v, ok := pfxVersion(data); ok && v != 3 {
		return nil, fmt.Errorf("%w PKCS#12 file: PFX version %d, want 3", ErrCorrupt, v)
	}
	certs, trustErr := decodeTrustStore(data, password)
	if trustErr == nil {
		return pkcs12Entries(name, certs), nil
	}
	if errors.Is(trustErr, pkcs12.ErrIncorrectPassword) {
		return nil, macFailed(data, password)
	}
	_, leaf, ca, chainErr := pkcs12.DecodeChain(data, password)
	if chainErr != nil && password != "" && isNoMAC(chainErr) {
		_, leaf, ca, chainErr = pkcs12.DecodeChain(data, "")
	}
	if chainErr == nil {
		return pkcs12Entries(name, append([]*x509.Certificate{leaf}, ca...)), nil
	}
	switch {
	case errors.Is(chainErr, pkcs12.ErrIncorrectPassword):
		return nil, macFailed(data, password)
	case strings.Contains(trustErr.Error(), "not marked as trusted") && strings.Contains(chainErr.Error(), "private key missing"):
		// Typically "openssl pkcs12 -export -nokeys": Java loads no
		// entry from such a file.
		return nil, fmt.Errorf("%w: the PKCS#12 certificates lack Java's trusted-certificate attribute, so Java ignores them (import them with keytool -importcert)", ErrNoCertificates)
	case strings.Contains(chainErr.Error(), "expected exactly one key bag"):
		return nil, fmt.Errorf("%w: PKCS#12 key store with several private keys", ErrUnsupported)
	}
	var nie pkcs12.NotImplementedError
	if errors.As(trustErr, &nie) && errors.As(chainErr, &nie) {
		if c := checkPFX(data, password); c.damage != "" {
			return nil, fmt.Errorf("%w PKCS#12 file: %s", ErrCorrupt, c.damage)
		}
		return nil, fmt.Errorf("%w PKCS#12: %v", ErrUnsupported, strings.TrimPrefix(chainErr.Error(), "pkcs12: "))
	}
	return nil, fmt.Errorf("%w PKCS#12 file: %v", ErrCorrupt, strings.TrimPrefix(trustErr.Error(), "pkcs12: "))
}

// macFailed describes a PKCS#12 file whose MAC does not match the password:
// a wrong password, or a changed byte, which also changes the MAC. It says
// "corrupted" when checkPFX finds damage or finds that the password
// decrypts the encrypted parts, "wrong password" when everything else is
// intact, and both when part of the file cannot be checked.
func macFailed(data []byte, password string) error {
	c := checkPFX(data, password)
	switch {
	case c.damage != "":
		return fmt.Errorf("%w PKCS#12 file (MAC check failed): %s", ErrCorrupt, c.damage)
	case c.opened:
		return fmt.Errorf("%w PKCS#12 file: the MAC check failed although the password decrypts the contents", ErrCorrupt)
	case c.unchecked:
		return fmt.Errorf("%w, or the file is corrupted (PKCS#12 MAC check failed)", ErrWrongPassword)
	case c.closed:
		return fmt.Errorf("%w (PKCS#12 MAC check failed, and the password does not decrypt the contents)", ErrWrongPassword)
	}
	return fmt.Errorf("%w (PKCS#12 MAC check failed; the certificates look intact)", ErrWrongPassword)
}

// pfxVersion returns the version of a PFX, and whether it could be read.
func pfxVersion(data []byte) (int64, bool) {
	s := cryptobyte.String(data)
	var pfx cryptobyte.String
	var v int64
	if !s.ReadASN1(&pfx, cbasn1.SEQUENCE) || !pfx.ReadASN1Integer(&v) {
		return 0, false
	}
	return v, true
}

// maxIterations caps the key derivation work a PKCS#12 file can ask for (keytool uses 10000, OpenSSL 2048; go-pkcs12 has no limit). It is a
// variable so that the fuzz test can lower it.
var maxIterations int64 = 1 << 20

// maxIterationCount returns the largest key derivation iteration count in a
// PFX (RFC 7292), or a huge number if one does not fit in an int64. Iteration
// counts are the INTEGER that follows the salt OCTET STRING in MacData (RFC
// 7292, Section 4), pkcs-12PbeParams (Appendix C) and PBKDF2-params (RFC 8018,
// Appendix A.2); no other structure of a PFX has an INTEGER right after an
// OCTET STRING. OCTET STRINGs that hold one DER element (unencrypted safe
// contents, for example) are searched too.
func maxIterationCount(data []byte, depth int) int64 {
	if depth > 16 {
		return 0
	}
	var max int64
	s := cryptobyte.String(data)
	afterOctets := false
	for !s.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1(&el, &tag) {
			return max
		}
		n := int64(0)
		switch {
		case tag == cbasn1.INTEGER && afterOctets:
			if len(el) > 8 {
				n = 1 << 62
			} else if len(el) > 0 && el[0]&0x80 == 0 {
				for _, b := range el {
					n = n<<8 | int64(b)
				}
			}
		case tag&0x20 != 0: // constructed
			n = maxIterationCount(el, depth+1)
		case tag == cbasn1.OCTET_STRING:
			inner := cryptobyte.String(el)
			var one cryptobyte.String
			var t cbasn1.Tag
			if inner.ReadAnyASN1Element(&one, &t) && inner.Empty() && t&0x20 != 0 {
				n = maxIterationCount(el, depth+1)
			}
		}
		afterOctets = tag == cbasn1.OCTET_STRING
		if n > max {
			max = n
		}
	}
	return max
}

// decodeTrustStore reads a Java trust store, and also one written without
// integrity protection when a password was given (the caller's default).
func decodeTrustStore(data []byte, password string) ([]*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err != nil && password != "" && isNoMAC(err) {
		certs, err = pkcs12.DecodeTrustStore(data, "")
	}
	return certs, err
}

// isNoMAC reports whether err is go-pkcs12's complaint that a file has no
// MAC (no integrity protection) while a password was given.
func isNoMAC(err error) bool { return strings.Contains(err.Error(), "no MAC in data") }

func pkcs12Entries(name string, certs []*x509.Certificate) []entry {
	es := make([]entry, 0, len(certs))
	for i, c := range certs {
		es = append(es, entry{alias: fmt.Sprintf("%s#%d", name, i), der: c.Raw})
	}
	return es
}
