package truststore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"hash"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of PKCS#12 (RFC 7292), PKCS#7 (RFC 2315) and PKCS#5
// (RFC 8018) that checkPFX reads.
var (
	oidEnvelopedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidEncryptedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509Certificate = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidPBES2           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA224  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	tagExplicit0       = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagImplicit0       = cbasn1.Tag(0).ContextSpecific()
)

// maxSafeContentsNest caps the nesting of SafeContents bags that checkPFX follows.
const maxSafeContentsNest = 4

// pfxCheck is what checkPFX finds in a PKCS#12 file whose MAC does not
// match the password.
type pfxCheck struct {
	// damage describes the first sign of a changed byte: a structure
	// or a certificate that does not parse, or a self-signed
	// certificate whose signature does not verify. "" if none.
	damage string
	// opened reports whether the password decrypts an encrypted part
	// (its plaintext starts as the expected structure), which a wrong
	// password does not do.
	opened bool
	// closed reports whether the password failed to decrypt an
	// encrypted part.
	closed bool
	// unchecked reports whether a part is encrypted with a scheme that
	// checkPFX does not decrypt (anything but PBES2 with AES-CBC).
	unchecked bool
	certs     []storedCert
}

// checkPFX looks for damage in a PFX (RFC 7292, Section 4) whose MAC does
// not match: it parses the structure, decrypts the parts encrypted with
// PBES2 (keytool, OpenSSL 3 and go-pkcs12 write these) and checks the
// certificates.
func checkPFX(data []byte, password string) pfxCheck {
	c := &pfxChecker{password: password}
	c.pfx(data)
	if c.damage == "" {
		d, unchecked := checkCerts(c.certs)
		c.damage, c.unchecked = d, c.unchecked || unchecked
	}
	return c.pfxCheck
}

type pfxChecker struct {
	password string
	pfxCheck
}

func (c *pfxChecker) fail(format string, args ...any) {
	if c.damage == "" {
		c.damage = fmt.Sprintf(format, args...)
	}
}

// pfx reads PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo,
// macData MacData OPTIONAL }.
func (c *pfxChecker) pfx(data []byte) {
	s := cryptobyte.String(data)
	var pfx, authSafe, explicit, octets cryptobyte.String
	var version int64
	var oid asn1.ObjectIdentifier
	switch {
	case !s.ReadASN1(&pfx, cbasn1.SEQUENCE) || !s.Empty():
		c.fail("the file is not one DER structure")
	case !pfx.ReadASN1Integer(&version) || version != 3:
		c.fail("the PFX version is not 3")
	case !pfx.ReadASN1(&authSafe, cbasn1.SEQUENCE) || !authSafe.ReadASN1ObjectIdentifier(&oid) ||
		!authSafe.ReadASN1(&explicit, tagExplicit0) || !authSafe.Empty():
		c.fail("the authenticated safe does not parse")
	case oid.Equal(oidSignedData):
		c.unchecked = true // public-key integrity mode
	case !oid.Equal(oidData):
		c.fail("the authenticated safe has content type %v, want data", oid)
	case !explicit.ReadASN1(&octets, cbasn1.OCTET_STRING) || !explicit.Empty():
		c.fail("the authenticated safe does not parse")
	case !pfx.Empty() && !readMacData(&pfx):
		c.fail("the MAC data does not parse")
	default:
		c.authenticatedSafe(octets)
	}
}

// readMacData reads MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET
// STRING, iterations INTEGER DEFAULT 1 } and reports whether it is all there
// is in s.
func readMacData(s *cryptobyte.String) bool {
	var md, di, alg, digest, salt cryptobyte.String
	if !s.ReadASN1(&md, cbasn1.SEQUENCE) || !s.Empty() ||
		!md.ReadASN1(&di, cbasn1.SEQUENCE) || !di.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!di.ReadASN1(&digest, cbasn1.OCTET_STRING) || !di.Empty() ||
		!md.ReadASN1(&salt, cbasn1.OCTET_STRING) {
		return false
	}
	var iter int64
	return md.Empty() || (md.ReadASN1Integer(&iter) && md.Empty())
}

