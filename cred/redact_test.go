package cred

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestRedactEveryEncoding: a secret is blanked as is and in each encoding
// credd produces or sends (query and path escaping, JSON strings, JSON in
// a query), whatever the case of the percent escapes.
func TestRedactEveryEncoding(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEX<AMPLE>&KEY="
	session, _ := json.Marshal(map[string]string{"sessionKey": secret})
	for _, tc := range []struct {
		name, text string
	}{
		{"as is", "bad key " + secret},
		{"query escaped", "Session=" + url.QueryEscape(secret)},
		{"query escaped, lower-case hex", "x=" + regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(secret), strings.ToLower)},
		{"path escaped", "/k/" + url.PathEscape(secret)},
		{"query escaped, / left as is (Python's quote)", "x=" + strings.ReplaceAll(url.QueryEscape(secret), "%2F", "/")},
		{"JSON", string(session)},
		{"JSON without HTML escaping", `{"sessionKey":"` + strings.ReplaceAll(secret, `"`, `\"`) + `"}`},
		{"JSON in a query, as the federation request sends it", "Action=getSigninToken&Session=" + url.QueryEscape(string(session))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.text, secret)
			if !strings.Contains(got, Redacted) {
				t.Errorf("Redact(%q) = %q: nothing redacted", tc.text, got)
			}
			for _, part := range []string{"wJalrXUtnFEMI", "bPxRfiCYzEX", "MDENG"} {
				if strings.Contains(got, part) {
					t.Errorf("Redact(%q) = %q: %q is left", tc.text, got, part)
				}
			}
		})
	}
	if got := Redact("abc and more", "abc"); got != "abc and more" {
		t.Errorf("a 3-character secret was redacted: %q", got)
	}
	c := Credentials{SecretAccessKey: "secret-key", SessionToken: "session-token"}
	if got := Redact("secret-key / session-token", c.Secrets()...); got != Redacted+" / "+Redacted {
		t.Errorf("Redact with Secrets() = %q", got)
	}
}
