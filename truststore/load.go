package truststore

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
// of PEM or DER files, a Java KeyStore (JKS: trusted certificate entries and
// the certificates of private key entries) or a PKCS#12 file (Java trust
// stores, and key stores with one private key). The format is detected from
// the content.
//
// A directory is read as Go's crypto/x509 reads SSL_CERT_DIR, and as OpenSSL
// reads a -CApath directory made by openssl rehash: every file, not
// subdirectories, following symbolic links. A file reached twice (a hash
// link such as 5ed36f99.0 and the file it points to) is read once, under
// its own name rather than the hash link's. A file that cannot be read
// (permission denied, a dangling symbolic link, a named pipe) is an error,
// as when it is given by name. A readable file that holds no PEM or DER
// certificate (a README, a serial file, a key, a CRL, a key store) is
// passed over and listed in Store.Skipped, as is a certificate that does
// not parse; Store.Name counts them and [Store.Warnings] names them.
//
// password opens JKS and PKCS#12 files; the caller supplies Java's default
// ("changeit") if the user gave none. An empty password reads a JKS without
// checking its integrity, as Java does when javax.net.ssl.trustStorePassword
// is not set, and opens PKCS#12 stores written without a password. PKCS#12
// stores without integrity protection are also read when a password is
// given. When the integrity check of a key store fails, Load tells a wrong
// password ([ErrWrongPassword]) from a damaged file ([ErrCorrupt]) by
// checking the parts of the store it can check without the password.
//
// Errors are of type [*Error] and name the file: the path given, or the file
// of a directory that could not be read.
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
			var te *Error
			if errors.As(err, &te) {
				return nil, te
			}
			return nil, &Error{Path: p, Err: err}
		}
		for i := range skipped {
			skipped[i].Source = p
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
		names = append(names, describe(p, len(inFile), skipped))
	}
	s.Name = strings.Join(names, ", ")
	return s, nil
}

// loadPath loads one file or directory. The error does not name the path,
// except an [*Error] naming a file of the directory.
func loadPath(path, password string) (certs []*Cert, skipped []Skipped, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, statError(path, err)
	}
	if fi.IsDir() {
		return loadDir(path)
	}
	data, err := readFile(path, fi.Size())
	if err != nil {
		return nil, nil, err
	}
	entries, skipped, err := parse(data, filepath.Base(path), path, password)
	if err != nil {
		return nil, nil, err
	}
	certs, bad := parseEntries(entries, path)
	skipped = append(skipped, bad...)
	if len(certs) == 0 {
		if len(skipped) > 0 {
			return nil, nil, fmt.Errorf("%w (%s skipped: %s)", ErrNoCertificates, count(len(skipped), "certificate"), list(skipped, maxListedName, true))
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

// statError describes an os.Stat failure; for a dangling symbolic link it
// names the missing target.
func statError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(path); lerr == nil {
			return &fileError{"no such file (symbolic link to " + target + ", which does not exist)", err}
		}
	}
	return wrapFS(err)
}

// isHashLink reports whether name is one that openssl rehash (or c_rehash)
// gives the links it makes: eight hex digits, a dot, an optional "r" (for a
// CRL) and a number.
func isHashLink(name string) bool {
	hash, n, ok := strings.Cut(name, ".")
	if !ok || len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
		return false
	}
	n = strings.TrimPrefix(n, "r")
	return n != "" && strings.Trim(n, "0123456789") == ""
}

// loadDir loads the PEM and DER files of a directory, not recursively.
// Key stores in a directory are skipped: they need a password and are meant
// to be given by name.
func loadDir(dir string) (certs []*Cert, skipped []Skipped, err error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, wrapFS(err)
	}
	names := make([]string, len(des))
	for i, de := range des {
		names[i] = de.Name()
	}
	// Hash links last, so that a certificate is named after its own file.
	sort.Slice(names, func(i, j int) bool {
		if hi, hj := isHashLink(names[i]), isHashLink(names[j]); hi != hj {
			return hj
		}
		return names[i] < names[j]
	})
	var read []fs.FileInfo
	seen := make(map[[32]byte]bool)
	for _, name := range names {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p) // follows symlinks, as in /etc/ssl/certs
		if err != nil {
			return nil, nil, &Error{Path: p, Err: statError(p, err)}
		}
		if fi.IsDir() {
			continue
		}
		if !fi.Mode().IsRegular() {
			// Reading a named pipe would block; a socket or a device
			// holds no certificate file.
			return nil, nil, &Error{Path: p, Err: &fileError{"not a regular file (" + fileKind(fi.Mode()) + ")", fs.ErrInvalid}}
		}
		if slices.ContainsFunc(read, func(r fs.FileInfo) bool { return os.SameFile(r, fi) }) {
			continue
		}
		read = append(read, fi)
		if fi.Size() > maxFileSize {
			skipped = append(skipped, Skipped{Path: p, Reason: fmt.Sprintf("larger than %d MB", maxFileSize>>20)})
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, &Error{Path: p, Err: wrapFS(err)}
		}
		entries, err := parsePEMOrDER(data, name)
		if err != nil {
			skipped = append(skipped, Skipped{Path: p, Reason: reasonOf(err)})
			continue
		}
		cs, bad := parseEntries(entries, p)
		skipped = append(skipped, bad...)
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
		for i := range skipped {
			skipped[i].Source = dir
		}
		return nil, nil, fmt.Errorf("%w in directory (%s)", ErrNoCertificates, strings.Join(skippedParts(skipped, dir, maxListedName, true), "; "))
	}
	return certs, skipped, nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "mode " + m.String()
}

