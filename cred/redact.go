package cred

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces a secret wherever Redact finds one.
const Redacted = "<redacted>"

// Redact replaces every secret in s, in each encoding credd produces or
// sends (as is, URL query and path escaped, JSON string escaped with and
// without HTML escaping, and JSON inside a URL query, as the console
// federation request carries the credentials), with Redacted. Secrets
// shorter than 4 characters are left alone: they would blank ordinary
// text.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) < 4 {
			continue
		}
		for _, form := range encodings(secret) {
			s = strings.ReplaceAll(s, form, Redacted)
		}
	}
	return s
}

// Secrets are the credentials' secret parts, for Redact.
func (c Credentials) Secrets() []string { return []string{c.SecretAccessKey, c.SessionToken} }

// encodings returns secret in every form Redact looks for, longest first,
// so that a longer form is replaced before a shorter one inside it.
func encodings(secret string) []string {
	var forms []string
	for _, base := range []string{secret, jsonEscape(secret, true), jsonEscape(secret, false)} {
		q := url.QueryEscape(base)
		for _, f := range []string{base, q, url.PathEscape(base), strings.ReplaceAll(q, "%2F", "/")} {
			// Percent escapes in either case: servers differ.
			forms = append(forms, f, lowerHex(f))
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(forms)
}

// lowerHex writes the hex digits of s's percent escapes in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// jsonEscape is s as it appears between the quotes of a JSON string,
// with or without HTML escaping (<, >, & as \u003c...).
func jsonEscape(s string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}
