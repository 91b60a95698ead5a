package truststore

import (
	"bytes"
	"crypto/sha1"
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// JKS entry tags (sun.security.provider.JavaKeyStore).
const (
	jksPrivateKey  = 1
	jksTrustedCert = 2
	jksSecretKey   = 3 // JCEKS only
)

// jksCert is one certificate of a JKS entry.
type jksCert struct {
	typ string // "X.509"
	der []byte
}

// jksEntry is one entry of a JKS, as stored.
type jksEntry struct {
	tag     uint32
	alias   []byte // Java's modified UTF-8
	created int64  // milliseconds since 1970
	key     []byte // private key entries: an EncryptedPrivateKeyInfo
	certs   []jksCert
}

// jksFile is the layout of a JKS.
type jksFile struct {
	entries  []jksEntry
	digestAt int // offset of the SHA-1 integrity digest
	trailing int // bytes after the digest, which Java ignores
}

// jksEntries is what a JKS holds for a TLS client: the trust anchors as
// Java sees them, and the entries passed over.
type jksEntries struct {
	anchors []entry
	skipped []Skipped // Entry and Reason set
}

// parseJKS returns the trust anchors of a Java KeyStore the way Java's
// TrustManagerFactory picks them: the certificate of every trusted
// certificate entry, and the first certificate of the chain of every private
// key entry. The other certificates of those chains are not anchors.
//
// The structure is read with bounds-checked reads (keystore-go allocates the
// lengths it reads before reading them, and cannot read a store without
// checking its digest). When password is not empty, the integrity digest is
// checked as Java does; when it does not match, the error says whether the
// password is wrong or the file is damaged (see [jksFile.damage]).
func parseJKS(data []byte, password string) (*jksEntries, error) {
	f, err := walkJKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w JKS keystore: %v", ErrCorrupt, err)
	}
	es := f.trustEntries()
	if password == "" || jksDigestOK(data[:f.digestAt], data[f.digestAt:f.digestAt+sha1.Size], password) {
		return es, nil
	}
	// A wrong password and a changed byte both make the digest differ;
	// a changed byte usually also leaves a trace that damage finds.
	d, unchecked := f.damage()
	if d != "" {
		return nil, fmt.Errorf("%w JKS keystore (integrity check failed): %s", ErrCorrupt, d)
	}
	for _, e := range f.entries {
		if e.tag != jksPrivateKey {
			continue
		}
		if jksKeyOpens(e.key, password) {
			return nil, fmt.Errorf("%w JKS keystore: the integrity check failed although the password opens the private key of entry %s", ErrCorrupt, quoteShort(e.alias))
		}
		// An encrypted key that does not open could hide the damage.
		unchecked = true
	}
	if unchecked {
		return nil, fmt.Errorf("%w, or the file is corrupted (keystore integrity check failed)", ErrWrongPassword)
	}
	return nil, fmt.Errorf("%w (keystore integrity check failed; the entries look intact)", ErrWrongPassword)
}

// trustEntries returns the trust anchors of f, and the entries whose
// certificate is not X.509.
func (f *jksFile) trustEntries() *jksEntries {
	es := &jksEntries{}
	for _, e := range f.entries {
		if len(e.certs) == 0 {
			continue
		}
		// Java's TrustManagerFactory uses only the first certificate
		// of a private key entry's chain.
		c := e.certs[0]
		if c.typ != "X.509" {
			es.skipped = append(es.skipped, Skipped{Entry: string(e.alias), Reason: "certificate type " + quoteShort([]byte(c.typ))})
			continue
		}
		es.anchors = append(es.anchors, entry{alias: string(e.alias), der: c.der})
	}
	return es
}

