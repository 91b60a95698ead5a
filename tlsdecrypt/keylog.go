package tlsdecrypt

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Secrets are what a key log holds for one connection (one client random).
// A nil field is a secret the log does not have. Values must not be modified.
type Secrets struct {
	// MasterSecret is the TLS <= 1.2 master secret (CLIENT_RANDOM), 48 bytes.
	MasterSecret []byte
	// ClientHandshake and ServerHandshake are the TLS 1.3 handshake traffic
	// secrets (CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET).
	ClientHandshake, ServerHandshake []byte
	// ClientTraffic and ServerTraffic are the first TLS 1.3 application
	// traffic secrets (CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0).
	ClientTraffic, ServerTraffic []byte
}

// Key log labels (NSS key log format).
const (
	LabelClientRandom           = "CLIENT_RANDOM"
	LabelClientHandshakeTraffic = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	LabelServerHandshakeTraffic = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	LabelClientTraffic0         = "CLIENT_TRAFFIC_SECRET_0"
	LabelServerTraffic0         = "SERVER_TRAFFIC_SECRET_0"
)

// ignoredLabels are labels of the format that give nothing this package
// uses: early data, exporters, later traffic secrets and RSA pre-master
// secrets (indexed by ciphertext, not by client random).
var ignoredLabels = map[string]bool{
	"CLIENT_EARLY_TRAFFIC_SECRET": true, "EARLY_EXPORTER_SECRET": true, "EXPORTER_SECRET": true,
	"RSA": true, "PMS_CLIENT_RANDOM": true, "ECH_SECRET": true, "ECH_CONFIG": true,
}

// maxLine is the longest key log line read; longer lines are skipped.
const maxLine = 4096

// maxWarnings caps the warnings Parse returns.
const maxWarnings = 10

// KeyLog indexes the secrets of key logs by client random. The zero value
// is ready to use; it is safe for concurrent use.
type KeyLog struct {
	mu sync.RWMutex
	m  map[[32]byte]*Secrets
}

// Len reports how many client randoms the log holds secrets for.
func (k *KeyLog) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.m)
}

// Lookup returns a copy of the secrets logged for clientRandom, or nil when
// there are none (or clientRandom is not 32 bytes).
func (k *KeyLog) Lookup(clientRandom []byte) *Secrets {
	if k == nil || len(clientRandom) != 32 {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := k.m[[32]byte(clientRandom)]
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// ParseResult says what Parse made of a key log.
type ParseResult struct {
	Lines   int      // lines read, blank and comment lines included
	Secrets int      // secrets added
	Ignored int      // lines with a known label this package does not use
	Skipped int      // lines not understood
	Issues  []string // the first problems, with line numbers ("line 3: ...")
}

// Parse reads a key log in the NSS format from r and adds its secrets:
// lines "LABEL <client random, 64 hex digits> <secret, hex>"; "#" starts a
// comment line. Lines it does not understand (an unknown label, bad hex, a
// client random that is not 32 bytes, a secret of the wrong size, a line
// over 4096 bytes) are skipped and counted; the first few are described in
// the result. The error is a read error of r only.
func (k *KeyLog) Parse(r io.Reader) (ParseResult, error) {
	var res ParseResult
	br := bufio.NewReaderSize(r, maxLine)
	skip := func(format string, args ...any) {
		res.Skipped++
		if len(res.Issues) < maxWarnings {
			res.Issues = append(res.Issues, fmt.Sprintf("line %d: ", res.Lines)+fmt.Sprintf(format, args...))
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			long = true
			_, err = br.ReadSlice('\n')
		}
		if len(line) > 0 || long {
			res.Lines++
			if long {
				skip("longer than %d bytes", maxLine)
			} else {
				k.parseLine(line, &res, skip)
			}
		}
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("tlsdecrypt: reading key log: %w", err)
		}
	}
}

func (k *KeyLog) parseLine(line []byte, res *ParseResult, skip func(string, ...any)) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return
	}
	f := bytes.Fields(line)
	label := string(f[0])
	if ignoredLabels[label] {
		res.Ignored++
		return
	}
	var size []int
	switch label {
	case LabelClientRandom:
		size = []int{48}
	case LabelClientHandshakeTraffic, LabelServerHandshakeTraffic, LabelClientTraffic0, LabelServerTraffic0:
		size = []int{32, 48} // SHA-256 and SHA-384 suites
	default:
		if len(label) > 40 {
			label = label[:40] + "..."
		}
		skip("unknown label %q", label)
		return
	}
	if len(f) != 3 {
		skip("%s: %d fields, want 3", label, len(f))
		return
	}
	cr, err := hex.DecodeString(string(f[1]))
	if err != nil || len(cr) != 32 {
		skip("%s: client random is not 64 hex digits", label)
		return
	}
	secret, err := hex.DecodeString(string(f[2]))
	if err != nil {
		skip("%s: secret is not hex", label)
		return
	}
	ok := false
	for _, n := range size {
		ok = ok || len(secret) == n
	}
	if !ok {
		skip("%s: secret of %d bytes, want %v", label, len(secret), size)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = make(map[[32]byte]*Secrets)
	}
	s := k.m[[32]byte(cr)]
	if s == nil {
		s = new(Secrets)
		k.m[[32]byte(cr)] = s
	}
	switch label {
	case LabelClientRandom:
		s.MasterSecret = secret
	case LabelClientHandshakeTraffic:
		s.ClientHandshake = secret
	case LabelServerHandshakeTraffic:
		s.ServerHandshake = secret
	case LabelClientTraffic0:
		s.ClientTraffic = secret
	case LabelServerTraffic0:
		s.ServerTraffic = secret
	}
	res.Secrets++
}
