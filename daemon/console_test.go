package daemon

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/console"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/federationtest"
	"github.com/credd/credd/internal/ststest"
)

// consoleEnv is a daemon whose STS and federation endpoint are fakes, with
// profiles of every kind of credentials.
type consoleEnv struct {
	r    *running
	sts  *ststest.Server
	fed  *federationtest.Server
	ctl  control.Backend
	home string
}

const userKeys = "aws_access_key_id = AKIAUSERKEYEXAMPLE\naws_secret_access_key = user-secret-DO-NOT-LEAK\n"

func startConsole(t *testing.T, profiles string) *consoleEnv {
	t.Helper()
	e := &consoleEnv{sts: ststest.New(t), fed: federationtest.New(t), home: t.TempDir()}
	// The SDK finds the IAM Identity Center token cache in the home
	// directory: $HOME, or %USERPROFILE% on Windows.
	t.Setenv("HOME", e.home)
	t.Setenv("USERPROFILE", e.home)
	awsConfig := "[profile keys]\nregion = eu-central-1\n" + userKeys +
		processProfile(t, "process", "ASIAPROCESSEXAMPLE", "process-secret-DO-NOT-LEAK", "process-token-DO-NOT-LEAK") +
		"[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n" +
		"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
	sum := sha1.Sum([]byte("corp"))
	cache := filepath.Join(e.home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		t.Fatal(err)
	}
	expired, _ := json.Marshal(map[string]string{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
		"accessToken": "sso-token-DO-NOT-LEAK", "expiresAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if err := os.WriteFile(cache, expired, 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf("sts: {endpoint: %q}\nconsole: {federation_endpoint: %q, issuer: test-issuer}\ndefault_profile: keys\nprofiles:\n%s", e.sts.URL, e.fed.URL, profiles)
	e.r = start(t, yaml, awsConfig)
	e.ctl = e.r.d.ControlBackend(ControlInfo{})
	return e
}

const consoleProfiles = `  keys: {aws_profile: keys}
  keys-scoped:
    aws_profile: keys
    console: {session_duration: 2h, policy_arns: [arn:aws:iam::aws:policy/ReadOnlyAccess], destination: iam}
  process: {aws_profile: process, region: eu-west-1, console: {session_duration: 8h}}
  role:
    source_profile: keys
    role_arn: arn:aws:iam::111122223333:role/dev
    region: us-west-2
    console: {session_duration: 8h, destination: s3}
  chained:
    source_profile: role
    role_arn: arn:aws:iam::444455556666:role/ops
    console: {session_duration: 8h}
  gov: {source_profile: keys, role_arn: "arn:aws-us-gov:iam::111122223333:role/dev", region: us-gov-west-1}
  sso: {aws_profile: sso}
`

func TestConsoleLinks(t *testing.T) {
	e := startConsole(t, consoleProfiles)
	for _, tc := range []struct {
		name     string
		req      control.ConsoleRequest
		wantDest string
		wantDur  string // SessionDuration sent, "" for none
		wantSecs int
		wantNote string
		wantKey  string // the session the federation endpoint got
		checkSTS func(t *testing.T, form map[string][]string)
	}{
		{
			name: "IAM user keys: a federation session, allow-all policy, the profile's duration",
			req:  control.ConsoleRequest{Profile: "keys"}, wantDest: "https://eu-central-1.console.aws.amazon.com/console/home?region=eu-central-1",
			wantKey: "ASIAFAKEGETFEDERATIONTOKEN",
			checkSTS: func(t *testing.T, f map[string][]string) {
				if f["Action"][0] != "GetFederationToken" || f["Name"][0] != "Tester-Name" || f["Policy"][0] != console.AllowAll || f["DurationSeconds"][0] != "3600" {
					t.Errorf("GetFederationToken form %v", f)
				}
			},
		},
		{
			name: "IAM user keys with managed policies and a session length",
			req:  control.ConsoleRequest{Profile: "keys-scoped"}, wantDest: "https://console.aws.amazon.com/iam/home",
			wantKey: "ASIAFAKEGETFEDERATIONTOKEN", wantNote: "length of the sts:GetFederationToken session",
			checkSTS: func(t *testing.T, f map[string][]string) {
				if f["PolicyArns.member.1.arn"][0] != "arn:aws:iam::aws:policy/ReadOnlyAccess" || f["Policy"] != nil || f["DurationSeconds"][0] != "7200" {
					t.Errorf("GetFederationToken form %v", f)
				}
			},
		},
		{
			name: "first-hop role: SessionDuration sent",
			req:  control.ConsoleRequest{Profile: "role"}, wantDest: "https://us-west-2.console.aws.amazon.com/s3/home?region=us-west-2",
			wantDur: "28800", wantSecs: 28800, wantKey: "ASIAFAKEASSUMEROLE",
		},
		{
			name: "flags override the profile's destination and region",
			req:  control.ConsoleRequest{Profile: "role", Destination: "lambda", Region: "ap-southeast-2"}, wantDest: "https://ap-southeast-2.console.aws.amazon.com/lambda/home?region=ap-southeast-2",
			wantDur: "28800", wantSecs: 28800, wantKey: "ASIAFAKEASSUMEROLE",
		},
		{
			name: "role chain: SessionDuration left out, with a note",
			req:  control.ConsoleRequest{Profile: "chained"}, wantDest: "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1",
			wantNote: "role chain", wantKey: "ASIAFAKEASSUMEROLE",
		},
		{
			name: "credentials the SDK resolved: SessionDuration left out",
			req:  control.ConsoleRequest{Profile: "process"}, wantDest: "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
			wantNote: "AWS SDK resolved these credentials", wantKey: "ASIAPROCESSEXAMPLE",
		},
		{
			name: "GovCloud role", req: control.ConsoleRequest{Profile: "gov", Destination: "ec2"},
			wantDest: "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1", wantKey: "ASIAFAKEASSUMEROLE",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fed.Requests())
			link, err := e.ctl.Console(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if link.Destination != tc.wantDest || link.SessionSeconds != tc.wantSecs || !strings.Contains(link.Note, tc.wantNote) || (tc.wantNote == "") != (link.Note == "") {
				t.Errorf("link: destination %s, session %d s, note %q", link.Destination, link.SessionSeconds, link.Note)
			}
			if tc.wantSecs == 0 && (link.SessionExpires == nil || link.SessionExpires.Before(time.Now())) {
				t.Errorf("session expiry %v, want the credentials' expiry", link.SessionExpires)
			}
			if !strings.HasPrefix(link.URL, e.fed.URL+"?Action=login&") || !strings.Contains(link.URL, "Issuer=test-issuer") {
				t.Errorf("URL %s", link.URL)
			}
			if d := time.Until(link.Expires); d < 14*time.Minute || d > 15*time.Minute {
				t.Errorf("link expires in %s, want 15m", d)
			}
			reqs := e.fed.Requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d getSigninToken calls", len(reqs))
			}
			if reqs[0].SessionDuration != tc.wantDur || reqs[0].Session.SessionID != tc.wantKey {
				t.Errorf("getSigninToken: SessionDuration %q, session %s; want %q, %s", reqs[0].SessionDuration, reqs[0].Session.SessionID, tc.wantDur, tc.wantKey)
			}
			if tc.checkSTS != nil {
				tc.checkSTS(t, e.sts.Last())
				if auth := e.sts.Auth(); !strings.Contains(auth[len(auth)-1], "Credential=AKIAUSERKEYEXAMPLE/") {
					t.Errorf("GetFederationToken not signed with the user's keys: %s", auth[len(auth)-1])
				}
			}
		})
	}
}

