package login

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// cacheSecretMark in a fuzzed cache file is replaced by a token value, so
// that the fuzzer has secrets of a realistic length to move around.
const cacheSecretMark = "@TOKEN@"

const cacheSecret = "aoaAAAAAGhhT2tlbi1zZWNyZXQtdmFsdWU6MTIzNDU2Nzg5MA"

// secretsIn returns the values of a cache file's secret fields (matched
// as encoding/json does, ignoring case) of 8 characters or more, but not
// those that are part of its startUrl: errors may name the start URL.
func secretsIn(data []byte) []string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	var secrets, urls []string
	for k, v := range m {
		s, ok := v.(string)
		switch key := strings.ToLower(k); {
		case !ok:
		case key == "starturl":
			urls = append(urls, s)
		case len(s) >= 8 && (key == "accesstoken" || key == "refreshtoken" || key == "clientsecret"):
			secrets = append(secrets, s)
		}
	}
	return slices.DeleteFunc(secrets, func(s string) bool {
		return slices.ContainsFunc(urls, func(u string) bool { return strings.Contains(u, s) })
	})
}

// FuzzCLICache feeds any bytes to the reader of the AWS CLI's SSO token
// cache (~/.aws/sso/cache/*.json, which the AWS CLI and every SDK write
// too) and checks what must hold: no panic; no error holds the value of
// a token field (accessToken, refreshToken, clientSecret); a session is taken
// only with an access token and only while usable (an unexpired token, or
// a refresh token with a client registration that has not expired); a
// refresh token is kept only with its registration; and a session taken,
// written back in the cache format (as credd does when it renews), reads
// back the same.
//
// Seeds: testdata/fuzz/FuzzCLICache.
func FuzzCLICache(f *testing.F) {
	const startURL = "https://corp.awsapps.com/start"
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = []byte(strings.ReplaceAll(string(data), cacheSecretMark, cacheSecret))
		tok, err := parseCLICache(data, "cache.json", startURL, now)
		if err != nil {
			for _, secret := range secretsIn(data) {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error holds a token: %v", err)
				}
			}
			if tok.AccessToken != "" || tok.RefreshToken != "" {
				t.Fatalf("a refused cache still yielded tokens: %v", tok)
			}
			return
		}
		reg, canRenew := registrationOf(tok.Extra)
		switch {
		case tok.AccessToken == "":
			t.Fatal("a session without an access token")
		case tok.RefreshToken != "" && !canRenew:
			t.Fatal("a refresh token without a client registration")
		case canRenew && !reg.Expires.After(now):
			t.Fatalf("a registration that expired at %s is offered for renewals", reg.Expires)
		case !tok.Expiry.After(now) && tok.RefreshToken == "":
			t.Fatalf("an expired session (%s) that cannot be renewed", tok.Expiry)
		}
		if !writable(tok.Expiry) || !writable(tok.RefreshExpiry) {
			return // credd writes the cache with times it made, never these
		}
		b, err := formatCLICache(startURL, "eu-west-1", tok)
		if err != nil {
			t.Fatalf("writing the cache: %v", err)
		}
		back, err := parseCLICache(b, "cache.json", startURL, now)
		if err != nil {
			if !tok.Expiry.Truncate(time.Second).After(now) && tok.RefreshToken == "" {
				return // the cache format has whole seconds
			}
			t.Fatalf("a session credd wrote does not read back (%v):\n%s", err, b)
		}
		if back.AccessToken != tok.AccessToken || back.RefreshToken != tok.RefreshToken ||
			!back.Expiry.Equal(tok.Expiry.Truncate(time.Second)) || !back.RefreshExpiry.Equal(tok.RefreshExpiry.Truncate(time.Second)) {
			t.Fatalf("a session changed on its way through the cache:\n%+v\n%+v\n%s", tok, back, b)
		}
	})
}

// writable reports whether t, in UTC, has a year the cache format (RFC
// 3339) can hold.
func writable(t time.Time) bool {
	y := t.UTC().Year()
	return t.IsZero() || y >= 1 && y <= 9999
}
