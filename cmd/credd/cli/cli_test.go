package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture is a home directory with a credd config and a state dir holding
// a known client token.
type fixture struct {
	dir, cfgPath, stateDir string
	env                    map[string]string
}

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newFixture(t *testing.T, yaml string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, cfgPath: filepath.Join(dir, "credd.yaml"), stateDir: filepath.Join(dir, "state")}
	if yaml != "" {
		yaml = "state_dir: " + f.stateDir + "\n" + yaml
		if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Each OS's variables for the same dirs: HOME and the XDG ones, and
	// on Windows %USERPROFILE%, %AppData% and %LocalAppData%.
	config, state := filepath.Join(dir, "xdg-config"), filepath.Join(dir, "xdg-state")
	f.env = map[string]string{"HOME": dir, "XDG_CONFIG_HOME": config, "XDG_STATE_HOME": state,
		"USERPROFILE": dir, "AppData": config, "LocalAppData": state}
	return f
}

func (f *fixture) writeToken(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.stateDir, "token"), []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, IO{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(k string) string { return f.env[k] },
		Environ: func() []string {
			var e []string
			for k, v := range f.env {
				e = append(e, k+"="+v)
			}
			return append(e, "PATH="+os.Getenv("PATH"))
		},
	})
	return code, out.String(), errb.String()
}

const twoProfiles = `listen: 127.0.0.1:9955
default_profile: dev
profiles:
  dev: {aws_profile: dev, region: eu-west-1}
  ops: {aws_profile: ops}
`

