package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/credproctest"
	"github.com/credd/credd/internal/ststest"
)

// TestProcessOutputReachesNoClientAndNoLog: a credential_process that
// prints a line after its JSON makes the AWS SDK quote the whole output,
// secret key included, in its error. Neither the 503 that says why
// credentials are not available nor the log may carry it.
func TestProcessOutputReachesNoClientAndNoLog(t *testing.T) {
	const secret = "SECRET-from-a-chatty-helper"
	script := credproctest.Command(t, credproctest.Spec{
		Output: credproctest.Document("ASIACHATTY", secret, "t", time.Now().Add(time.Hour)) + "\ndone: credentials cached\n"})
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

// TestHungCredentialProcessEndsAtFetchTimeout: refresh.fetch_timeout
// bounds a credential_process run; at it, the helper and what it started
// are killed, the request learns why, and the next attempt runs the
// helper afresh. Before, the helper's child kept the SDK's run alive past
// the deadline, and every later attempt joined that run and timed out
// too, until the child exited (240 s here; never, for some helpers).
func TestHungCredentialProcessEndsAtFetchTimeout(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	script := credproctest.Command(t, credproctest.Spec{HangUnless: ready,
		Output: credproctest.Document("ASIAGOOD", "s", "t", time.Now().Add(time.Hour))})
	// Windows: starting cmd.exe and the helper takes over a second under
	// wine on a loaded machine, and the attempt after the timeout must
	// answer within it.
	timeout := "1s"
	if runtime.GOOS == "windows" {
		timeout = "5s"
	}
	r := start(t, "refresh: {fetch_timeout: "+timeout+"}\nprofiles:\n  dev: {aws_profile: dev}\n", "[profile dev]\ncredential_process = "+script+"\n")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := r.d.Current(ctx, "dev")
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "refresh.fetch_timeout ("+timeout+")") {
		t.Fatalf("Current = %v (ctx: %v), want the fetch timed out after refresh.fetch_timeout, well before the minute", err, ctx.Err())
	}
	// The helper answers now; the next attempt (at once, not after the
	// backoff) must run it rather than wait on the killed one.
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// On a loaded machine a fresh run can itself take longer than the
	// timeout to start and answer: a few more tries tell that from
	// joining the killed run, which would hold every one of them (its
	// child runs four minutes).
	var c cred.Credentials
	for range 5 {
		r.d.gen.Load().entries["dev"].r.Kick()
		if c, err = r.d.Current(ctx, "dev"); err == nil || !strings.Contains(err.Error(), "refresh.fetch_timeout") {
			break
		}
		t.Logf("the attempt after the timeout timed out too: %v", err)
	}
	if err != nil || c.AccessKeyID != "ASIAGOOD" {
		t.Fatalf("the attempt after the timeout: %v, %v; want the helper's new answer", c, err)
	}
}
