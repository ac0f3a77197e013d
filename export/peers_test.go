package export

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/peertest"
)

// These tests hand the output to the programs that consume it: the Go SDK's
// processcreds provider, Debian's AWS CLI v2 (whose own export must print
// the same bytes), sh, and fish.

// peerTimeout bounds every peer subprocess.
const peerTimeout = peertest.Timeout

func requireSh(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("sh")
	requirePeer(t, "sh", err)
}

// weird has every character class JSON escapes. Only process can carry it.
var weird = exportCase{
	name: "json-escapes",
	c: cred.Credentials{
		AccessKeyID:     "AKIDWEIRD",
		SecretAccessKey: "s\u00e9cr\"et\\/<>&\x01\x7f\U0001F600",
		SessionToken:    "line1\nline2\ttab",
		Expires:         time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC),
	},
	expiry: "2099-12-31T23:59:59+00:00",
}

// processScript writes c in the process format to a file and returns a
// script that prints it: a credential_process.
func processScript(t *testing.T, c cred.Credentials) string {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := Write(&buf, "process", c, ""); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "process.json")
	writeFile(t, out, buf.String(), 0o600)
	script := filepath.Join(dir, "credential-process.sh")
	writeFile(t, script, "#!/bin/sh\nexec cat '"+out+"'\n", 0o700)
	return script
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs name under env (built from scratch: PATH plus vars) and returns
// its stdout, failing the test if it fails.
func run(t *testing.T, vars []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, vars...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestProcessGoSDK: aws-sdk-go-v2's processcreds provider runs a script
// that prints the process output and gets every field back.
func TestProcessGoSDK(t *testing.T) {
	requireSh(t)
	for _, tc := range append(cases, weird) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := processcreds.NewProvider(processScript(t, tc.c)).Retrieve(t.Context())
			if err != nil {
				t.Fatalf("processcreds rejected the output: %v", err)
			}
			if got.AccessKeyID != tc.c.AccessKeyID || got.SecretAccessKey != tc.c.SecretAccessKey || got.SessionToken != tc.c.SessionToken {
				t.Errorf("got key %q secret %q token %q, want %q %q %q", got.AccessKeyID, got.SecretAccessKey, got.SessionToken,
					tc.c.AccessKeyID, tc.c.SecretAccessKey, tc.c.SessionToken)
			}
			if got.CanExpire != !tc.c.Expires.IsZero() {
				t.Errorf("CanExpire = %v, want %v", got.CanExpire, !tc.c.Expires.IsZero())
			}
			if want := tc.c.Expires.Truncate(time.Microsecond); !got.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", got.Expires, want)
			}
		})
	}
}

// debianAWSCLI is Debian's AWS CLI v2.9 (apt-get install awscli), the
// implementation of `aws configure export-credentials` these formats copy.
const debianAWSCLI = peertest.DebianAWSCLI

// TestDebianAWSCLI makes the process output the CLI's credential_process
// and has the CLI export what it read in each of its formats: every byte
// must equal what Write prints. Through botocore's parse and the CLI's
// printing, that checks the JSON escapes, the expiry format and the
// optional fields as well as the line formats themselves.
func TestDebianAWSCLI(t *testing.T) {
	peertest.RequireDebianAWSCLI(t)
	requireSh(t)
	type check struct {
		tc     exportCase
		format string
	}
	var checks []check
	for _, tc := range cases {
		for _, format := range formats[:5] { // the CLI's own
			checks = append(checks, check{tc, format})
		}
	}
	checks = append(checks, check{weird, "process"})
	for _, ck := range checks {
		t.Run(ck.tc.name+"/"+ck.format, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			config := filepath.Join(home, "config")
			writeFile(t, config, "[default]\ncredential_process = "+processScript(t, ck.tc.c)+"\n", 0o600)
			empty := filepath.Join(home, "credentials")
			writeFile(t, empty, "", 0o600)
			got := run(t, []string{"HOME=" + home, "AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=" + empty},
				debianAWSCLI, "configure", "export-credentials", "--format", ck.format)
			var want bytes.Buffer
			if err := Write(&want, ck.format, ck.tc.c, ""); err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("the AWS CLI printed\n%q\ncredd prints\n%q", got, want.String())
			}
		})
	}
}

