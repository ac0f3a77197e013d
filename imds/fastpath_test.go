package imds

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// TestCachedDocumentsShareTheToken: every kind of cached document is,
// written out, exactly what encoding/json makes of it, and keeps no copy
// of the session token of its own; a token JSON must escape is kept in
// the document whole, escaped.
func TestCachedDocumentsShareTheToken(t *testing.T) {
	now := time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC)
	base := cred.Credentials{AccessKeyID: "ASIAEXAMPLEKEY000001", SecretAccessKey: strings.Repeat("s", 40),
		Expires: now.Add(time.Hour), Issued: now, AccountID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/dev"}
	for _, tc := range []struct {
		name, token string
		shared      bool
	}{
		{"STS-shaped token", strings.Repeat("IQoJb3JpZ2luX2VjE+/=", 40), true},
		{"no token", "", false},
		{"token JSON escapes", "abc<def>&" + strings.Repeat("T", 100), false},
		{"token with a quote", `ab"cd` + strings.Repeat("T", 100), false},
	} {
		for kind, kindName := range []string{"imds", "imds-extended", "container"} {
			t.Run(tc.name+"/"+kindName, func(t *testing.T) {
				c := base
				c.SessionToken = tc.token
				e, err := encodeDoc(c, kind)
				if err != nil {
					t.Fatal(err)
				}
				want := encodeJSON(t, c, kind)
				if got := e.body(); !bytes.Equal(got, want) {
					t.Fatalf("document\n%s\nwant\n%s", got, want)
				}
				if e.length[0] != itoa(len(want)) {
					t.Errorf("Content-Length %s, want %d", e.length[0], len(want))
				}
				if tc.shared != (e.token != "") {
					t.Errorf("token shared: %v, want %v", e.token != "", tc.shared)
				}
				if tc.shared && (bytes.Contains(e.head, []byte(tc.token)) || bytes.Contains(e.tail, []byte(tc.token))) {
					t.Errorf("the cached document holds a copy of the token")
				}
				rec := httptest.NewRecorder()
				writeEncoded(rec, e)
				if !bytes.Equal(rec.Body.Bytes(), want) || rec.Header().Get("Content-Length") != itoa(len(want)) {
					t.Errorf("written: %q (Content-Length %s), want %q", rec.Body.Bytes(), rec.Header().Get("Content-Length"), want)
				}
			})
		}
	}
}

// encodeJSON is the document of c of the kind, as encoding/json makes it.
func encodeJSON(t *testing.T, c cred.Credentials, kind int) []byte {
	t.Helper()
	var v any
	expires := c.Expires.UTC().Format(imdsTimeFormat)
	switch kind {
	case docContainer:
		v = containerDoc{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken,
			Expiration: expires, AccountID: c.AccountID, RoleARN: c.RoleARN}
	default:
		d := imdsDoc{Code: "Success", LastUpdated: c.Issued.UTC().Format(imdsTimeFormat), Type: "AWS-HMAC",
			AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken, Expiration: expires}
		if kind == docIMDSExtended {
			d.AccountID = c.AccountID
		}
		v = d
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
