package cred

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := Credentials{
		AccessKeyID: "ASIAEXAMPLEKEY1234", SecretAccessKey: "SECRET-must-not-leak",
		SessionToken: "TOKEN-must-not-leak", Expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindRole,
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "creds", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "creds", c, "ptr", &c)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", c), "nested %+v": fmt.Sprintf("%+v", struct{ C Credentials }{c}),
		"pointer": fmt.Sprintf("%v", &c), "slog": logs.String(),
	} {
		if strings.Contains(out, "must-not-leak") || strings.Contains(out, "ASIAEXAMPLEKEY1234") {
			t.Errorf("%s leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, "1234") {
			t.Errorf("%s should still show the key's last four characters: %s", name, out)
		}
	}
}

func TestValidAt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		c    Credentials
		want bool
	}{
		{"empty", Credentials{}, false},
		{"no expiry", Credentials{AccessKeyID: "A"}, true},
		{"61s left", Credentials{AccessKeyID: "A", Expires: now.Add(61 * time.Second)}, true},
		{"exactly 60s left", Credentials{AccessKeyID: "A", Expires: now.Add(60 * time.Second)}, false},
		{"expired", Credentials{AccessKeyID: "A", Expires: now.Add(-time.Second)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.ValidAt(now, time.Minute); got != tc.want {
				t.Errorf("ValidAt = %v, want %v", got, tc.want)
			}
		})
	}
}