// walkJKS reads the JKS layout (version 1 or 2):
//
//	magic u32, version u32, count u32,
//	count × (tag u32, alias u16-prefixed, timestamp u64,
//	         tag 1: key u32-prefixed, n u32, n × cert; tag 2: cert),
//	SHA-1 digest [20]
//	cert: type u16-prefixed (version 2 only), DER u32-prefixed
func walkJKS(data []byte) (*jksFile, error) {
	s := cryptobyte.String(data)
	var magic, version, count uint32
	if !s.ReadUint32(&magic) || !s.ReadUint32(&version) || !s.ReadUint32(&count) {
		return nil, errors.New("header cut short")
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("unknown version %d", version)
	}
	readCert := func(c *jksCert) bool {
		c.typ = "X.509"
		if version == 2 {
			var t cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&t) {
				return false
			}
			c.typ = string(t)
		}
		return readUint32Prefixed(&s, &c.der)
	}
	f := &jksFile{}
	for i := uint32(0); i < count; i++ {
		var e jksEntry
		var alias cryptobyte.String
		var ts uint64
		if !s.ReadUint32(&e.tag) || !s.ReadUint16LengthPrefixed(&alias) || !s.ReadUint64(&ts) {
			return nil, fmt.Errorf("entry %d of %d cut short", i+1, count)
		}
		e.alias, e.created = alias, int64(ts)
		switch e.tag {
		case jksTrustedCert:
			var c jksCert
			if !readCert(&c) {
				return nil, fmt.Errorf("entry %s cut short", quoteShort(e.alias))
			}
			e.certs = []jksCert{c}
		case jksPrivateKey:
			var n uint32
			if !readUint32Prefixed(&s, &e.key) || !s.ReadUint32(&n) {
				return nil, fmt.Errorf("entry %s cut short", quoteShort(e.alias))
			}
			for j := uint32(0); j < n; j++ {
				var c jksCert
				if !readCert(&c) {
					return nil, fmt.Errorf("entry %s: certificate %d of %d cut short", quoteShort(e.alias), j+1, n)
				}
				e.certs = append(e.certs, c)
			}
		case jksSecretKey:
			return nil, errors.New("secret key entry (JCEKS only)")
		default:
			return nil, fmt.Errorf("entry %d of %d: unknown tag %d", i+1, count, e.tag)
		}
		f.entries = append(f.entries, e)
	}
	f.digestAt = len(data) - len(s)
	if !s.Skip(sha1.Size) {
		return nil, errors.New("integrity digest cut short")
	}
	f.trailing = len(s)
	return f, nil
}

// quoteShort quotes a JKS alias or certificate type for a message, cut to
// 64 bytes: a damaged length can make an alias swallow the entries that
// follow it.
func quoteShort(a []byte) string {
	const max = 64
	if len(a) > max {
		return fmt.Sprintf("%q...", a[:max])
	}
	return fmt.Sprintf("%q", a)
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

// jksPasswords returns the bytes that Java hashes for password: its UTF-16
// code units, big-endian (sun.security.provider.JavaKeyStore). For a
// password that is not ASCII, the bytes keystore-go uses (a zero byte before
// each byte of the UTF-8) follow, so that stores it wrote are read too.
func jksPasswords(password string) [][]byte {
	var java []byte
	for _, u := range utf16.Encode([]rune(password)) {
		java = append(java, byte(u>>8), byte(u))
	}
	out := [][]byte{java}
	if len(java) != 2*len(password) {
		var kg []byte
		for i := 0; i < len(password); i++ {
			kg = append(kg, 0, password[i])
		}
		out = append(out, kg)
	}
	return out
}

// jksDigestOK reports whether digest is the JKS integrity digest of body
// with password: SHA-1 of the password bytes, "Mighty Aphrodite" and the
// body.
func jksDigestOK(body, digest []byte, password string) bool {
	for _, pw := range jksPasswords(password) {
		h := sha1.New()
		h.Write(pw)
		h.Write([]byte("Mighty Aphrodite"))
		h.Write(body)
		if bytes.Equal(h.Sum(nil), digest) {
			return true
		}
	}
	return false
}

// Bounds of a plausible JKS entry creation time: 1970 to the end of 9999.
const maxJKSMillis = 253402300799999

// damage looks for what a changed byte leaves in a JKS whose integrity
// digest does not match, and describes the first it finds ("" if none): an
// alias that is not modified UTF-8, a creation time out of range, a private
// key that is not an EncryptedPrivateKeyInfo, a certificate that is not
// X.509, does not parse or whose signature does not match its content (see
// [checkCerts]), or bytes after the digest. It also reports whether some
// certificate could not be checked. Changed bytes in the digest itself, in
// the low bytes of a creation time or in an encrypted key leave no trace.
func (f *jksFile) damage() (damage string, unchecked bool) {
	var certs []storedCert
	for i, e := range f.entries {
		if !validModifiedUTF8(e.alias) {
			return fmt.Sprintf("entry %d: alias %s is not valid UTF-8", i+1, quoteShort(e.alias)), false
		}
		name := "entry " + quoteShort(e.alias)
		if e.created < 0 || e.created > maxJKSMillis {
			return fmt.Sprintf("%s: creation time out of range (%d ms since 1970)", name, e.created), false
		}
		if e.tag == jksPrivateKey && !isEncryptedPrivateKeyInfo(e.key) {
			return name + ": the private key is not an EncryptedPrivateKeyInfo", false
		}
		for j, c := range e.certs {
			what := name
			if j > 0 {
				what = fmt.Sprintf("%s, certificate %d", name, j+1)
			}
			if c.typ != "X.509" {
				return fmt.Sprintf("%s: certificate type %s, want X.509", what, quoteShort([]byte(c.typ))), false
			}
			certs = append(certs, storedCert{name: what, der: c.der})
		}
	}
	if f.trailing > 0 {
		return fmt.Sprintf("%s after the integrity digest", count(f.trailing, "byte")), false
	}
	return checkCerts(certs)
}

// validModifiedUTF8 reports whether b is Java's modified UTF-8, as
// DataInputStream.readUTF accepts it: one-, two- and three-byte sequences.
func validModifiedUTF8(b []byte) bool {
	cont := func(i int) bool { return i < len(b) && b[i]&0xc0 == 0x80 }
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c < 0x80:
			i++
		case c&0xe0 == 0xc0 && cont(i+1):
			i += 2
		case c&0xf0 == 0xe0 && cont(i+1) && cont(i+2):
			i += 3
		default:
			return false
		}
	}
	return true
}