func TestEnvGolden(t *testing.T) {
	f := newFixture(t, twoProfiles)
	f.writeToken(t)
	for _, tc := range []struct{ name, shell, profile string }{
		{"sh", "sh", ""}, {"sh-profile", "sh", "ops"}, {"fish", "fish", ""}, {"powershell", "powershell", ""}, {"cmd", "cmd", "ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--config", f.cfgPath, "env", "--shell", tc.shell}
			if tc.profile != "" {
				args = append(args, "--profile", tc.profile)
			}
			code, out, errOut := f.run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			out = strings.ReplaceAll(out, f.stateDir+string(filepath.Separator), "<STATE>/")
			golden := filepath.Join("testdata", "env-"+tc.name+".golden")
			if *update {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestExitCodesAndMessages(t *testing.T) {
	good := newFixture(t, twoProfiles)
	good.writeToken(t)
	noToken := newFixture(t, twoProfiles)
	bad := newFixture(t, "listen: 0.0.0.0:1\nsession_store: disk\nprofiles:\n  dev: {aws_profile: dev, duration: 20h}\n")
	typo := newFixture(t, "lisen: 127.0.0.1:1\n")
	typoAndBad := newFixture(t, "lisen: 127.0.0.1:1\nlisten: 0.0.0.0:1\nsession_store: disk\nprofiles:\n  dev: {aws_profile: dev, duration: 20h}\n")
	for _, tc := range []struct {
		name string
		f    *fixture
		args []string
		code int
		want []string // in stdout+stderr
	}{
		{"config check ok", good, []string{"config", "check"}, 0, []string{"ok: 2 profile(s), default \"dev\""}},
		{"config check lists every error with its key", bad, []string{"config", "check"}, 2, []string{"3 problem(s)", "listen: must be a loopback address", "session_store: must be one of", "profiles.dev.duration: must be between 15m and 12h", "credd config check"}},
		{"unknown key", typo, []string{"config", "check"}, 2, []string{"lisen: unknown key (line 2)"}},
		{"unknown keys and invalid values reported together", typoAndBad, []string{"config", "check"}, 2,
			[]string{"4 problem(s)", "lisen: unknown key", "listen: must be a loopback address", "session_store: must be one of", "profiles.dev.duration: must be between"}},
		{"serve reports them together too", typoAndBad, []string{"serve"}, 2, []string{"4 problem(s)", "lisen: unknown key", "profiles.dev.duration"}},
		{"status with a broken config and no daemon", typoAndBad, []string{"status"}, 3,
			[]string{"warning: the configuration has problems: lisen: unknown key", "(and 3 more)", "credd config check", "credd is not running"}},
		{"serve refuses an invalid config", bad, []string{"serve"}, 2, []string{"listen: must be a loopback address"}},
		{"env before the daemon ever ran", noToken, []string{"env"}, 3, []string{"credd has not run yet", "credd serve"}},
		{"env with an unknown profile", good, []string{"env", "--profile", "prod"}, 2, []string{`no profile "prod"`, "dev, ops"}},
		{"env with an unknown shell", good, []string{"env", "--shell", "tcsh"}, 2, []string{"--shell", "sh, fish, powershell, cmd"}},
		{"unknown command", good, []string{"frobnicate"}, 2, []string{"unknown command"}},
		{"unknown flag", good, []string{"env", "--nope"}, 2, []string{"unknown flag"}},
		{"unknown command, with a suggestion", good, []string{"stauts"}, 2, []string{`unknown command "stauts"`, "Did you mean this?", "status"}},
		{"unknown shorthand", good, []string{"env", "-q"}, 2, []string{"unknown shorthand"}},
		{"flag without its value", good, []string{"env", "--profile"}, 2, []string{"flag needs an argument"}},
		{"bad flag value", good, []string{"status", "--json=maybe"}, 2, []string{"invalid argument"}},
		{"an argument where none is taken", good, []string{"status", "extra"}, 2, []string{`unknown command "extra"`}},
		{"no command prints the help", good, nil, 0, []string{"Available Commands:"}},
		{"missing explicit config", good, []string{"--config", "/nonexistent/credd.yaml", "config", "check"}, 2, []string{"does not exist", "docs/configuration.md"}},
		{"bad log level", good, []string{"--log-level", "loud", "serve"}, 2, []string{"--log-level"}},
		{"config show redacts", good, []string{"config", "show"}, 0, []string{"aws_profile: dev", "listen: 127.0.0.1:9955"}},
		{"version", good, []string{"version"}, 0, []string{"credd ", runtime.Version()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", tc.f.cfgPath}, tc.args...)
			if len(tc.args) > 0 && tc.args[0] == "--config" {
				args = tc.args
			}
			code, out, errOut := tc.f.run(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output does not contain %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

// TestExitCode: the one mapping of errors to exit codes, by type and kind,
// never by message text.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"none", nil, ExitOK},
		{"a runtime failure that mentions an invalid argument", fmt.Errorf("writing /x: %w", syscall.EINVAL), ExitFailure},
		{"a runtime failure that says accepts", errors.New("the portal accepts 3 requests a second"), ExitFailure},
		{"a usage error", usageError{errors.New(`unknown flag: --nope`)}, ExitUsage},
		{"configuration problems", config.Errors{{Key: "listen", Msg: "must be a loopback address"}}, ExitUsage},
		{"an explicit code wins over the kind", exitf(ExitFailure, "sign-in to corp failed: %w", cred.ErrLoginRequired), ExitFailure},
		{"the daemon is not running", clientErr(fmt.Errorf("%w (no answer on /run/credd/control.sock)", control.ErrNotRunning)), ExitNotRunning},
		{"sign-in required, across the socket", clientErr(&control.Error{Status: 503, Code: control.CodeLoginRequired, Kind: "login-required", Message: "run `credd login`"}), ExitLoginRequired},
		{"MFA code required, across the socket", clientErr(&control.Error{Status: 503, Code: control.CodeLoginRequired, Kind: "mfa-required"}), ExitLoginRequired},
		{"unknown profile, across the socket", clientErr(&control.Error{Status: 404, Code: control.CodeNotFound, Kind: "unknown-profile"}), ExitUsage},
		{"unknown session, across the socket", clientErr(&control.Error{Status: 404, Code: control.CodeNotFound, Kind: "unknown-session"}), ExitUsage},
		{"invalid request, across the socket", clientErr(&control.Error{Status: 400, Code: control.CodeBadRequest, Kind: "invalid"}), ExitUsage},
		{"a conflict is a runtime failure", clientErr(&control.Error{Status: 409, Code: control.CodeConflict, Kind: "conflict"}), ExitFailure},
		{"not available", clientErr(&control.Error{Status: 503, Code: control.CodeNotAvailable, Kind: "not-available"}), ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err); got != tc.code {
				t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.code)
			}
		})
	}
}

func TestServeRefusesAConfigOthersCanWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the config is made writable by others with chmod, and Windows has no such mode bits; its DACL refusal is daemon's TestCheckPrivateReadsTheDACL")
	}
	f := newFixture(t, twoProfiles)
	if err := os.Chmod(f.cfgPath, 0o666); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := f.run(t, "--config", f.cfgPath, "serve")
	if code != 2 || !strings.Contains(errOut, f.cfgPath) || !strings.Contains(errOut, "chmod go-w") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// TestServeRefusesSessionFilesOthersCanWrite: like the config and the
// token, stored sessions that group or others may write stop `credd serve`
// (exit 2) before it serves anything, naming the file and the fix.
func TestServeRefusesSessionFilesOthersCanWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("session files are made writable by others with chmod; on Windows the store does not check them (docs/security.md)")
	}
	for _, tc := range []struct {
		name      string
		entryMode os.FileMode
		dirMode   os.FileMode
		want      []string // besides the offending path
	}{
		{"world-writable session file", 0o666, 0o700, []string{"chmod 600", "or remove the file", `"sso/corp"`}},
		{"group-writable session file", 0o620, 0o700, []string{"chmod 600", "or remove the file"}},
		{"world-writable sessions dir", 0o600, 0o777, []string{"chmod 700"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The listen address is taken: should the check let serve
			// through, it stops there instead of serving forever.
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			f := newFixture(t, strings.Replace(twoProfiles, "127.0.0.1:9955", taken.Addr().String(), 1)+"session_store: file\n")
			f.writeToken(t)
			dir := filepath.Join(f.stateDir, "sessions")
			entry := filepath.Join(dir, "sso%2Fcorp.json")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(entry, []byte(`{"kind":"sso"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(entry, tc.entryMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			offending := entry
			if tc.dirMode != 0o700 {
				offending = dir
			}
			code, _, errOut := f.run(t, "--config", f.cfgPath, "serve")
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, errOut)
			}
			for _, w := range append([]string{"refusing to start", offending}, tc.want...) {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestZeroConfigServesAWSProfiles(t *testing.T) {
	f := newFixture(t, "")
	os.MkdirAll(filepath.Join(f.dir, ".aws"), 0o700)
	os.WriteFile(filepath.Join(f.dir, ".aws", "config"), []byte("[default]\nregion=us-east-1\n[profile dev]\nregion=eu-west-1\n[profile bad name]\n[sso-session corp]\n"), 0o600)
	os.WriteFile(filepath.Join(f.dir, ".aws", "credentials"), []byte("[legacy]\naws_access_key_id=x\n"), 0o600)
	for _, tc := range []struct {
		name, awsProfile, wantDefault string
	}{
		{"default profile", "", "default"},
		{"AWS_PROFILE picks the default", "dev", "dev"},
		{"AWS_PROFILE naming no profile falls back", "ghost", "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.env["AWS_PROFILE"] = tc.awsProfile
			code, out, errOut := f.run(t, "config", "show")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range []string{"default_profile: " + tc.wantDefault, "dev:\n    aws_profile: dev", "legacy:\n    aws_profile: legacy", "default:\n    aws_profile: default"} {
				if !strings.Contains(out, w) {
					t.Errorf("config show lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "corp") || strings.Contains(out, "bad name") {
				t.Errorf("served an sso-session section or an invalid name:\n%s", out)
			}
		})
	}
	code, out, _ := f.run(t, "config", "path")
	if code != 0 || strings.TrimSpace(out) != filepath.Join(f.env["XDG_CONFIG_HOME"], "credd", "config.yaml") {
		t.Errorf("config path = %q (exit %d)", out, code)
	}
}

func TestOverridePrecedence(t *testing.T) {
	f := newFixture(t, twoProfiles)
	f.writeToken(t)
	f.env["CREDD_LISTEN"] = "127.0.0.1:7001"
	_, out, _ := f.run(t, "--config", f.cfgPath, "env")
	if !strings.Contains(out, "http://127.0.0.1:7001/v1/credentials") {
		t.Errorf("CREDD_LISTEN not applied:\n%s", out)
	}
	_, out, _ = f.run(t, "--config", f.cfgPath, "--listen", "127.0.0.1:7002", "env")
	if !strings.Contains(out, "http://127.0.0.1:7002/v1/credentials") {
		t.Errorf("--listen should win over CREDD_LISTEN:\n%s", out)
	}
	f.env["CREDD_IMDS_HOP_LIMIT"] = "many"
	code, _, errOut := f.run(t, "--config", f.cfgPath, "config", "check")
	if code != 2 || !strings.Contains(errOut, "imds.hop_limit: bad value") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	delete(f.env, "CREDD_IMDS_HOP_LIMIT")
	f.env["CREDD_CONFIG"] = f.cfgPath
	if code, out, _ := f.run(t, "config", "path"); code != 0 || strings.TrimSpace(out) != f.cfgPath {
		t.Errorf("CREDD_CONFIG not honoured: %q", out)
	}
}

// TestUnknownEnvWarnings: config check and serve name an unknown CREDD_*
// variable and the closest known one, go on, and never print its value.
func TestUnknownEnvWarnings(t *testing.T) {
	const secret = "value-DO-NOT-PRINT"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // in stderr; none: no warning at all
	}{
		{"typo", map[string]string{"CREDD_LISTN": secret}, []string{"CREDD_LISTN", "CREDD_LISTEN"}},
		{"CI variables", map[string]string{"CREDD_REQUIRE_PEERS": secret, "CREDD_MINIO_BIN": secret, "CREDD_CI_CACHE": secret}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			f.stateDir = shortStateDir(t)
			yaml := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
			if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			maps.Copy(f.env, tc.env)
			code, _, checkErr := f.run(t, "--config", f.cfgPath, "config", "check")
			if code != ExitOK {
				t.Errorf("config check: exit %d: %s", code, checkErr)
			}
			code, serveErr := f.serveOnce(t)
			if code != ExitOK {
				t.Errorf("serve: exit %d: %s", code, serveErr)
			}
			for cmd, stderr := range map[string]string{"config check": checkErr, "serve": serveErr} {
				for _, w := range tc.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd, w, stderr)
					}
				}
				if len(tc.want) == 0 && (strings.Contains(stderr, "warning:") || strings.Contains(stderr, "does not know")) {
					t.Errorf("%s warned about known variables:\n%s", cmd, stderr)
				}
				if strings.Contains(stderr, secret) {
					t.Errorf("%s printed a variable's value:\n%s", cmd, stderr)
				}
			}
		})
	}
}

func TestExec(t *testing.T) {
	f := newFixture(t, twoProfiles)
	f.writeToken(t)
	f.env["AWS_ACCESS_KEY_ID"] = "AKIASHADOW"
	f.env["AWS_PROFILE"] = "elsewhere"
	// The child prints its AWS_* variables, one NAME=value a line.
	child := []string{"/bin/sh", "-c", "env | grep '^AWS_'; exit 7"}
	if runtime.GOOS == "windows" {
		child = []string{"cmd.exe", "/C", "set AWS_& exit 7"}
	}
	code, out, errOut := f.run(t, append([]string{"--config", f.cfgPath, "exec", "--profile", "ops", "--"}, child...)...)
	if code != 7 {
		t.Errorf("exit %d, want the child's 7 (%s)", code, errOut)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimRight(line, "\r"), "=")
		got[k] = v
	}
	want := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9955/v1/credentials/ops", "AWS_CONTAINER_AUTHORIZATION_TOKEN": testToken}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE"} {
		if v, ok := got[k]; ok {
			t.Errorf("child saw %s=%s, want it unset", k, v)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("child saw %s=%q, want %q (all: %q)", k, got[k], v, out)
		}
	}
	if code, _, errOut := f.run(t, "--config", f.cfgPath, "exec", "--", "/nonexistent/cmd"); code != 1 || !strings.Contains(errOut, "/nonexistent/cmd") {
		t.Errorf("missing command: exit %d %s", code, errOut)
	}
}

// TestZeroConfigClientsNeedOnlyTheStateDir: in zero-configuration mode the
// commands that only talk to the daemon do not read ~/.aws/config (the
// daemon serves its profiles; reading thousands of them was most of what
// `credd status` cost), so an unreadable one does not stop them; the
// commands that need the profiles (env, export without --profile) still
// read it and say what is wrong.
func TestZeroConfigClientsNeedOnlyTheStateDir(t *testing.T) {
	f := newFixture(t, "")
	// A directory where the file should be: reading it fails.
	if err := os.MkdirAll(filepath.Join(f.dir, ".aws", "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"status", []string{"status"}, ExitNotRunning, "not running"},
		{"reload", []string{"reload"}, ExitNotRunning, "not running"},
		{"logout", []string{"logout"}, ExitNotRunning, "not running"},
		{"credential-process with a profile", []string{"credential-process", "--profile", "dev"}, ExitNotRunning, "not running"},
		{"export with a profile", []string{"export", "--profile", "dev"}, ExitNotRunning, "not running"},
		{"env reads the profiles", []string{"env", "--profile", "dev"}, ExitUsage, "reading the AWS config files"},
		{"export of the default profile reads them", []string{"export"}, ExitUsage, "reading the AWS config files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := f.run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.want, errOut)
			}
		})
	}
}
