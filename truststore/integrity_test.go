package truststore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// offset returns where sub, a slice of data, starts in data.
func offset(data, sub []byte) int { return cap(data) - cap(sub) }

// pfxParts returns the MAC digest of a PFX and the encrypted bytes of its
// first encryptedData part (RFC 7292, Section 4), as slices of data.
func pfxParts(t testing.TB, data []byte) (mac, encrypted []byte) {
	t.Helper()
	s := cryptobyte.String(data)
	var pfx, authSafe, explicit, octets, macData, digestInfo, digest cryptobyte.String
	if !s.ReadASN1(&pfx, cbasn1.SEQUENCE) || !pfx.SkipASN1(cbasn1.INTEGER) ||
		!pfx.ReadASN1(&authSafe, cbasn1.SEQUENCE) || !authSafe.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!authSafe.ReadASN1(&explicit, tagExplicit0) || !explicit.ReadASN1(&octets, cbasn1.OCTET_STRING) ||
		!pfx.ReadASN1(&macData, cbasn1.SEQUENCE) || !macData.ReadASN1(&digestInfo, cbasn1.SEQUENCE) ||
		!digestInfo.SkipASN1(cbasn1.SEQUENCE) || !digestInfo.ReadASN1(&digest, cbasn1.OCTET_STRING) {
		t.Fatal("not a PFX with a MAC")
	}
	var safe cryptobyte.String
	if !octets.ReadASN1(&safe, cbasn1.SEQUENCE) {
		t.Fatal("no authenticated safe")
	}
	for !safe.Empty() {
		var ci, content, ed, eci, enc cryptobyte.String
		if !safe.ReadASN1(&ci, cbasn1.SEQUENCE) {
			t.Fatal("bad ContentInfo")
		}
		var o cryptobyte.String
		if !ci.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) || !ci.ReadASN1(&content, tagExplicit0) {
			t.Fatal("bad ContentInfo")
		}
		if !bytes.Equal(o, []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06}) { // encryptedData
			continue
		}
		if !content.ReadASN1(&ed, cbasn1.SEQUENCE) || !ed.SkipASN1(cbasn1.INTEGER) || !ed.ReadASN1(&eci, cbasn1.SEQUENCE) ||
			!eci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !eci.SkipASN1(cbasn1.SEQUENCE) || !eci.ReadASN1(&enc, tagImplicit0) {
			t.Fatal("bad EncryptedData")
		}
		return digest, enc
	}
	t.Fatal("no encryptedData part")
	return nil, nil
}

