package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/internal/ststest"
)

// TestProcessOutputReachesNoClientAndNoLog: a credential_process that
// prints a line after its JSON makes the AWS SDK quote the whole output,
// secret key included, in its error. Neither the 503 that says why
// credentials are not available nor the log may carry it.
func TestProcessOutputReachesNoClientAndNoLog(t *testing.T) {
	const secret = "SECRET-from-a-chatty-helper"
	script := filepath.Join(t.TempDir(), "chatty.sh")
	body := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' '{\"Version\":1,\"AccessKeyId\":\"ASIACHATTY\",\"SecretAccessKey\":\"%s\",\"SessionToken\":\"t\"}' 'done: credentials cached'\n", secret)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n", "[profile dev]\ncredential_process = "+script+"\n")
	code, out := r.get(t, "/v1/credentials/dev", auth)
	if code != 503 || !strings.Contains(out, "credential_process printed something other than its JSON document") {
		t.Fatalf("%d %s: want a 503 that says what is wrong", code, out)
	}
	for name, text := range map[string]string{"the 503": out, "the log": r.logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s carries the secret key: %s", name, text)
		}
	}
}

// TestEmptyCredentialsAreAFailedFetch: an upstream that answers without
// error but with empty keys (STS with an empty <Credentials/>) has failed:
// nobody is handed empty credentials, and the profile reports the
// failure.
func TestEmptyCredentialsAreAFailedFetch(t *testing.T) {
	sts := ststest.New(t)
	sts.EmptyCredentials(true)
	r := start(t, fmt.Sprintf(`
sts: {endpoint: %q}
profiles:
  keys: {aws_profile: keys}
  ops: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/ops"}
`, sts.URL), "[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n")
	code, body := r.get(t, "/v1/credentials/ops", auth)
	if code != 503 || !strings.Contains(body, "without credentials") {
		t.Fatalf("%d %s: want a 503 that says the upstream answered without credentials", code, body)
	}
	var st ProfileStatus
	for _, s := range r.d.Status() {
		if s.Profile == "ops" {
			st = s
		}
	}
	if st.LastError == nil || st.Failures == 0 || !st.Expires.IsZero() {
		t.Errorf("status %+v: want a failure and nothing held", st)
	}
}