// authenticatedSafe reads AuthenticatedSafe ::= SEQUENCE OF ContentInfo,
// each of type data or encryptedData.
func (c *pfxChecker) authenticatedSafe(b []byte) {
	s := cryptobyte.String(b)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		c.fail("the authenticated safe does not parse")
		return
	}
	for i := 1; !seq.Empty(); i++ {
		var ci, content, octets cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&oid) ||
			!ci.ReadASN1(&content, tagExplicit0) || !ci.Empty() {
			c.fail("part %d of the authenticated safe does not parse", i)
			return
		}
		switch {
		case oid.Equal(oidData):
			if !content.ReadASN1(&octets, cbasn1.OCTET_STRING) || !content.Empty() {
				c.fail("part %d of the authenticated safe does not parse", i)
				return
			}
			c.safeContents(octets, 0)
		case oid.Equal(oidEncryptedData):
			c.encryptedData(content, i)
		case oid.Equal(oidEnvelopedData):
			c.unchecked = true // public-key privacy mode
		default:
			c.fail("part %d of the authenticated safe has content type %v", i, oid)
			return
		}
	}
}

// encryptedData reads EncryptedData ::= SEQUENCE { version INTEGER,
// encryptedContentInfo SEQUENCE { contentType OID,
// contentEncryptionAlgorithm AlgorithmIdentifier, encryptedContent [0]
// IMPLICIT OCTET STRING }, ... } (RFC 5652, Section 8), and checks the
// SafeContents it holds if the password decrypts it.
func (c *pfxChecker) encryptedData(content cryptobyte.String, part int) {
	var ed, eci, alg, enc cryptobyte.String
	var version int64
	var typ asn1.ObjectIdentifier
	if !content.ReadASN1(&ed, cbasn1.SEQUENCE) || !content.Empty() || !ed.ReadASN1Integer(&version) ||
		!ed.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&typ) ||
		!eci.ReadASN1Element(&alg, cbasn1.SEQUENCE) || !eci.ReadASN1(&enc, tagImplicit0) || !eci.Empty() {
		c.fail("the encrypted part %d does not parse", part)
		return
	}
	if plain := c.decrypt(alg, enc, fmt.Sprintf("the encrypted part %d", part)); plain != nil {
		c.safeContents(plain, 0)
	}
}

// safeContents reads SafeContents ::= SEQUENCE OF SafeBag, SafeBag ::=
// SEQUENCE { bagId OID, bagValue [0] EXPLICIT, bagAttributes SET OPTIONAL }.
func (c *pfxChecker) safeContents(b []byte, depth int) {
	s := cryptobyte.String(b)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		c.fail("a list of bags does not parse")
		return
	}
	for !seq.Empty() {
		var bag, value, attrs cryptobyte.String
		var id asn1.ObjectIdentifier
		if !seq.ReadASN1(&bag, cbasn1.SEQUENCE) || !bag.ReadASN1ObjectIdentifier(&id) ||
			!bag.ReadASN1(&value, tagExplicit0) ||
			(!bag.Empty() && (!bag.ReadASN1(&attrs, cbasn1.SET) || !bag.Empty() || !readAttributes(attrs))) {
			c.fail("a bag does not parse")
			return
		}
		switch {
		case id.Equal(oidCertBag):
			c.certBag(value)
		case id.Equal(oidShroudedKeyBag):
			var epki, alg, enc cryptobyte.String
			if !value.ReadASN1(&epki, cbasn1.SEQUENCE) || !value.Empty() ||
				!epki.ReadASN1Element(&alg, cbasn1.SEQUENCE) || !epki.ReadASN1(&enc, cbasn1.OCTET_STRING) || !epki.Empty() {
				c.fail("a private key bag does not parse")
				return
			}
			c.decrypt(alg, enc, "a private key")
		case id.Equal(oidKeyBag):
			var pki cryptobyte.String
			if !value.ReadASN1(&pki, cbasn1.SEQUENCE) || !value.Empty() {
				c.fail("a private key bag does not parse")
				return
			}
		case id.Equal(oidSafeContentsBag) && depth < maxSafeContentsNest:
			c.safeContents(value, depth+1)
		}
	}
}