// isEncryptedPrivateKeyInfo reports whether b is an EncryptedPrivateKeyInfo
// (RFC 5208, Section 6): SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
func isEncryptedPrivateKeyInfo(b []byte) bool {
	_, _, ok := readEncryptedPrivateKeyInfo(b)
	return ok
}

func readEncryptedPrivateKeyInfo(b []byte) (alg asn1.ObjectIdentifier, data []byte, ok bool) {
	s := cryptobyte.String(b)
	var info, algID cryptobyte.String
	var octets cryptobyte.String
	if !s.ReadASN1(&info, cbasn1.SEQUENCE) || !s.Empty() ||
		!info.ReadASN1(&algID, cbasn1.SEQUENCE) || !algID.ReadASN1ObjectIdentifier(&alg) ||
		!info.ReadASN1(&octets, cbasn1.OCTET_STRING) || !info.Empty() {
		return nil, nil, false
	}
	return alg, octets, true
}

// oidJavaKeyProtector is Sun's proprietary key protection algorithm, used
// for the private keys of a JKS.
var oidJavaKeyProtector = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 42, 2, 17, 1, 1}

// jksKeyOpens reports whether password decrypts a JKS private key protected
// with Sun's KeyProtector (sun.security.provider.KeyProtector): salt [20],
// the key XORed with a SHA-1 stream of the password and salt, and SHA-1 of
// the password and the plain key [20].
func jksKeyOpens(epki []byte, password string) bool {
	alg, enc, ok := readEncryptedPrivateKeyInfo(epki)
	if !ok || !alg.Equal(oidJavaKeyProtector) || len(enc) < 2*sha1.Size {
		return false
	}
	salt, body, check := enc[:sha1.Size], enc[sha1.Size:len(enc)-sha1.Size], enc[len(enc)-sha1.Size:]
	for _, pw := range jksPasswords(password) {
		plain := make([]byte, len(body))
		digest := salt
		for i := 0; i < len(body); i += sha1.Size {
			h := sha1.New()
			h.Write(pw)
			h.Write(digest)
			digest = h.Sum(nil)
			for j := 0; j < sha1.Size && i+j < len(body); j++ {
				plain[i+j] = body[i+j] ^ digest[j]
			}
		}
		h := sha1.New()
		h.Write(pw)
		h.Write(plain)
		if bytes.Equal(h.Sum(nil), check) {
			return true
		}
	}
	return false
}
