package credfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/peertest"
)

// These tests have the SDKs read the files WriteProfile writes: boto3 (the
// strictest parser), Debian's AWS CLI v2 on its older vendored botocore,
// and the Go SDK.

// peerTimeout bounds every peer subprocess.
const peerTimeout = peertest.Timeout

var boto3Interpreter = peertest.Boto3Python

// run runs name with a clean environment: PATH, a fresh HOME, the
// credentials file, an empty config file, IMDS off, and vars.
func run(t *testing.T, credentials string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + credentials,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	cmd.Dir = home
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v:\n%s", name, peerTimeout, e.String())
	}
	return o.String(), e.String(), err
}

// boto3Profiles prints every profile boto3 sees and the credentials
// boto3.Session(profile_name=NAME).get_credentials() resolves for it, or
// the error botocore raised reading the file.
const boto3Profiles = `
import json
import boto3
try:
    profiles = {}
    for name in boto3.Session().available_profiles:
        creds = boto3.Session(profile_name=name).get_credentials()
        if creds is None:
            profiles[name] = None
            continue
        f = creds.get_frozen_credentials()
        profiles[name] = {"access_key": f.access_key, "secret_key": f.secret_key, "token": f.token,
                          "account_id": getattr(f, "account_id", None), "method": creds.method}
    print(json.dumps({"profiles": profiles}))
except Exception as e:
    cause = getattr(e, "kwargs", {}).get("error")  # ConfigParseError hides configparser's
    print(json.dumps({"error": type(e).__name__ + ": " + str(e) + (" (" + repr(cause) + ")" if cause else "")}))
`

type boto3Creds struct {
	AccessKey string  `json:"access_key"`
	SecretKey string  `json:"secret_key"`
	Token     *string `json:"token"`
	AccountID *string `json:"account_id"`
	Method    string  `json:"method"`
}

type boto3View struct {
	Profiles map[string]*boto3Creds `json:"profiles"`
	Error    string                 `json:"error"`
}

