package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/ststest"
)

// MFA sessions end to end: `credd serve` with profiles on IAM user keys
// with an MFA device, `credd login --profile X --mfa-code N` (the CLI, the
// control socket), a fake STS that checks codes and records every call,
// and boto3 as the judge through IMDS and the container endpoint.

const e2eSerial = "arn:aws:iam::111122223333:mfa/e2e-tester"

const mfaKeys = "[profile keys]\naws_access_key_id = AKIAE2EKEYS\naws_secret_access_key = e2e-keys-secret\nregion = us-east-1\n"

// boto3Get runs boto3's default chain under vars and returns what it got
// (the run, for failures).
func boto3Get(t *testing.T, py string, vars map[string]string) (boto3Creds, clientRun) {
	t.Helper()
	r := runClient(t, clientEnv(t, vars), t.TempDir(), py, "-c", boto3CredsScript)
	var got boto3Creds
	if r.Err == nil {
		r.decodeOutput(t, &got)
	}
	return got, r
}

func TestMFALoginThenBoto3ThroughIMDS(t *testing.T) {
	py := requireBoto3(t)
	sts := ststest.New(t)
	sts.RequireMFA(e2eSerial, "123456", "234567")
	s := newServed(t, fmt.Sprintf(`sts: {endpoint: %q}
default_profile: admin
profiles:
  keys: {aws_profile: keys, mfa_serial: %q, mfa_session_duration: 8h}
  admin: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/admin"}
`, sts.URL, e2eSerial), mfaKeys)
	s.start(t)
	imds := map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": s.url + "/"}
	token, err := os.ReadFile(filepath.Join(s.stateDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	container := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": s.url + "/v1/credentials/admin", "AWS_CONTAINER_AUTHORIZATION_TOKEN": strings.TrimSpace(string(token))}

	// Before a code: nothing served, boto3 reads why, status says
	// mfa-required, one notification, and STS was never called.
	_, r := boto3Get(t, py, container)
	r.wantFailure(t, "503", "credd login --profile keys")
	if _, r := boto3Get(t, py, imds); r.Err == nil {
		t.Fatalf("boto3 through IMDS got credentials before any MFA code: %s", r.Stdout)
	}
	if st := profileStates(s.status(t)); st["admin"] != "mfa-required" || st["keys"] != "mfa-required" {
		t.Errorf("states %v, want mfa-required", st)
	}
	select {
	case n := <-s.notes:
		if !strings.Contains(n, "credd login --profile keys") {
			t.Errorf("notification %q does not name the command", n)
		}
	default:
		t.Error("no desktop notification")
	}
	if calls := sts.Calls(); len(calls) != 0 {
		t.Fatalf("STS called before a code: %+v", calls)
	}

	// A wrong code: non-zero with STS's reason, nothing served.
	code, out, errOut := s.run(t, "login", "--profile", "admin", "--mfa-code", "999999")
	if code != 4 || !strings.Contains(errOut, "MultiFactorAuthentication failed") {
		t.Errorf("a wrong code: exit %d, out %q err %q; want 4 with STS's reason", code, out, errOut)
	}
	if _, r := boto3Get(t, py, imds); r.Err == nil {
		t.Fatal("boto3 got credentials after a wrong code")
	}

	// The right code: the role is served through IMDS, from the MFA
	// session.
	code, out, errOut = s.run(t, "login", "--profile", "admin", "--mfa-code", "123456")
	if code != 0 || !strings.Contains(out, "MFA session for "+e2eSerial+" started") || !strings.Contains(out, "Ready: admin, keys") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	got, r := boto3Get(t, py, imds)
	if r.Err != nil {
		t.Fatalf("boto3 through IMDS after the code: %v\n%s", r.Err, r.Stderr)
	}
	if got.Method != "iam-role" || !strings.HasPrefix(got.AccessKey, "ASIAMFAASSUMEROLE") || !sts.MFAContext(got.AccessKey) {
		t.Errorf("boto3 got %s by %s, want the admin role assumed from the MFA session", got.AccessKey, got.Method)
	}
	gst := sts.CallsOf("GetSessionToken")
	if len(gst) != 2 || gst[1].Form.Get("SerialNumber") != e2eSerial || gst[1].Form.Get("TokenCode") != "123456" || gst[1].Form.Get("DurationSeconds") != "28800" || gst[1].AccessKeyID != "AKIAE2EKEYS" {
		t.Fatalf("GetSessionToken calls %+v, want the refused one, then serial, code and 8h signed by the keys", gst)
	}
	// status shows the session with its end.
	st := s.status(t)
	i := slices.IndexFunc(st.Sessions, func(ss control.SessionStatus) bool { return ss.Kind == "mfa" })
	if i < 0 || st.Sessions[i].State != "signed-in" || st.Sessions[i].Expires == nil {
		t.Fatalf("sessions %+v, want the MFA session, signed-in, with its end", st.Sessions)
	}
	session := st.Sessions[i].Name
	if _, text, _ := s.run(t, "status"); !strings.Contains(text, session) {
		t.Errorf("credd status does not list %s:\n%s", session, text)
	}
	// The session file holds no more than the store's 0600 file.
	if runtime.GOOS != "windows" {
		matches, _ := filepath.Glob(filepath.Join(s.stateDir, "sessions", "mfa*"))
		for _, m := range matches {
			if fi, err := os.Stat(m); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v, want 0600", m, fi.Mode(), err)
			}
		}
		if len(matches) != 1 {
			t.Errorf("session files %v, want one", matches)
		}
	}

	// A restart reads the session back: served with no new code or call.
	s.stop(t)
	s.start(t)
	if _, r := boto3Get(t, py, imds); r.Err != nil {
		t.Fatalf("boto3 after a restart: %v\n%s", r.Err, r.Stderr)
	}
	if n := len(sts.CallsOf("GetSessionToken")); n != 2 {
		t.Errorf("%d GetSessionToken calls after a restart, want still 2", n)
	}

	// logout forgets it: nothing served until a new code.
	if code, out, errOut := s.run(t, "logout"); code != 0 || !strings.Contains(out, session) {
		t.Fatalf("logout: exit %d %s %s", code, out, errOut)
	}
	_, r = boto3Get(t, py, container)
	r.wantFailure(t, "503")
	if st := s.status(t); slices.ContainsFunc(st.Sessions, func(ss control.SessionStatus) bool { return ss.Kind == "mfa" }) {
		t.Errorf("sessions after logout: %+v", st.Sessions)
	}
}

// TestMFAProcessEndToEnd: with mfa_process nobody is asked: the daemon
// runs the script when boto3 first asks, and `credd login --profile X`
// runs it again for a new session without prompting.
func TestMFAProcessEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the script is a shell script")
	}
	py := requireBoto3(t)
	sts := ststest.New(t)
	sts.RequireMFA(e2eSerial, "123456", "234567")
	dir := t.TempDir()
	codes, count := filepath.Join(dir, "codes"), filepath.Join(dir, "count")
	writeFile(t, codes, "123456\n234567\n")
	script := filepath.Join(dir, "mfa-code")
	// Each run prints the next code, as a device would.
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\nn=$(( $(cat %q 2>/dev/null || echo 0) + 1 ))\necho $n > %q\nsed -n \"${n}p\" %q\n", count, count, codes))
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	s := newServed(t, fmt.Sprintf(`sts: {endpoint: %q}
default_profile: keys
profiles:
  keys: {aws_profile: keys}
`, sts.URL), mfaKeys+"mfa_serial = "+e2eSerial+"\nmfa_process = "+script+"\n")
	s.start(t)
	got, r := boto3Get(t, py, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": s.url + "/"})
	if r.Err != nil {
		t.Fatalf("boto3: %v\n%s", r.Err, r.Stderr)
	}
	if !sts.MFAContext(got.AccessKey) {
		t.Errorf("boto3 got %s, not an MFA session", got.AccessKey)
	}
	gst := sts.CallsOf("GetSessionToken")
	if len(gst) != 1 || gst[0].Form.Get("TokenCode") != "123456" || gst[0].Form.Get("SerialNumber") != e2eSerial {
		t.Fatalf("GetSessionToken calls %+v, want one with the script's code", gst)
	}
	select {
	case n := <-s.notes:
		t.Errorf("notified %q, want nobody asked", n)
	default:
	}
	// An explicit login runs the script again (a new code), no prompt.
	code, out, errOut := s.run(t, "login", "--profile", "keys")
	if code != 0 || strings.Contains(out, "MFA code for") || !strings.Contains(out, "MFA session for "+e2eSerial+" started") {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	if gst := sts.CallsOf("GetSessionToken"); len(gst) != 2 || gst[1].Form.Get("TokenCode") != "234567" {
		t.Errorf("GetSessionToken calls %+v, want a second with the next code", gst)
	}
}

func profileStates(st control.Status) map[string]string {
	out := map[string]string{}
	for _, p := range st.Profiles {
		out[p.Name] = p.State
	}
	return out
}
