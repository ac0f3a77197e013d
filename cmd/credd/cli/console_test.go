package cli

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"testing"
	"time"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/internal/federationtest"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/store"
)

// shortStateDir is a state dir short enough for a Unix socket path.
func shortStateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// liveFixture is a fixture with a daemon running in this process (its
// control socket in the fixture's state dir), as `credd serve` runs it,
// and the shared AWS files given. With yaml "" no daemon runs.
func liveFixture(t *testing.T, yaml string, awsConfig, awsCredentials string) *fixture {
	t.Helper()
	f := newFixture(t, "")
	f.stateDir = shortStateDir(t)
	noDaemon := yaml == ""
	yaml = "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:9955\n" + yaml
	if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	awsCfg, awsCreds := filepath.Join(f.dir, "aws-config"), filepath.Join(f.dir, "aws-credentials")
	for path, data := range map[string]string{awsCfg: awsConfig, awsCreds: awsCredentials} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.env["AWS_CONFIG_FILE"], f.env["AWS_SHARED_CREDENTIALS_FILE"] = awsCfg, awsCreds
	if noDaemon {
		return f
	}
	cfg, err := config.Parse(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	deps := daemon.Deps{
		AWSConfigFiles: []string{awsCfg}, AWSCredentialFiles: []string{awsCreds}, UserName: "tester",
		ClientToken: []byte(testToken), Sessions: store.NewMemory(), LoadConfig: func() (config.Config, error) { return cfg, nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- daemon.Serve(ctx, cfg, deps, daemon.ServeOptions{Listeners: []net.Listener{ln}, Started: func(*daemon.Daemon) { close(started) }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("daemon.Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon.Serve: %v", err)
		}
	})
	return f
}

// runWith runs the CLI with opener as the browser (nil: none, as in an
// SSH login without a display, which every OS takes for no desktop).
func (f *fixture) runWith(t *testing.T, opener func(string) error, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), append([]string{"--config", f.cfgPath}, args...), IO{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(k string) string {
			if v, ok := overSSH[k]; ok && opener == nil {
				return v
			}
			return f.env[k]
		},
		Environ: func() []string { return nil },
		OpenURL: opener,
	})
	return code, out.String(), errb.String()
}

const consoleUserKeys = "aws_access_key_id = AKIAUSERKEYEXAMPLE\naws_secret_access_key = user-secret-DO-NOT-LEAK\n"

func consoleFixture(t *testing.T) (*fixture, *federationtest.Server) {
	t.Helper()
	sts, fed := ststest.New(t), federationtest.New(t)
	home := t.TempDir()
	// The daemon's SDK finds the SSO token cache in the home directory.
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	sum := sha1.Sum([]byte("corp"))
	cache := filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		t.Fatal(err)
	}
	expired, _ := json.Marshal(map[string]string{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
		"accessToken": "sso-token-DO-NOT-LEAK", "expiresAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if err := os.WriteFile(cache, expired, 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`sts: {endpoint: %q}
console: {federation_endpoint: %q}
default_profile: role
profiles:
  keys: {aws_profile: keys}
  role: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/dev", region: eu-west-1, console: {session_duration: 8h}}
  chained: {source_profile: role, role_arn: "arn:aws:iam::444455556666:role/ops", console: {session_duration: 8h}}
  sso: {aws_profile: sso}
`, sts.URL, fed.URL)
	awsConfig := "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n" +
		"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
	return liveFixture(t, yaml, awsConfig, "[keys]\n"+consoleUserKeys), fed
}

func TestConsoleCommand(t *testing.T) {
	f, fed := consoleFixture(t)
	var opened []string
	open := func(u string) error { opened = append(opened, u); return nil }
	broken := func(string) error { return errors.New("no browser here") }
	for _, tc := range []struct {
		name     string
		opener   func(string) error
		args     []string
		code     int
		wantOut  []string
		wantErr  []string
		urlOnOut bool // stdout is the link alone
		opens    bool
	}{
		{"print: the link alone on stdout", open, []string{"console", "--print", "--destination", "s3"}, 0, nil,
			[]string{"for profile role, to https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1", "works for 15 minutes", "console session will last 8h (console.session_duration)"}, true, false},
		{"opens the browser", open, []string{"console", "--profile", "role", "--destination", "ec2", "--region", "us-east-2"}, 0,
			[]string{"Opened the AWS console for profile role in your browser: https://us-east-2.console.aws.amazon.com/ec2/home?region=us-east-2", "works for 15 minutes"}, nil, false, true},
		{"no display: prints the link", nil, []string{"console"}, 0, nil, []string{"works for 15 minutes"}, true, false},
		{"the browser fails: prints the link", broken, []string{"console"}, 0, nil, []string{"could not open a browser (no browser here)"}, true, false},
		{"role chain: lasts as long as the credentials", open, []string{"console", "--print", "--profile", "chained"}, 0, nil,
			[]string{"as long as the credentials", "Note: console.session_duration is not applied", "role chain"}, true, false},
		{"IAM user keys: a federation session", open, []string{"console", "--print", "--profile", "keys"}, 0, nil,
			[]string{"federation session (sts:GetFederationToken)", "as long as the credentials: 1h (until"}, true, false},
		{"unknown destination lists the known ones", open, []string{"console", "--destination", "ec3"}, 2, nil,
			[]string{`unknown destination "ec3"`, "cloudwatch", "lambda", "s3"}, false, false},
		{"malformed region", open, []string{"console", "--region", "europe"}, 2, nil, []string{`"europe" is not an AWS region`}, false, false},
		{"unknown profile", open, []string{"console", "--profile", "nope"}, 2, nil, []string{`"nope"`, "credd status"}, false, false},
		{"profile not ready names the sign-in", open, []string{"console", "--profile", "sso"}, 4, nil, []string{"aws sso login --profile sso"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opened = nil
			before := len(fed.Requests())
			code, out, errOut := f.runWith(t, tc.opener, tc.args...)
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, errOut)
				}
			}
			if tc.urlOnOut && (!strings.HasPrefix(out, fed.URL+"?Action=login&") || strings.Count(out, "\n") != 1) {
				t.Errorf("stdout is not the link alone: %q", out)
			}
			if tc.opens {
				if len(opened) != 1 || !strings.HasPrefix(opened[0], fed.URL+"?Action=login&") {
					t.Errorf("opened %v", opened)
				}
				if strings.Contains(out+errOut, "SigninToken") {
					t.Errorf("the link was printed although the browser opened it")
				}
			}
			if tc.code == 0 && len(fed.Requests()) != before+1 {
				t.Errorf("%d getSigninToken calls, want 1", len(fed.Requests())-before)
			}
			if strings.Contains(out+errOut, "DO-NOT-LEAK") {
				t.Errorf("a secret reached the output")
			}
		})
	}
}

func TestConsoleWithoutDaemon(t *testing.T) {
	f := newFixture(t, "profiles:\n  dev: {aws_profile: dev}\n")
	f.stateDir = shortStateDir(t)
	os.WriteFile(f.cfgPath, []byte("state_dir: "+f.stateDir+"\nprofiles:\n  dev: {aws_profile: dev}\n"), 0o600)
	code, _, errOut := f.runWith(t, nil, "console")
	if code != ExitNotRunning || !strings.Contains(errOut, "credd serve") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