// readAttributes reads SET OF SEQUENCE { attrId OID, attrValues SET }.
func readAttributes(s cryptobyte.String) bool {
	for !s.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !s.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return false
		}
	}
	return true
}

// certBag reads CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT
// OCTET STRING } and checks an X.509 certificate.
func (c *pfxChecker) certBag(value cryptobyte.String) {
	var cb, explicit, der cryptobyte.String
	var id asn1.ObjectIdentifier
	if !value.ReadASN1(&cb, cbasn1.SEQUENCE) || !value.Empty() || !cb.ReadASN1ObjectIdentifier(&id) ||
		!cb.ReadASN1(&explicit, tagExplicit0) || !cb.Empty() ||
		!explicit.ReadASN1(&der, cbasn1.OCTET_STRING) || !explicit.Empty() {
		c.fail("a certificate bag does not parse")
		return
	}
	if !id.Equal(oidX509Certificate) {
		return
	}
	c.certs = append(c.certs, storedCert{name: fmt.Sprintf("certificate %d", len(c.certs)+1), der: der})
}

// decrypt decrypts data encrypted with PBES2 (RFC 8018, Section 6.2) using
// PBKDF2 and AES-CBC, the scheme of keytool, OpenSSL 3 and go-pkcs12. It
// returns the plaintext if the password decrypts data into one DER
// SEQUENCE followed by CBC padding, and records the outcome. The password
// is used as UTF-8, as those writers do. what names data in a damage
// report.
func (c *pfxChecker) decrypt(alg cryptobyte.String, data []byte, what string) []byte {
	var algOID, kdfOID, prfOID, encOID asn1.ObjectIdentifier
	var algID, params, kdf, kdfParams, encScheme, salt, iv, prf cryptobyte.String
	var iter int64
	if !alg.ReadASN1(&algID, cbasn1.SEQUENCE) || !alg.Empty() || !algID.ReadASN1ObjectIdentifier(&algOID) {
		c.fail("the encryption algorithm of %s does not parse", what)
		return nil
	}
	if !algOID.Equal(oidPBES2) {
		c.unchecked = true
		return nil
	}
	if !algID.ReadASN1(&params, cbasn1.SEQUENCE) || !algID.Empty() ||
		!params.ReadASN1(&kdf, cbasn1.SEQUENCE) || !params.ReadASN1(&encScheme, cbasn1.SEQUENCE) || !params.Empty() ||
		!kdf.ReadASN1ObjectIdentifier(&kdfOID) || !kdf.ReadASN1(&kdfParams, cbasn1.SEQUENCE) || !kdf.Empty() ||
		!encScheme.ReadASN1ObjectIdentifier(&encOID) || !encScheme.ReadASN1(&iv, cbasn1.OCTET_STRING) || !encScheme.Empty() {
		c.fail("the encryption parameters of %s do not parse", what)
		return nil
	}
	var keyLen int
	switch {
	case encOID.Equal(oidAES128CBC):
		keyLen = 16
	case encOID.Equal(oidAES192CBC):
		keyLen = 24
	case encOID.Equal(oidAES256CBC):
		keyLen = 32
	}
	if !kdfOID.Equal(oidPBKDF2) || keyLen == 0 {
		c.unchecked = true
		return nil
	}
	// PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount
	// INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier
	// DEFAULT hmacWithSHA1 }
	prfOID = oidHMACWithSHA1
	var optLen int64
	if !kdfParams.ReadASN1(&salt, cbasn1.OCTET_STRING) || !kdfParams.ReadASN1Integer(&iter) ||
		(kdfParams.PeekASN1Tag(cbasn1.INTEGER) && !kdfParams.ReadASN1Integer(&optLen)) ||
		(kdfParams.PeekASN1Tag(cbasn1.SEQUENCE) && (!kdfParams.ReadASN1(&prf, cbasn1.SEQUENCE) || !prf.ReadASN1ObjectIdentifier(&prfOID))) ||
		!kdfParams.Empty() || iter < 1 {
		c.fail("the key derivation parameters of %s do not parse", what)
		return nil
	}
	var h func() hash.Hash
	switch {
	case prfOID.Equal(oidHMACWithSHA1):
		h = sha1.New
	case prfOID.Equal(oidHMACWithSHA224):
		h = sha256.New224
	case prfOID.Equal(oidHMACWithSHA256):
		h = sha256.New
	case prfOID.Equal(oidHMACWithSHA384):
		h = sha512.New384
	case prfOID.Equal(oidHMACWithSHA512):
		h = sha512.New
	}
	if h == nil || iter > maxIterations {
		c.unchecked = true
		return nil
	}
	if len(iv) != aes.BlockSize || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		c.fail("the encrypted bytes of %s do not fit AES-CBC", what)
		return nil
	}
	key, err := pbkdf2.Key(h, c.password, salt, int(iter), keyLen)
	if err != nil {
		c.unchecked = true
		return nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		c.unchecked = true
		return nil
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	// A wrong key makes the first block random: the chance that it
	// starts a SEQUENCE that ends where the padding can begin is about
	// one in a million. A changed byte later in the ciphertext garbles
	// only the block it is in and the next.
	s := cryptobyte.String(plain)
	var el cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) || len(s) < 1 || len(s) > aes.BlockSize {
		if hasKnownOID(plain) {
			// The right key, and a changed byte in the IV or the
			// first block.
			c.opened = true
			c.fail("%s decrypts with the password, but its first block does not", what)
			return nil
		}
		c.closed = true
		return nil
	}
	c.opened = true
	pad := plain[len(plain)-1]
	if int(pad) != len(s) {
		c.fail("%s decrypts with the password, but its last block does not (the padding is wrong)", what)
		return nil
	}
	for _, b := range s {
		if b != pad {
			c.fail("%s decrypts with the password, but its last block does not (the padding is wrong)", what)
			return nil
		}
	}
	return el
}

