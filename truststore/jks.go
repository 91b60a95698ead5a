package truststore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"golang.org/x/crypto/cryptobyte"
)

// JKS entry tags (sun.security.provider.JavaKeyStore).
const (
	jksPrivateKey  = 1
	jksTrustedCert = 2
	jksSecretKey   = 3 // JCEKS only
)

// jksEntries is what walkJKS finds: the trust anchors as Java sees them, and
// the certificates Java does not use as anchors.
type jksEntries struct {
	anchors []entry
	ignored []string
}

// parseJKS returns the trust anchors of a Java KeyStore the way Java's
// TrustManagerFactory picks them: the certificate of every trusted
// certificate entry, and the first certificate of the chain of every private
// key entry. The other certificates of those chains are not anchors; they are
// returned in ignored.
//
// The structure is checked with bounds-checked reads first (keystore-go
// allocates the lengths it reads before reading them), then, when password is
// not empty, keystore-go checks the integrity digest.
func parseJKS(data []byte, password string) (*jksEntries, error) {
	es, err := walkJKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w JKS: %v", ErrCorrupt, err)
	}
	if password == "" {
		return es, nil
	}
	ks := keystore.New(keystore.WithCaseExactAliases())
	pw := []byte(password)
	if err := ks.Load(bytes.NewReader(data), pw); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			return nil, fmt.Errorf("%w (keystore integrity check failed)", ErrWrongPassword)
		}
		return nil, fmt.Errorf("%w JKS: %v", ErrCorrupt, err)
	}
	return es, nil
}

// walkJKS reads the JKS layout (version 1 or 2):
//
//	magic u32, version u32, count u32,
//	count × (tag u32, alias u16-prefixed, timestamp u64,
//	         tag 1: key u32-prefixed, n u32, n × cert; tag 2: cert),
//	SHA-1 digest [20]
//	cert: type u16-prefixed (version 2 only), DER u32-prefixed
func walkJKS(data []byte) (*jksEntries, error) {
	s := cryptobyte.String(data)
	var magic, version, count uint32
	if !s.ReadUint32(&magic) || !s.ReadUint32(&version) || !s.ReadUint32(&count) {
		return nil, errors.New("header cut short")
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("unknown version %d", version)
	}
	readCert := func(typ *string, der *[]byte) bool {
		*typ = "X.509"
		if version == 2 {
			var t cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&t) {
				return false
			}
			*typ = string(t)
		}
		return readUint32Prefixed(&s, der)
	}
	es := &jksEntries{}
	for i := uint32(0); i < count; i++ {
		var tag uint32
		var aliasB cryptobyte.String
		var ts uint64
		if !s.ReadUint32(&tag) || !s.ReadUint16LengthPrefixed(&aliasB) || !s.ReadUint64(&ts) {
			return nil, fmt.Errorf("entry %d of %d cut short", i+1, count)
		}
		alias := string(aliasB)
		var typ string
		var der []byte
		switch tag {
		case jksTrustedCert:
			if !readCert(&typ, &der) {
				return nil, fmt.Errorf("entry %q cut short", alias)
			}
			if typ != "X.509" {
				es.ignored = append(es.ignored, fmt.Sprintf("entry %q: certificate type %q", alias, typ))
				continue
			}
			es.anchors = append(es.anchors, entry{alias: alias, der: der})
		case jksPrivateKey:
			var key []byte
			var n uint32
			if !readUint32Prefixed(&s, &key) || !s.ReadUint32(&n) {
				return nil, fmt.Errorf("entry %q cut short", alias)
			}
			for j := uint32(0); j < n; j++ {
				if !readCert(&typ, &der) {
					return nil, fmt.Errorf("entry %q: certificate %d of %d cut short", alias, j+1, n)
				}
				switch {
				case typ != "X.509":
					es.ignored = append(es.ignored, fmt.Sprintf("entry %q: certificate type %q", alias, typ))
				case j == 0:
					es.anchors = append(es.anchors, entry{alias: alias, der: der})
				default:
					es.ignored = append(es.ignored, fmt.Sprintf("entry %q: chain certificate %d is not a trust anchor for Java (only the key entry's own certificate is)", alias, j))
				}
			}
		case jksSecretKey:
			return nil, errors.New("secret key entry (JCEKS only)")
		default:
			return nil, fmt.Errorf("entry %d of %d: unknown tag %d", i+1, count, tag)
		}
	}
	var digest []byte
	if !s.ReadBytes(&digest, 20) {
		return nil, errors.New("integrity digest cut short")
	}
	return es, nil
}

// readUint32Prefixed reads a 32-bit length and that many bytes, and reports
// whether they were all there.
func readUint32Prefixed(s *cryptobyte.String, out *[]byte) bool {
	var n uint32
	if !s.ReadUint32(&n) || uint64(n) > uint64(len(*s)) {
		return false
	}
	return s.ReadBytes(out, int(n))
}
