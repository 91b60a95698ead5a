package truststore

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Skipped is a file of a directory, or a certificate of a file, that [Load]
// passed over.
type Skipped struct {
	// Source is the path given to Load that led to the file.
	Source string
	// Path is the file: Source itself, or a file of the directory Source.
	Path string
	// Entry is the alias of the certificate passed over ("ca.pem#2", or a
	// JKS alias), or "" when the whole file was passed over.
	Entry string
	// Reason says why in a few words, for example "not PEM or DER" or
	// "a private key, no certificate".
	Reason string
}

// name is how a list shows the skipped file or certificate: its alias, or
// the file's name within the directory given to Load.
func (k Skipped) name() string {
	if k.Entry != "" {
		return k.Entry
	}
	if rel, err := filepath.Rel(k.Source, k.Path); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
		return rel
	}
	return k.Path
}

// Limits on how many skipped files a warning line and a store's Name list;
// the rest are counted ("and 4 more").
const (
	maxListedWarning = 8
	maxListedName    = 3
)

// Warnings returns one line for each path given to [Load] from which files
// or certificates were passed over, naming each with the reason, for
// example:
//
//	truststore ca/: skipped 2 files that hold no PEM or DER certificate: README (not PEM or DER), key.pem (a private key, no certificate)
//
// It returns nil when nothing was passed over.
func (s *Store) Warnings() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, src := range sources(s.Skipped) {
		files, certs := split(s.Skipped, src)
		var parts []string
		if len(files) > 0 {
			parts = append(parts, fmt.Sprintf("skipped %s that hold%s no PEM or DER certificate: %s",
				count(len(files), "file"), verbS(len(files)), list(files, maxListedWarning, true)))
		}
		if len(certs) > 0 {
			parts = append(parts, fmt.Sprintf("skipped %s: %s", count(len(certs), "certificate"), list(certs, maxListedWarning, true)))
		}
		out = append(out, "truststore "+src+": "+strings.Join(parts, "; "))
	}
	return out
}

// describe returns the Name of one path given to Load: the path, the number
// of certificates, and what was skipped, for example
// "ca/ (3 certificates; 2 files skipped: README, key.pem)".
func describe(path string, certs int, skipped []Skipped) string {
	parts := append([]string{countCerts(certs)}, skippedParts(skipped, path, maxListedName, false)...)
	return path + " (" + strings.Join(parts, "; ") + ")"
}

// skippedParts counts and lists the files, then the certificates, skipped
// from source: "2 files skipped: README, key.pem".
func skippedParts(skipped []Skipped, source string, max int, reasons bool) []string {
	var parts []string
	files, certs := split(skipped, source)
	if len(files) > 0 {
		parts = append(parts, count(len(files), "file")+" skipped: "+list(files, max, reasons))
	}
	if len(certs) > 0 {
		parts = append(parts, count(len(certs), "certificate")+" skipped: "+list(certs, max, reasons))
	}
	return parts
}

// sources returns the distinct Sources of skipped, in order.
func sources(skipped []Skipped) []string {
	var out []string
	seen := make(map[string]bool)
	for _, k := range skipped {
		if !seen[k.Source] {
			seen[k.Source] = true
			out = append(out, k.Source)
		}
	}
	return out
}

// split returns the skipped files and the skipped certificates of source.
func split(skipped []Skipped, source string) (files, certs []Skipped) {
	for _, k := range skipped {
		switch {
		case k.Source != source:
		case k.Entry == "":
			files = append(files, k)
		default:
			certs = append(certs, k)
		}
	}
	return files, certs
}

// list names the first max of ks, with their reasons if reasons is set:
// "README (not PEM or DER), key.pem (a private key, no certificate) and 3
// more".
func list(ks []Skipped, max int, reasons bool) string {
	var b strings.Builder
	for i, k := range ks {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(ks)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.name())
		if reasons {
			b.WriteString(" (" + k.Reason + ")")
		}
	}
	return b.String()
}

// count returns "1 file" or "N files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// verbS returns the "s" of "holds" for a count of one.
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