// knownOIDs are the DER encodings (tag, length, value) of object identifiers
// that the plaintext of a PKCS#12 encrypted part holds: bag types,
// attributes, the certificate type, key algorithms. Random bytes hold one of
// these 9- to 13-byte strings with a chance of about 2^-60.
var knownOIDs = func() [][]byte {
	var out [][]byte
	for _, oid := range []asn1.ObjectIdentifier{
		oidCertBag, oidShroudedKeyBag, oidKeyBag, oidX509Certificate,
		{1, 2, 840, 113549, 1, 9, 20},         // friendlyName
		{1, 2, 840, 113549, 1, 9, 21},         // localKeyID
		{2, 16, 840, 1, 113894, 746875, 1, 1}, // Java's trusted-certificate attribute
		{1, 2, 840, 113549, 1, 1, 1},          // rsaEncryption
		{1, 2, 840, 10045, 2, 1},              // id-ecPublicKey
	} {
		der, err := asn1.Marshal(oid)
		if err != nil {
			panic(err)
		}
		out = append(out, der)
	}
	return out
}()

// hasKnownOID reports whether b contains one of knownOIDs.
func hasKnownOID(b []byte) bool {
	for _, oid := range knownOIDs {
		if bytes.Contains(b, oid) {
			return true
		}
	}
	return false
}
