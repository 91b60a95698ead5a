package tlsparse

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// JA3 returns the JA3 client fingerprint string and its MD5 hex digest, as
// specified by Salesforce (github.com/salesforce/ja3):
//
//	SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
//
// Fields are decimal, list items joined by "-", GREASE values removed from
// the cipher, extension and curve lists. SSLVersion is the legacy
// client_version. Point formats are the bytes of the ec_point_formats
// extension. Empty lists give empty fields.
//
// For an SSLv2-compatible ClientHello the string carries the record's
// version and the cipher specs that name TLS suites; the three extension
// fields are empty.
func JA3(ch *ClientHello) (str, md5hex string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(ch.LegacyVersion)))
	b.WriteByte(',')
	writeDecimal(&b, ch.CipherSuites)
	b.WriteByte(',')
	writeDecimal(&b, ch.ExtensionTypes)
	b.WriteByte(',')
	writeDecimal(&b, ch.SupportedGroups)
	b.WriteByte(',')
	for i, f := range ch.ECPointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(f)))
	}
	str = b.String()
	sum := md5.Sum([]byte(str))
	return str, hex.EncodeToString(sum[:])
}

// JA3S returns the JA3S server fingerprint string and its MD5 hex digest
// (Salesforce): "SSLVersion,Cipher,Extensions" in decimal, extensions joined
// by "-" in wire order. SSLVersion is the legacy server_version.
func JA3S(sh *ServerHello) (str, md5hex string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(sh.LegacyVersion)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(sh.CipherSuite)))
	b.WriteByte(',')
	writeDecimal(&b, sh.ExtensionTypes)
	str = b.String()
	sum := md5.Sum([]byte(str))
	return str, hex.EncodeToString(sum[:])
}

// writeDecimal writes the non-GREASE values joined by "-".
func writeDecimal(b *strings.Builder, vals []uint16) {
	first := true
	for _, v := range vals {
		if IsGREASE(v) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
}

// JA4 returns the JA4 client fingerprint as specified by FoxIO
// (github.com/FoxIO-LLC/ja4, technical_details/JA4.md), for example
// "t13d1516h2_8daaf6152771_e5627efa2ab1". quic selects the "q" prefix
// instead of "t". GREASE values are ignored everywhere.
func JA4(ch *ClientHello, quic bool) string {
	f := newJA4Parts(ch, quic)
	return f.a + "_" + hash12(f.ciphers) + "_" + hash12(f.extsAndAlgs())
}

// JA4R returns the raw, unhashed JA4 fingerprint (ja4_r): part a, then the
// sorted cipher list, the sorted extension list (without SNI and ALPN) and
// the signature algorithms in wire order, separated by "_".
func JA4R(ch *ClientHello, quic bool) string {
	f := newJA4Parts(ch, quic)
	return f.a + "_" + f.ciphers + "_" + f.exts + "_" + f.algs
}

type ja4Parts struct {
	a       string
	ciphers string // sorted 4-hex-digit list
	exts    string // sorted, without SNI and ALPN
	algs    string // wire order
}

func (f ja4Parts) extsAndAlgs() string {
	if f.algs == "" {
		return f.exts
	}
	return f.exts + "_" + f.algs
}

func newJA4Parts(ch *ClientHello, quic bool) ja4Parts {
	var f ja4Parts
	var a strings.Builder
	if quic {
		a.WriteByte('q')
	} else {
		a.WriteByte('t')
	}
	a.WriteString(ja4Version(ch))

	ciphers := withoutGREASE(ch.CipherSuites)
	var exts []uint16
	sni := false
	nExts := 0
	for _, typ := range ch.ExtensionTypes {
		if IsGREASE(typ) {
			continue
		}
		nExts++
		switch typ {
		case ExtServerName:
			sni = true
		case ExtALPN:
		default:
			exts = append(exts, typ)
		}
	}
	if sni {
		a.WriteByte('d')
	} else {
		a.WriteByte('i')
	}
	a.WriteString(twoDigits(len(ciphers)))
	a.WriteString(twoDigits(nExts))
	a.WriteString(ja4ALPN(ch.ALPN))
	f.a = a.String()

	slices.Sort(ciphers)
	slices.Sort(exts)
	f.ciphers = hexList(ciphers)
	f.exts = hexList(exts)
	f.algs = hexList(withoutGREASE(ch.SignatureAlgorithms))
	return f
}

// ja4Version maps the highest non-GREASE supported_versions entry (else the
// legacy version) to the two JA4 version characters.
func ja4Version(ch *ClientHello) string {
	switch ch.MaxVersion() {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case 0x0002, 0x0200:
		return "s2"
	case 0x0100:
		return "s1"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4ALPN returns the first and last characters of the first ALPN value,
// "00" when there is none, or the first and last hex digits of the value
// when either end byte is not an ASCII letter or digit.
func ja4ALPN(alpn []string) string {
	if len(alpn) == 0 || alpn[0] == "" {
		return "00"
	}
	first, last := alpn[0][0], alpn[0][len(alpn[0])-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	if first >= 0x80 {
		// FoxIO's implementations give "99" when the value starts with a
		// byte that is not ASCII (seen in their tls-non-ascii-alpn
		// capture's expected output).
		return "99"
	}
	const digits = "0123456789abcdef"
	return string([]byte{digits[first>>4], digits[last&0x0f]})
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func twoDigits(n int) string {
	n = min(n, 99)
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

func withoutGREASE(vals []uint16) []uint16 {
	out := make([]uint16, 0, len(vals))
	for _, v := range vals {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// hexList formats values as comma-separated 4-digit lower-case hex.
func hexList(vals []uint16) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hex.EncodeToString([]byte{byte(v >> 8), byte(v)}))
	}
	return b.String()
}

// hash12 returns the first 12 hex digits of the SHA-256 of s, or
// "000000000000" when s is empty.
func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
