package diagnose

import (
	"fmt"
	"strings"

	"github.com/tlstriage/tlstriage/dissect"
	"github.com/tlstriage/tlstriage/tlsdecrypt"
)

// plainOrDecrypted says how an alert event was read.
func plainOrDecrypted(e *dissect.Event) string {
	if e.Decrypted {
		return "(decrypted with the key log)"
	}
	return "in plaintext"
}

// rejectedDecrypted judges a TLS 1.3 client that hung up (first move ev)
// after the server's flight when the key log revealed the server's
// Certificate (cert): as in TLS 1.2, the client did not accept the
// certificate, whether or not its alert could be read.
func rejectedDecrypted(c *dissect.Conn, w *Wire, cert, ev *dissect.Event) Wire {
	w.Verdict = VerdictClientRejectedCertificate
	w.CloseAfterCert = ev.Time().Sub(cert.Time())
	how := closeSequence(c, dissect.Client)
	if a := fatalAlert(c, dissect.Client, true); a != nil {
		w.Alert = alertOf(a)
		how = fmt.Sprintf("sent %s (frame %d)", w.Alert, a.Frame)
		switch {
		case a.Decrypted:
			how += " (decrypted with the key log)"
		case a.Kind == dissect.EvEncryptedAlert:
			how += " (it stays encrypted: the key log lacks the client's handshake secret)"
		}
		if fin := closeEvent(c, dissect.Client); fin != nil {
			how += fmt.Sprintf(", then %s (frame %d)", fin.Flags, fin.Frame)
		}
	}
	w.Detail = fmt.Sprintf("%s after the server's Certificate (frame %d, decrypted with the key log) the client %s without sending its Finished: it did not accept the server's certificate",
		fmtDur(w.CloseAfterCert), cert.Frame, how)
	return *w
}

// shortRandom abbreviates a client random for messages.
func shortRandom(hex string) string {
	if len(hex) > 16 {
		return hex[:16] + "..."
	}
	return hex
}

// sideName names the sender of records in messages.
func sideName(s dissect.Side) string {
	if s == dissect.Server {
		return "server's"
	}
	return "client's"
}

// decryptFindings reports what the key log did for the connection.
func decryptFindings(c *dissect.Conn) []Finding {
	d := c.Decryption
	if d == nil {
		return nil
	}
	if d.Unsupported != "" {
		return []Finding{{Code: FindingKeylogUnsupported, Severity: SevInfo,
			Summary: fmt.Sprintf("the key log was not used: decrypting %s is not supported", d.Unsupported)}}
	}
	if !d.Keys {
		sev := SevInfo
		if c.ChainHidden {
			sev = SevWarning
		}
		return []Finding{{Code: FindingKeylogNoSecrets, Severity: sev,
			Summary: fmt.Sprintf("the key log holds no secrets for this connection (client random %s): its encrypted records stay unread; the key log must come from this client, written during this capture",
				shortRandom(d.ClientRandom))}}
	}
	var out []Finding
	for _, s := range []dissect.Side{dissect.Server, dissect.Client} {
		switch {
		case d.Mismatch[s]:
			out = append(out, Finding{Code: FindingKeylogMismatch, Severity: SevError,
				Summary: fmt.Sprintf("the key log's secrets for this connection (client random %s) do not decrypt the %s records: %s (frame %d). They belong to another session or the key log is damaged; nothing of that side was decrypted, and nothing is guessed",
					shortRandom(d.ClientRandom), sideName(s), d.Failed[s], d.FailedFrame[s])})
		case d.Failed[s] != "":
			out = append(out, Finding{Code: FindingDecryptionFailed, Severity: SevWarning,
				Summary: fmt.Sprintf("decryption of the %s records stopped at frame %d: %s", sideName(s), d.FailedFrame[s], d.Failed[s])})
		}
	}
	if d.Records[dissect.Server]+d.Records[dissect.Client] > 0 {
		summary := fmt.Sprintf("decrypted with the key log: %d records from the server, %d from the client", d.Records[dissect.Server], d.Records[dissect.Client])
		if n := max(d.Renegotiated[dissect.Server], d.Renegotiated[dissect.Client]); n > 0 {
			word := "renegotiations"
			if n == 1 {
				word = "renegotiation"
			}
			summary += fmt.Sprintf(", through %d %s", n, word)
		}
		if d.Deflate {
			summary += ", decompressed (DEFLATE)"
		}
		out = append(out, Finding{Code: FindingDecrypted, Severity: SevInfo, Summary: summary})
	}
	var handshake, later []string
	for _, m := range d.Missing {
		switch m {
		case tlsdecrypt.LabelClientTraffic0, tlsdecrypt.LabelServerTraffic0:
			later = append(later, m)
		default:
			handshake = append(handshake, m)
		}
	}
	if len(handshake) > 0 {
		out = append(out, Finding{Code: FindingKeylogIncomplete, Severity: SevWarning,
			Summary: fmt.Sprintf("the key log lacks %s for this connection: the records those secrets protect stay unread", strings.Join(handshake, " and "))})
	}
	if len(later) > 0 {
		out = append(out, Finding{Code: FindingKeylogIncomplete, Severity: SevInfo,
			Summary: fmt.Sprintf("the key log lacks %s for this connection: alerts after the handshake stay unread", strings.Join(later, " and "))})
	}
	return out
}

// hiddenChainFix says what would reveal a TLS 1.3 chain the capture hides.
func hiddenChainFix(c *dissect.Conn, o Options, p Profile) string {
	fetch := ""
	if o.ProbeCommand != nil {
		fetch = fmt.Sprintf("; or fetch and check the chain the server sends with `%s`", o.ProbeCommand(c))
	}
	keylog := flagged(o.Flags.KeyLog)
	d := c.Decryption
	switch {
	case d != nil && (d.Mismatch[dissect.Server] || d.Mismatch[dissect.Client]):
		return fmt.Sprintf("the key log given does not match this connection: pass the key log this client wrote during this capture%s%s", keylog, fetch)
	case d != nil && d.Keys && len(d.Missing) > 0:
		return fmt.Sprintf("the key log lacks %s for this connection: pass a complete key log%s%s", strings.Join(d.Missing, ", "), keylog, fetch)
	case d != nil && !d.Keys && d.Unsupported == "":
		return fmt.Sprintf("the key log given has no secrets for this connection (client random %s): pass the key log this client wrote during this capture%s%s", shortRandom(d.ClientRandom), keylog, fetch)
	}
	given := ""
	if o.Flags.KeyLog != "" {
		given = " (" + o.Flags.KeyLog + " /tmp/keys.txt)"
	}
	return fmt.Sprintf("decrypt the handshake with the client's TLS key log%s: %s%s", given, p.KeyLog, fetch)
}