// keyJKS returns a JKS holding one private key entry, "server", whose key
// is protected with keyPassword, and the store with storePassword.
func keyJKS(t *testing.T, p *pki, storePassword, keyPassword string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.New()
	err = ks.SetPrivateKeyEntry("server", keystore.PrivateKeyEntry{
		CreationTime:     testTime,
		PrivateKey:       pkcs8,
		CertificateChain: []keystore.Certificate{{Type: "X.509", Content: p.leaf.Raw}, {Type: "X.509", Content: p.inter.Raw}, {Type: "X.509", Content: p.root.Raw}},
	}, []byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(storePassword)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestKeyStoreIntegrity: when the integrity check of a key store fails, a
// wrong password is reported as such (with the password hint in the
// command), a damaged file as corrupted, and a file whose damage cannot be
// told from a wrong password as both.
func TestKeyStoreIntegrity(t *testing.T) {
	p := newPKI(t)
	jks := jksOf(t, "changeit", p.root, p.other) // entries "other root ca", "test root ca"
	rootAt := bytes.Index(jks, p.root.Raw)
	keys := keyJKS(t, p, "changeit", "changeit")
	otherKeyPassword := keyJKS(t, p, "changeit", "keypass")
	p12 := p12Of(t, "changeit", p.root, p.other)
	mac, enc := pfxParts(t, p12)
	des, err := pkcs12.LegacyDES.EncodeTrustStore([]*x509.Certificate{p.root}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		data     []byte
		password string
		is       error
		msg      string // the start of the message after "truststore: <path>: "
	}{
		{"jks: wrong password", jks, "wrong", ErrWrongPassword, "wrong password (keystore integrity check failed; the entries look intact)"},
		{"jks: magic", flip(jks, 1), "changeit", ErrCorrupt, "corrupted JKS keystore: magic number fe 12 fe ed, want fe ed fe ed"},
		{"jks: version", flip(jks, 7), "changeit", ErrCorrupt, "corrupted JKS keystore: unknown version 253"},
		{"jks: entry count", flip(jks, 11), "changeit", ErrCorrupt, "corrupted JKS keystore: entry 3 of 253"},
		{"jks: alias", flip(jks, 18), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry 1: alias "\x90ther root ca" is not valid UTF-8`},
		{"jks: creation time", flip(jks, 31), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "other root ca": creation time out of range (`},
		{"jks: certificate structure", flip(jks, rootAt+1), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "test root ca": the certificate does not parse: x509: `},
		{"jks: certificate signature", flip(jks, rootAt+len(p.root.Raw)-1), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "test root ca" (CN=Test Root CA): the certificate's signature does not match its content`},
		{"jks: certificate issuer", flip(jks, rootAt+bytes.Index(p.root.Raw, []byte("Test Root CA"))), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "test root ca": the certificate does not parse: x509: invalid RDNSequence`},
		// A bit of the issuer's name: the certificate parses and no
		// longer looks self-signed, and its issuer is not in the store.
		{"jks: certificate issuer, one bit", flipBit(jks, rootAt+bytes.Index(p.root.Raw, []byte("Test Root CA")), 0x20), "changeit", ErrWrongPassword, "wrong password, or the file is corrupted (keystore integrity check failed)"},
		// The digest itself: nothing tells a changed digest from a
		// wrong password.
		{"jks: digest", flip(jks, len(jks)-1), "changeit", ErrWrongPassword, "wrong password (keystore integrity check failed; the entries look intact)"},
		{"jks: bytes after the digest, wrong password", append(jks[:len(jks):len(jks)], 0), "wrong", ErrCorrupt, "corrupted JKS keystore (integrity check failed): 1 byte after the integrity digest"},
		{"jks key: wrong password", keys, "wrong", ErrWrongPassword, "wrong password, or the file is corrupted (keystore integrity check failed)"},
		{"jks key: digest", flip(keys, len(keys)-1), "changeit", ErrCorrupt, `corrupted JKS keystore: the integrity check failed although the password opens the private key of entry "server"`},
		{"jks key, other key password: digest", flip(otherKeyPassword, len(otherKeyPassword)-1), "changeit", ErrWrongPassword, "wrong password, or the file is corrupted (keystore integrity check failed)"},
		{"jks key: own certificate", flip(keys, bytes.Index(keys, p.leaf.Raw)+len(p.leaf.Raw)-1), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "server" (CN=server.test): the certificate's signature does not match its content`},
		{"jks key: chain certificate", flip(keys, bytes.Index(keys, p.inter.Raw)+len(p.inter.Raw)-1), "changeit", ErrCorrupt, `corrupted JKS keystore (integrity check failed): entry "server", certificate 2 (CN=Test Intermediate CA): the certificate's signature does not match its content`},

		{"p12: wrong password", p12, "wrong", ErrWrongPassword, "wrong password (PKCS#12 MAC check failed, and the password does not decrypt the contents)"},
		{"p12: first byte", flip(p12, 0), "changeit", ErrCorrupt, "corrupted PKCS#12 file: first byte 0xcf, want 0x30 (SEQUENCE)"},
		{"p12: version", flip(p12, 6), "changeit", ErrCorrupt, "corrupted PKCS#12 file: PFX version -4, want 3"},
		{"p12: content type", flip(p12, 20), "changeit", ErrCorrupt, "corrupted PKCS#12 file: the authenticated safe has content type 1.2.840.113549.1.15361, want data"},
		{"p12: MAC", flip(p12, offset(p12, mac)), "changeit", ErrCorrupt, "corrupted PKCS#12 file: the MAC check failed although the password decrypts the contents"},
		{"p12: first encrypted block", flip(p12, offset(p12, enc)), "changeit", ErrCorrupt, "corrupted PKCS#12 file (MAC check failed): the encrypted part 1 decrypts with the password, but its first block does not"},
		{"p12: encrypted certificates", flip(p12, offset(p12, enc)+len(enc)/2), "changeit", ErrCorrupt, "corrupted PKCS#12 file (MAC check failed): "},
		{"p12: last encrypted block", flip(p12, offset(p12, enc)+len(enc)-1), "changeit", ErrCorrupt, "corrupted PKCS#12 file (MAC check failed): "},
		{"p12 3DES: wrong password", des, "wrong", ErrWrongPassword, "wrong password, or the file is corrupted (PKCS#12 MAC check failed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "store", tt.data)
			s, err := Load([]string{path}, tt.password)
			if err == nil {
				t.Fatalf("Load succeeded: %s", s.Name)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.is == ErrCorrupt && errors.Is(err, ErrWrongPassword) {
				t.Errorf("%v is also ErrWrongPassword", err)
			}
			if prefix := "truststore: " + path + ": " + tt.msg; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error = %q\nwant prefix %q", err, prefix)
			}
		})
	}

	// Java ignores bytes after the digest.
	path := writeFile(t, t.TempDir(), "trailing.jks", append(jks[:len(jks):len(jks)], 0))
	if _, err := Load([]string{path}, "changeit"); err != nil {
		t.Errorf("JKS with a byte after its digest: %v", err)
	}
}

// TestJKSPasswordEncoding: Java hashes the password's UTF-16 code units;
// keystore-go, which WriteJKS uses, a zero byte and each byte of its UTF-8.
// Both are read.
func TestJKSPasswordEncoding(t *testing.T) {
	p := newPKI(t)
	kg := writeFile(t, t.TempDir(), "kg.jks", jksOf(t, "pässwört", p.root))
	if _, err := Load([]string{kg}, "pässwört"); err != nil {
		t.Errorf("keystore-go's encoding: %v", err)
	}
	if got := jksPasswords("pä€"); len(got) != 2 || !bytes.Equal(got[0], []byte{0, 'p', 0, 0xe4, 0x20, 0xac}) {
		t.Errorf("jksPasswords = % x", got)
	}
}

// flipBit returns a copy of b with the bits of mask flipped in byte i.
func flipBit(b []byte, i int, mask byte) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= mask
	return c
}