// shProbe sources $1 and prints every AWS_ variable the shell has, then
// every one it exports to a child.
const shProbe = `. "$1" || exit 1
for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION; do
  eval "if [ \"\${$v+set}\" = set ]; then printf 'shell %s=%s\n' $v \"\$$v\"; fi"
done
env | sed -n 's/^AWS_/exported AWS_/p'
`

// wantVars is what sourcing the output must set.
func wantVars(tc exportCase) []string {
	vars := []string{"AWS_ACCESS_KEY_ID=" + tc.c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + tc.c.SecretAccessKey}
	if tc.c.SessionToken != "" {
		vars = append(vars, "AWS_SESSION_TOKEN="+tc.c.SessionToken)
	}
	if tc.expiry != "" {
		vars = append(vars, "AWS_CREDENTIAL_EXPIRATION="+tc.expiry)
	}
	return vars
}

// probed splits the probe's output into the shell's and the exported
// variables, sorted.
func probed(out string) (shell, exported []string) {
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if v, ok := strings.CutPrefix(l, "shell "); ok {
			shell = append(shell, v)
		} else if v, ok := strings.CutPrefix(l, "exported "); ok {
			exported = append(exported, v)
		}
	}
	sort.Strings(shell)
	sort.Strings(exported)
	return shell, exported
}

// TestEnvSh: sh sources env and env-no-export and has exactly the
// variables, with the expiry as the CLI prints it; only env exports them.
func TestEnvSh(t *testing.T) {
	requireSh(t)
	for _, tc := range cases {
		for _, format := range []string{"env", "env-no-export"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				if err := Write(&buf, format, tc.c, ""); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), "creds.sh")
				writeFile(t, file, buf.String(), 0o600)
				shell, exported := probed(run(t, nil, "sh", "-c", shProbe, "sh", file))
				want := wantVars(tc)
				sort.Strings(want)
				if strings.Join(shell, "\n") != strings.Join(want, "\n") {
					t.Errorf("sh has\n%s\nwant\n%s", strings.Join(shell, "\n"), strings.Join(want, "\n"))
				}
				wantExported := want
				if format == "env-no-export" {
					wantExported = nil
				}
				if strings.Join(exported, "\n") != strings.Join(wantExported, "\n") {
					t.Errorf("sh exports\n%s\nwant\n%s", strings.Join(exported, "\n"), strings.Join(wantExported, "\n"))
				}
			})
		}
	}
}

// TestFish: fish sources the fish output, including a value that needs
// its quoting, and exports every variable. fish is not among the peers
// scripts/install-peers installs, so this test skips without it even under
// CREDD_REQUIRE_PEERS=1.
func TestFish(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		requirePeer(t, "fish (apt-get install fish)", err)
	}
	quoted := cases[0]
	quoted.name = "quotes"
	quoted.c.SecretAccessKey = `it's \ a "$(secret)" \'`
	quoted.c.SessionToken = "two\nlines; echo pwned"
	for _, tc := range append(cases, quoted) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, "fish", tc.c, ""); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "creds.fish")
			writeFile(t, file, buf.String(), 0o600)
			// NUL-separated, so values with newlines come back whole.
			out := run(t, []string{"HOME=" + t.TempDir()}, fish, "--no-config", "-c",
				`source $argv[1]; or exit 1
for v in (env -0 | string split0)
	string match -q -- 'AWS_*' $v; and string join0 -- $v
end
exit 0`, file)
			got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
			sort.Strings(got)
			want := wantVars(tc)
			sort.Strings(want)
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Errorf("fish exports\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func requirePeer(t *testing.T, what string, err error) {
	t.Helper()
	peertest.Require(t, what, err)
}
