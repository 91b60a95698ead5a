package truststore

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxFileSize caps the size of a file Load reads. The Java cacerts file is
// about 200 KB and a system PEM bundle about 250 KB; 64 MB leaves ample room.
const maxFileSize = 64 << 20

// entry is one certificate found in a file, before parsing.
type entry struct {
	alias string
	der   []byte
}

// Load reads the trust stores at paths and merges them into one [Store],
// keeping one copy of certificates found more than once (same SHA-256).
//
// Each path may be a PEM bundle (any number of CERTIFICATE blocks; other
// blocks such as private keys are ignored), a DER certificate, a directory
// of PEM or DER files (not recursive; files without certificates are listed
// in Store.Skipped), a Java KeyStore (JKS: trusted certificate entries and
// the certificate chains of private key entries) or a PKCS#12 file (Java
// trust stores, and key stores with one private key). The format is detected
// from the content.
//
// password opens JKS and PKCS#12 files; the caller supplies Java's default
// ("changeit") if the user gave none. An empty password reads a JKS without
// checking its integrity, as Java does when javax.net.ssl.trustStorePassword
// is not set, and opens PKCS#12 stores written without a password. PKCS#12
// stores without integrity protection are also read when a password is
// given.
//
// Errors are of type [*Error] and name the file.
func Load(paths []string, password string) (*Store, error) {
	if len(paths) == 0 {
		return nil, &Error{Err: errors.New("no trust store file given")}
	}
	s := &Store{}
	seen := make(map[[32]byte]bool)
	var names []string
	for _, p := range paths {
		certs, skipped, err := loadPath(p, password)
		if err != nil {
			return nil, &Error{Path: p, Err: err}
		}
		s.Files = append(s.Files, p)
		s.Skipped = append(s.Skipped, skipped...)
		inFile := make(map[[32]byte]bool, len(certs))
		for _, c := range certs {
			sum := c.SHA256()
			inFile[sum] = true
			if seen[sum] {
				continue
			}
			seen[sum] = true
			s.Certs = append(s.Certs, c)
		}
		names = append(names, p+" ("+countCerts(len(inFile))+")")
	}
	s.Name = strings.Join(names, ", ")
	return s, nil
}

// loadPath loads one file or directory. The error does not name the path.
func loadPath(path, password string) (certs []*Cert, skipped []string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, wrapFS(err)
	}
	if fi.IsDir() {
		return loadDir(path)
	}
	data, err := readFile(path, fi.Size())
	if err != nil {
		return nil, nil, err
	}
	entries, ignored, err := parse(data, filepath.Base(path), password)
	if err != nil {
		return nil, nil, err
	}
	certs, skipped = parseEntries(entries, path)
	for _, ig := range ignored {
		skipped = append(skipped, path+": "+ig)
	}
	if len(certs) == 0 {
		if len(skipped) > 0 {
			return nil, nil, fmt.Errorf("%w (%d passed over, first %s)", ErrNoCertificates, len(skipped), skipped[0])
		}
		return nil, nil, fmt.Errorf("%w (the key store has no entries)", ErrNoCertificates)
	}
	return certs, skipped, nil
}

func readFile(path string, size int64) ([]byte, error) {
	if size > maxFileSize {
		return nil, fmt.Errorf("%w: file is larger than %d MB", ErrUnsupported, maxFileSize>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, wrapFS(err)
	}
	return data, nil
}

// loadDir loads the PEM and DER files of a directory, not recursively.
// Key stores in a directory are skipped: they need a password and are meant
// to be given by name.
func loadDir(dir string) (certs []*Cert, skipped []string, err error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, wrapFS(err)
	}
	sort.Slice(des, func(i, j int) bool { return des[i].Name() < des[j].Name() })
	seen := make(map[[32]byte]bool)
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		fi, err := os.Stat(p) // follows symlinks, as in /etc/ssl/certs
		if err != nil {
			skipped = append(skipped, p+": "+wrapFS(err).Error())
			continue
		}
		if fi.IsDir() {
			continue
		}
		data, err := readFile(p, fi.Size())
		if err != nil {
			skipped = append(skipped, p+": "+err.Error())
			continue
		}
		entries, err := parsePEMOrDER(data, de.Name())
		if err != nil {
			skipped = append(skipped, p+": "+err.Error())
			continue
		}
		cs, sk := parseEntries(entries, p)
		skipped = append(skipped, sk...)
		if len(cs) == 0 {
			continue
		}
		for _, c := range cs {
			sum := c.SHA256()
			if !seen[sum] {
				seen[sum] = true
				certs = append(certs, c)
			}
		}
	}
	if len(certs) == 0 {
		if len(skipped) == 0 {
			return nil, nil, fmt.Errorf("%w (empty directory)", ErrNoCertificates)
		}
		return nil, nil, fmt.Errorf("%w in directory (%d files skipped, first %s)", ErrNoCertificates, len(skipped), skipped[0])
	}
	return certs, skipped, nil
}

// parseEntries parses the certificates of entries, listing the ones that do
// not parse in skipped.
func parseEntries(entries []entry, file string) (certs []*Cert, skipped []string) {
	for _, e := range entries {
		c, err := x509.ParseCertificate(e.der)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: entry %q: %v", file, e.alias, err))
			continue
		}
		certs = append(certs, &Cert{Cert: c, Alias: e.alias, File: file})
	}
	return certs, skipped
}