// parseEntries parses the certificates of entries, listing the ones that do
// not parse in skipped.
func parseEntries(entries []entry, file string) (certs []*Cert, skipped []Skipped) {
	for _, e := range entries {
		c, err := x509.ParseCertificate(e.der)
		if err != nil {
			skipped = append(skipped, Skipped{Path: file, Entry: e.alias, Reason: "does not parse: " + err.Error()})
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

// parse detects the format of data and returns its certificates, and the
// entries of a key store that it passed over. name is the base name of the
// file, used to make aliases for PEM and DER entries; path is the file.
func parse(data []byte, name, path, password string) (entries []entry, skipped []Skipped, err error) {
	switch {
	case len(data) == 0:
		return nil, nil, fmt.Errorf("%w (empty file)", ErrNoCertificates)
	case bytes.HasPrefix(data, magicJKS):
		es, err := parseJKS(data, password)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range es.skipped {
			k.Path = path
			skipped = append(skipped, k)
		}
		return es.anchors, skipped, nil
	case bytes.HasPrefix(data, magicJCEKS):
		return nil, nil, fmt.Errorf("%w: JCEKS key store (convert it with keytool -importkeystore -deststoretype PKCS12)", ErrUnsupported)
	case nearJKS(data):
		return nil, nil, fmt.Errorf("%w JKS keystore: magic number % x, want % x", ErrCorrupt, data[:4], magicJKS)
	case derKind(data) == kindPFX:
		entries, err = parsePKCS12(data, name, password)
		return entries, nil, err
	case data[0] != 0x30 && derKind(append([]byte{0x30}, data[1:]...)) == kindPFX:
		return nil, nil, fmt.Errorf("%w PKCS#12 file: first byte %#02x, want 0x30 (SEQUENCE)", ErrCorrupt, data[0])
	}
	entries, err = parsePEMOrDER(data, name)
	return entries, nil, err
}

// nearJKS reports whether data starts like a JKS whose magic number has one
// damaged byte: three of the four bytes of the magic, then version 1 or 2.
func nearJKS(data []byte) bool {
	if len(data) < 8 || !bytes.Equal(data[4:7], []byte{0, 0, 0}) || (data[7] != 1 && data[7] != 2) {
		return false
	}
	diff := 0
	for i, b := range magicJKS {
		if data[i] != b {
			diff++
		}
	}
	return diff == 1
}

type derKindT int

const (
	kindNone derKindT = iota
	kindPFX
	kindPKCS7
	kindOther
)

var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// derKind tells a PKCS#12 PFX (RFC 7292, Section 4: SEQUENCE { version
// INTEGER (3), authSafe ContentInfo, ... }) and a PKCS#7 ContentInfo (RFC
// 2315, Section 7: SEQUENCE { contentType OID, ... }) from other DER, such as
// a certificate (SEQUENCE { SEQUENCE, ... }). It looks only at the first
// bytes, so that a truncated file is still recognised, and not at the value
// of the version, so that a damaged one is reported as such.
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
	case bytes.HasPrefix(s, []byte{0x02, 0x01}) && len(s) > 3 && s[3] == 0x30:
		// Another version: a PFX if its authSafe is a ContentInfo
		// of type data or signedData.
		ci := s[3:]
		var hdr uint8
		if !ci.Skip(1) || !ci.ReadUint8(&hdr) || (hdr&0x80 != 0 && (hdr&0x7f > 4 || !ci.Skip(int(hdr&0x7f)))) {
			return kindOther
		}
		var oid asn1.ObjectIdentifier
		if ci.ReadASN1ObjectIdentifier(&oid) && (oid.Equal(oidData) || oid.Equal(oidSignedData)) {
			return kindPFX
		}
	case s.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER):
		var oid asn1.ObjectIdentifier
		if s.ReadASN1ObjectIdentifier(&oid) && oid.Equal(oidSignedData) {
			return kindPKCS7
		}
	}
	return kindOther
}

