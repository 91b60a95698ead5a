package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestFieldWrap: with a terminal's width, a verdict, cause or fix line is
// wrapped under its text, no word lost or cut; without one it is one line.
func TestFieldWrap(t *testing.T) {
	text := "the chain ends at CN=Example Issuing CA 1, issued by CN=Example Root CA, which the truststore proxy.jks (142 certificates) does not hold (the server does not send the root, as is usual)."
	for _, width := range []int{0, 60, 100} {
		var buf bytes.Buffer
		tx := NewText(&buf, TextOptions{Width: width})
		tx.field("Cause:  ", "truststore_missing_root", len("truststore_missing_root"), text)
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if width == 0 && len(lines) != 1 {
			t.Errorf("no width: %d lines", len(lines))
		}
		var words []string
		for i, l := range lines {
			if width > 0 && len(l) > width {
				t.Errorf("width %d: line %d is %d long: %q", width, i, len(l), l)
			}
			if i > 0 && !strings.HasPrefix(l, strings.Repeat(" ", 11)) {
				t.Errorf("width %d: line %d not indented: %q", width, i, l)
			}
			words = append(words, strings.Fields(l)...)
		}
		if got := strings.Join(words[2:], " "); got != text {
			t.Errorf("width %d: text changed:\n%s", width, got)
		}
	}
}