// TestEveryByteFlipped changes each byte of a JKS and of a PKCS#12 store in
// turn and loads it with the right password. What still loads (a changed
// tag that go-pkcs12 does not check) holds both certificates, and the plain
// "wrong password" claim is made for a JKS only where a changed byte leaves
// no trace: the digest and the low bytes of an entry's creation time.
func TestEveryByteFlipped(t *testing.T) {
	p := newPKI(t)
	jks := jksOf(t, "changeit", p.root, p.other)
	undetectable := make(map[int]bool)
	for i := len(jks) - 20; i < len(jks); i++ {
		undetectable[i] = true
	}
	for _, alias := range []string{"other root ca", "test root ca"} {
		ts := bytes.Index(jks, []byte(alias)) + len(alias)
		for i := ts + 3; i < ts+8; i++ {
			undetectable[i] = true
		}
	}
	p12 := p12Of(t, "changeit", p.root, p.other)
	for _, tt := range []struct {
		name string
		data []byte
	}{{"jks", jks}, {"p12", p12}} {
		claims := 0
		for i := range tt.data {
			entries, _, err := parse(flip(tt.data, i), "x", "x", "changeit")
			if err == nil {
				if len(entries) != 2 {
					t.Errorf("%s, byte %d changed: loads %d entries", tt.name, i, len(entries))
				}
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "wrong password (") {
				continue
			}
			claims++
			if tt.name == "jks" && !undetectable[i] {
				t.Errorf("%s, byte %d changed: %v", tt.name, i, err)
			}
			if strings.Contains(msg, "look intact") && tt.name == "p12" {
				t.Errorf("%s, byte %d changed: %v (its certificates are encrypted)", tt.name, i, err)
			}
		}
		t.Logf("%s: %d of %d changed bytes claim a wrong password", tt.name, claims, len(tt.data))
	}
}
