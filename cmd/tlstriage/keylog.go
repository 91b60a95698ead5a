package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/tlstriage/tlstriage/capture"
	"github.com/tlstriage/tlstriage/tlsdecrypt"
)

// loadKeyLogs reads the --keylog files into keys. A file that cannot be
// read, or that is not empty and holds no usable line, is an error; lines
// not understood are warned about.
func loadKeyLogs(keys *tlsdecrypt.KeyLog, paths []string, stderr io.Writer) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("--keylog %w", err)
		}
		res, err := keys.Parse(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--keylog %s: %w", p, err)
		}
		if res.Secrets == 0 && res.Ignored == 0 && res.Skipped > 0 {
			return fmt.Errorf("--keylog %s: not an NSS key log (no CLIENT_RANDOM or *_TRAFFIC_SECRET line; %s)", p, res.Issues[0])
		}
		if res.Skipped > 0 {
			warnf(stderr, "--keylog %s: %d lines not understood, skipped (%s)", p, res.Skipped, res.Issues[0])
		}
		if res.Secrets == 0 {
			warnf(stderr, "--keylog %s: no secrets in the key log", p)
		}
	}
	return nil
}

// secretsFeed adds the TLS key logs found in a pcapng's Decryption
// Secrets Blocks to keys as the frames are read (capture.File.OnSecrets),
// so that they are known before the frames that need them are analysed.
type secretsFeed struct {
	keys    *tlsdecrypt.KeyLog
	sync    func() // if set, called before secrets are added (-j: the frames before them are analysed first)
	secrets int    // secrets added from the file
	skipped int    // lines not understood
	other   int    // secrets blocks of other types
}

// add is the File's OnSecrets.
func (s *secretsFeed) add(secrets []capture.Secret) {
	if s.sync != nil {
		s.sync()
	}
	for _, sec := range secrets {
		if sec.Type != capture.SecretsTLSKeyLog {
			s.other++
			continue
		}
		res, _ := s.keys.Parse(bytes.NewReader(sec.Data)) // a bytes.Reader does not fail
		s.secrets += res.Secrets
		s.skipped += res.Skipped
	}
}

// report tells on stderr what the file's secrets blocks gave.
func (s *secretsFeed) report(name string, f *capture.File, stderr io.Writer) {
	if s.secrets > 0 {
		fmt.Fprintf(stderr, "tlstriage: %s: %d TLS secrets read from the capture's decryption secrets blocks\n", name, s.secrets)
	}
	if s.skipped > 0 {
		warnf(stderr, "%s: %d key log lines of the decryption secrets blocks not understood, skipped", name, s.skipped)
	}
	if n := f.SecretsSkipped(); n > 0 {
		warnf(stderr, "%s: %d decryption secrets blocks too large to read, skipped", name, n)
	}
}
