package diagnose_test

import (
	"testing"

	"github.com/tlstriage/tlstriage/clientstack"
	"github.com/tlstriage/tlstriage/diagnose"
)

// TestProfileFor: an application's profile where it has one, the stack's
// otherwise, the default for a client not identified; --client names.
func TestProfileFor(t *testing.T) {
	for _, tc := range []struct {
		stack                        clientstack.Stack
		label                        string
		partial, cn, anchor, nameAft bool
	}{
		{clientstack.Stack{Name: clientstack.Java}, "java", true, true, false, false},
		{clientstack.Stack{Name: clientstack.OpenSSL, App: clientstack.AppCurl}, "openssl (curl)", true, true, true, true},
		{clientstack.Stack{Name: clientstack.OpenSSL, App: clientstack.AppSClient}, "openssl (s_client, libssl defaults)", false, true, true, false},
		{clientstack.Stack{Name: clientstack.OpenSSL, App: clientstack.AppNode}, "openssl (node)", false, true, true, true},
		{clientstack.Stack{Name: clientstack.OpenSSL, App: "ruby"}, "openssl", false, true, true, false},
		{clientstack.Stack{Name: clientstack.Go}, "go", true, false, true, false},
		{clientstack.Stack{Name: clientstack.Unknown}, "default (client not identified)", true, true, false, false},
	} {
		p := diagnose.ProfileFor(tc.stack)
		if p.Label != tc.label || p.PartialChain != tc.partial || p.CNFallback != tc.cn || p.AnchorValidity != tc.anchor || p.NameAfterHandshake != tc.nameAft {
			t.Errorf("ProfileFor(%s) = %+v", tc.stack, p)
		}
		if p.KeyLog == "" || p.Who == "" {
			t.Errorf("ProfileFor(%s): no key-log advice or name", tc.stack)
		}
	}
	for _, name := range diagnose.ClientNames {
		s, ok := diagnose.ParseClient(name)
		if !ok || s.Name == clientstack.Unknown || diagnose.ProfileFor(s).Stack != s.Name {
			t.Errorf("ParseClient(%q) = %v, %v", name, s, ok)
		}
	}
	for _, bad := range []string{"", "unknown", "Java", "chrome"} {
		if _, ok := diagnose.ParseClient(bad); ok {
			t.Errorf("ParseClient(%q) accepted", bad)
		}
	}
}