// noCertError is why a readable file holds no certificate that Load reads:
// err is the message when the file is given by name, reason the few words
// that name it among the skipped files of a directory.
type noCertError struct {
	err    error
	reason string
}

func (e *noCertError) Error() string { return e.err.Error() }
func (e *noCertError) Unwrap() error { return e.err }

// reasonOf returns the reason of a [noCertError], or the message of another error.
func reasonOf(err error) string {
	var nc *noCertError
	if errors.As(err, &nc) {
		return nc.reason
	}
	return err.Error()
}

var errNotCertificates = fmt.Errorf("%w (not PEM, DER, JKS or PKCS#12)", ErrNoCertificates)

// parsePEMOrDER returns the certificates of a PEM bundle or of one or more
// concatenated DER certificates.
func parsePEMOrDER(data []byte, name string) ([]entry, error) {
	if len(data) == 0 {
		return nil, &noCertError{fmt.Errorf("%w (empty file)", ErrNoCertificates), "empty file"}
	}
	if bytes.HasPrefix(data, magicJKS) || bytes.HasPrefix(data, magicJCEKS) {
		return nil, &noCertError{fmt.Errorf("%w: Java key store in a directory (give it by name)", ErrUnsupported), "a Java key store; give it by name"}
	}
	if data[0] == 0x30 {
		switch derKind(data) {
		case kindPKCS7:
			return nil, &noCertError{fmt.Errorf("%w: PKCS#7 bundle (convert it with openssl pkcs7 -print_certs)", ErrUnsupported), "a PKCS#7 bundle; convert it with openssl pkcs7 -print_certs"}
		case kindPFX:
			return nil, &noCertError{fmt.Errorf("%w: PKCS#12 file in a directory (give it by name)", ErrUnsupported), "a PKCS#12 file; give it by name"}
		}
		if der, ok := splitDER(data); ok {
			var entries []entry
			for i, d := range der {
				entries = append(entries, entry{alias: fmt.Sprintf("%s#%d", name, i), der: d})
			}
			return entries, nil
		}
		if reason := derReason(data); reason != "" {
			return nil, &noCertError{errNotCertificates, reason}
		}
	}
	if !bytes.Contains(data, []byte("-----BEGIN ")) {
		return nil, &noCertError{errNotCertificates, "not PEM or DER"}
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
			if !s.ReadASN1Element(&der, cbasn1.SEQUENCE) {
				der = b.Bytes // fails to parse, and is listed as skipped
			}
			entries = append(entries, entry{alias: fmt.Sprintf("%s#%d", name, len(entries)), der: der})
		case "PKCS7":
			return nil, &noCertError{fmt.Errorf("%w: PKCS#7 bundle (convert it with openssl pkcs7 -print_certs)", ErrUnsupported), "a PKCS#7 bundle; convert it with openssl pkcs7 -print_certs"}
		default:
			other = append(other, b.Type)
		}
	}
	if len(entries) == 0 {
		if len(other) > 0 {
			return nil, &noCertError{fmt.Errorf("%w (PEM file holds only %s blocks)", ErrNoCertificates, strings.Join(uniq(other), ", ")), pemReason(uniq(other))}
		}
		return nil, &noCertError{errNotCertificates, "no PEM block decodes"}
	}
	return entries, nil
}

// derReason describes DER data that is not a sequence of certificates: a
// CRL, a certificate that does not parse, or "" for data that is not one
// DER element.
func derReason(data []byte) string {
	s := cryptobyte.String(data)
	var el cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) || !s.Empty() {
		return ""
	}
	if _, err := x509.ParseRevocationList(data); err == nil {
		return "a CRL, no certificate"
	}
	_, err := x509.ParseCertificate(data)
	return "DER that does not parse as a certificate: " + err.Error()
}

// pemReason describes a PEM file that holds only blocks of the given types:
// "a private key, no certificate".
func pemReason(types []string) string {
	var what []string
	for _, t := range types {
		switch {
		case strings.HasSuffix(t, "PRIVATE KEY"):
			what = append(what, "a private key")
		case strings.HasSuffix(t, "CERTIFICATE REQUEST"):
			what = append(what, "a certificate request")
		case t == "X509 CRL":
			what = append(what, "a CRL")
		case strings.HasSuffix(t, "PUBLIC KEY"):
			what = append(what, "a public key")
		default:
			what = append(what, "a PEM "+t+" block")
		}
	}
	return strings.Join(uniq(what), " and ") + ", no certificate"
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