var (
	magicJKS   = []byte{0xfe, 0xed, 0xfe, 0xed}
	magicJCEKS = []byte{0xce, 0xce, 0xce, 0xce}
)

// parse detects the format of data and returns its certificates. name is
// the base name of the file, used to make aliases for PEM and DER entries.
func parse(data []byte, name, password string) (entries []entry, ignored []string, err error) {
	switch {
	case len(data) == 0:
		return nil, nil, fmt.Errorf("%w (empty file)", ErrNoCertificates)
	case bytes.HasPrefix(data, magicJKS):
		es, err := parseJKS(data, password)
		if err != nil {
			return nil, nil, err
		}
		return es.anchors, es.ignored, nil
	case bytes.HasPrefix(data, magicJCEKS):
		return nil, nil, fmt.Errorf("%w: JCEKS key store (convert it with keytool -importkeystore -deststoretype PKCS12)", ErrUnsupported)
	case derKind(data) == kindPFX:
		entries, err = parsePKCS12(data, name, password)
		return entries, nil, err
	}
	entries, err = parsePEMOrDER(data, name)
	return entries, nil, err
}

type derKindT int

const (
	kindNone derKindT = iota
	kindPFX
	kindPKCS7
	kindOther
)

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// derKind tells a PKCS#12 PFX (RFC 7292, Section 4: SEQUENCE { version
// INTEGER (3), ... }) and a PKCS#7 ContentInfo (RFC 2315, Section 7: SEQUENCE {
// contentType OID, ... }) from other DER, such as a certificate (SEQUENCE {
// SEQUENCE, ... }). It looks only at the first bytes, so that a truncated
// file is still recognised.
func derKind(data []byte) derKindT {
	s := cryptobyte.String(data)
	var tag uint8
	var n uint8
	if !s.ReadUint8(&tag) || tag != 0x30 || !s.ReadUint8(&n) {
		return kindNone
	}
	if n&0x80 != 0 { // long form: skip the length octets
		if n&0x7f > 4 || !s.Skip(int(n&0x7f)) {
			return kindNone
		}
	}
	switch {
	case bytes.HasPrefix(s, []byte{0x02, 0x01, 0x03}):
		return kindPFX
	case s.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER):
		var oid asn1.ObjectIdentifier
		if s.ReadASN1ObjectIdentifier(&oid) && oid.Equal(oidSignedData) {
			return kindPKCS7
		}
	}
	return kindOther
}

var errNotCertificates = fmt.Errorf("%w (not PEM, DER, JKS or PKCS#12)", ErrNoCertificates)

// parsePEMOrDER returns the certificates of a PEM bundle or of one or more
// concatenated DER certificates.
func parsePEMOrDER(data []byte, name string) ([]entry, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w (empty file)", ErrNoCertificates)
	}
	if bytes.HasPrefix(data, magicJKS) || bytes.HasPrefix(data, magicJCEKS) {
		return nil, fmt.Errorf("%w: Java key store in a directory (give it by name)", ErrUnsupported)
	}
	if data[0] == 0x30 {
		switch derKind(data) {
		case kindPKCS7:
			return nil, fmt.Errorf("%w: PKCS#7 bundle (convert it with openssl pkcs7 -print_certs)", ErrUnsupported)
		case kindPFX:
			return nil, fmt.Errorf("%w: PKCS#12 file in a directory (give it by name)", ErrUnsupported)
		}
		if der, ok := splitDER(data); ok {
			var entries []entry
			for i, d := range der {
				entries = append(entries, entry{alias: fmt.Sprintf("%s#%d", name, i), der: d})
			}
			return entries, nil
		}
	}
	if !bytes.Contains(data, []byte("-----BEGIN ")) {
		return nil, errNotCertificates
	}
	var entries []entry
	var other []string
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE", "X509 CERTIFICATE":
			entries = append(entries, entry{alias: fmt.Sprintf("%s#%d", name, len(entries)), der: b.Bytes})
		case "TRUSTED CERTIFICATE":
			// OpenSSL's trusted certificate: the certificate followed by
			// its trust settings, which a Java or Go client ignores.
			s := cryptobyte.String(b.Bytes)
			var der cryptobyte.String
			if s.ReadASN1Element(&der, cbasn1.SEQUENCE) {
				entries = append(entries, entry{alias: fmt.Sprintf("%s#%d", name, len(entries)), der: der})
			}
		case "PKCS7":
			return nil, fmt.Errorf("%w: PKCS#7 bundle (convert it with openssl pkcs7 -print_certs)", ErrUnsupported)
		default:
			other = append(other, b.Type)
		}
	}
	if len(entries) == 0 {
		if len(other) > 0 {
			return nil, fmt.Errorf("%w (PEM file holds only %s blocks)", ErrNoCertificates, strings.Join(uniq(other), ", "))
		}
		return nil, errNotCertificates
	}
	return entries, nil
}

// splitDER splits data into the DER elements it is made of and reports
// whether it is exactly a sequence of certificates.
func splitDER(data []byte) ([][]byte, bool) {
	s := cryptobyte.String(data)
	var out [][]byte
	for !s.Empty() {
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
			return nil, false
		}
		if _, err := x509.ParseCertificate(el); err != nil {
			return nil, false
		}
		out = append(out, el)
	}
	return out, len(out) > 0
}

func uniq(ss []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