func readWithBoto3(t *testing.T, py, path string) boto3View {
	t.Helper()
	out, stderr, err := run(t, path, py, "-c", boto3Profiles)
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	var v boto3View
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
	return v
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TestBoto3 writes each golden case's credentials into a copy of its
// input and has boto3 read every profile before and after: the profile
// written resolves to exactly the new credentials from the shared
// credentials file, and every other profile resolves as it did before.
// Inputs botocore refused before (a key twice) are readable afterwards.
func TestBoto3(t *testing.T) {
	py, err := boto3Interpreter()
	requirePeer(t, "python3 with boto3", err)
	for _, tc := range updateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "credentials")
			if in := readInput(t, tc.name); in != nil {
				if err := os.WriteFile(path, in, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var before boto3View
			if _, err := os.Stat(path); err == nil {
				before = readWithBoto3(t, py, path)
			}
			if err := WriteProfile(path, tc.profile, tc.c); err != nil {
				t.Fatalf("WriteProfile: %v", err)
			}
			after := readWithBoto3(t, py, path)
			if after.Error != "" {
				t.Fatalf("boto3 cannot read the written file: %s", after.Error)
			}
			want := &boto3Creds{
				AccessKey: tc.c.AccessKeyID, SecretKey: tc.c.SecretAccessKey,
				Token: strPtr(tc.c.SessionToken), AccountID: strPtr(tc.c.AccountID),
				Method: "shared-credentials-file",
			}
			if got := after.Profiles[tc.profile]; !reflect.DeepEqual(got, want) {
				t.Errorf("boto3 reads [%s] as %s, want %s", tc.profile, jsonString(got), jsonString(want))
			}
			if before.Error != "" {
				t.Logf("botocore refused the input (%s); it reads the output", before.Error)
				return
			}
			for name, was := range before.Profiles {
				if name == tc.profile {
					continue
				}
				if got, ok := after.Profiles[name]; !ok || !reflect.DeepEqual(got, was) {
					t.Errorf("profile %q was %s, now %s", name, jsonString(was), jsonString(got))
				}
			}
			if len(after.Profiles) != len(before.Profiles) && len(after.Profiles) != len(before.Profiles)+1 {
				t.Errorf("profiles before %d, after %d", len(before.Profiles), len(after.Profiles))
			}
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBoto3RefusesDuplicateSections is why WriteProfile refuses to pick
// one of two [dev] sections: botocore cannot read such a file at all.
func TestBoto3RefusesDuplicateSections(t *testing.T) {
	py, err := boto3Interpreter()
	requirePeer(t, "python3 with boto3", err)
	path := filepath.Join(t.TempDir(), "credentials")
	in := "[dev]\naws_access_key_id = AKIAFIRST\naws_secret_access_key = first\n\n[dev]\nregion = us-west-2\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	v := readWithBoto3(t, py, path)
	if !strings.Contains(v.Error, "already exists") {
		t.Fatalf("boto3 read a file with [dev] twice: %+v", v)
	}
	t.Logf("boto3: %s", v.Error)
	if err := WriteProfile(path, "dev", session); !errors.Is(err, ErrDuplicateSection) {
		t.Errorf("WriteProfile = %v, want ErrDuplicateSection", err)
	}
}

// debianAWSCLI is Debian's AWS CLI v2.9 (apt-get install awscli), on an
// older botocore vendored as awscli.botocore.
const debianAWSCLI = peertest.DebianAWSCLI

// TestDebianAWSCLI has the old CLI export the profile WriteProfile wrote.
func TestDebianAWSCLI(t *testing.T) {
	peertest.RequireDebianAWSCLI(t)
	for _, tc := range updateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "credentials")
			if in := readInput(t, tc.name); in != nil {
				if err := os.WriteFile(path, in, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteProfile(path, tc.profile, tc.c); err != nil {
				t.Fatalf("WriteProfile: %v", err)
			}
			out, stderr, err := run(t, path, debianAWSCLI, "configure", "export-credentials", "--profile", tc.profile, "--format", "process")
			if err != nil {
				t.Fatalf("aws: %v\n%s", err, stderr)
			}
			var got struct {
				Version                                   int
				AccessKeyID                               string `json:"AccessKeyId"`
				SecretAccessKey, SessionToken, Expiration string
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("aws printed %q: %v", out, err)
			}
			if got.AccessKeyID != tc.c.AccessKeyID || got.SecretAccessKey != tc.c.SecretAccessKey || got.SessionToken != tc.c.SessionToken {
				t.Errorf("aws reads [%s] as key %q secret %q token %q, want %q %q %q", tc.profile,
					got.AccessKeyID, got.SecretAccessKey, got.SessionToken, tc.c.AccessKeyID, tc.c.SecretAccessKey, tc.c.SessionToken)
			}
		})
	}
}

// TestGoSDK has aws-sdk-go-v2's shared config loader read the profile
// WriteProfile wrote, with every golden case.
func TestGoSDK(t *testing.T) {
	for _, tc := range updateCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "credentials")
			if in := readInput(t, tc.name); in != nil {
				if err := os.WriteFile(path, in, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteProfile(path, tc.profile, tc.c); err != nil {
				t.Fatalf("WriteProfile: %v", err)
			}
			empty := filepath.Join(dir, "config")
			if err := os.WriteFile(empty, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			sc, err := config.LoadSharedConfigProfile(t.Context(), tc.profile, func(o *config.LoadSharedConfigOptions) {
				o.CredentialsFiles = []string{path}
				o.ConfigFiles = []string{empty}
			})
			if err != nil {
				t.Fatalf("Go SDK: %v", err)
			}
			got := cred.Credentials{
				AccessKeyID: sc.Credentials.AccessKeyID, SecretAccessKey: sc.Credentials.SecretAccessKey,
				SessionToken: sc.Credentials.SessionToken, AccountID: sc.Credentials.AccountID,
			}
			want := cred.Credentials{
				AccessKeyID: tc.c.AccessKeyID, SecretAccessKey: tc.c.SecretAccessKey,
				SessionToken: tc.c.SessionToken, AccountID: tc.c.AccountID,
			}
			if got != want {
				t.Errorf("Go SDK reads [%s] as key %q secret %q token %q account %q, want %q %q %q %q", tc.profile,
					got.AccessKeyID, got.SecretAccessKey, got.SessionToken, got.AccountID,
					want.AccessKeyID, want.SecretAccessKey, want.SessionToken, want.AccountID)
			}
		})
	}
}

func requirePeer(t *testing.T, what string, err error) {
	t.Helper()
	peertest.Require(t, what, err)
}