func TestConsoleBadInput(t *testing.T) {
	e := startConsole(t, consoleProfiles)
	for _, tc := range []struct {
		name string
		req  control.ConsoleRequest
		mark error
		want []string
	}{
		{"unknown destination lists the known ones", control.ConsoleRequest{Profile: "role", Destination: "ec3"}, cred.ErrInvalid, []string{`unknown destination "ec3"`, "cloudwatch, codebuild", "s3"}},
		{"malformed region", control.ConsoleRequest{Profile: "role", Region: "Frankfurt"}, cred.ErrInvalid, []string{`"Frankfurt" is not an AWS region`}},
		{"region outside the role's partition", control.ConsoleRequest{Profile: "gov", Region: "eu-west-1"}, cred.ErrInvalid, []string{"partition aws-us-gov"}},
		{"unknown profile", control.ConsoleRequest{Profile: "nope"}, cred.ErrUnknownProfile, []string{`"nope"`}},
		{"profile not ready names the sign-in", control.ConsoleRequest{Profile: "sso"}, cred.ErrLoginRequired, []string{"aws sso login --profile sso"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fed.Requests())
			_, err := e.ctl.Console(t.Context(), tc.req)
			if !errors.Is(err, tc.mark) {
				t.Fatalf("err = %v, want %v", err, tc.mark)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if len(e.fed.Requests()) != before {
				t.Errorf("the federation endpoint was called")
			}
			if strings.Contains(err.Error(), "DO-NOT-LEAK") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

// TestConsoleOverHTTP: the endpoint for tools, end to end; the link and the
// secrets never reach the log.
func TestConsoleOverHTTP(t *testing.T) {
	e := startConsole(t, consoleProfiles)
	post := func(path, body string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.r.url+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	code, body := post("/v1/console/role", `{"destination":"ec2"}`, auth)
	var doc struct{ URL, Expires string }
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || !strings.Contains(doc.URL, "SigninToken=signin-token-") {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := post("/v1/console", "", nil); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	if code, _ := e.r.get(t, "/v1/console/role", auth); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", code)
	}
	if code, body := post("/v1/console/role", `{"destination":"ec3"}`, auth); code != http.StatusBadRequest || !strings.Contains(body, "unknown destination") {
		t.Errorf("bad destination: %d %s", code, body)
	}
	if code, body := post("/v1/console/sso", ``, auth); code != http.StatusServiceUnavailable || !strings.Contains(body, "aws sso login --profile sso") {
		t.Errorf("not ready: %d %s", code, body)
	}
	if code, _ := post("/v1/console/keys", ``, auth); code != 200 {
		t.Errorf("keys: %d", code)
	}
	logs := e.r.logs.String()
	if !strings.Contains(logs, "console link made") {
		t.Errorf("no log line for the links made")
	}
	token := doc.URL[strings.Index(doc.URL, "SigninToken=")+len("SigninToken="):]
	for _, secret := range []string{token, "SigninToken", "DO-NOT-LEAK", "fake-secret", "fake-token", "federation?"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q", secret)
		}
	}
}
