package awsfile

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credd/credd/internal/peertest"
)

// botocoreView prints how botocore reads a file: its sections and values
// (configparser, as botocore configures it) and, for a config file, the
// profiles and sso-sessions it names; or the error it raises.
const botocoreView = `
import json, sys
from botocore import configloader
path, kind = sys.argv[1], sys.argv[2]
try:
    raw = configloader.raw_config_parse(path, parse_subsections=False)
    if kind == "config":
        m = configloader.build_profile_map(raw)
        profiles, sessions = m.get("profiles", {}), m.get("sso_sessions", {})
    else:
        profiles, sessions = raw, {}
    print(json.dumps({"sections": raw, "profiles": profiles, "sso_sessions": sessions}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
`

type view struct {
	Error       string                       `json:"error"`
	Sections    map[string]map[string]string `json:"sections"`
	Profiles    map[string]map[string]string `json:"profiles"`
	SSOSessions map[string]map[string]string `json:"sso_sessions"`
}

// viewOf is what Parse makes of a file, in botocore's shape.
func viewOf(f *File) view {
	v := view{Sections: map[string]map[string]string{}, Profiles: map[string]map[string]string{}, SSOSessions: map[string]map[string]string{}}
	values := func(s *Section) map[string]string {
		m := map[string]string{}
		for _, k := range s.Keys() {
			m[k] = s.Value(k)
		}
		return m
	}
	for _, s := range f.Sections {
		v.Sections[s.Header] = values(s)
	}
	for _, n := range f.Profiles() {
		v.Profiles[n] = values(f.Profile(n))
	}
	for _, n := range f.SSOSessions() {
		v.SSOSessions[n] = values(f.SSOSession(n))
	}
	return v
}

// TestBotocoreReadsTheSame has botocore (boto3's, the AWS CLI's parser)
// read every golden input: the sections and values are the same, and so
// are the profile and session names unless the case says credd follows
// the Go SDK there.
func TestBotocoreReadsTheSame(t *testing.T) {
	py, err := peertest.Boto3Python()
	peertest.Require(t, "python3 with boto3", err)
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path, err := filepath.Abs(inputPath(tc.name, tc.kind))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), peertest.Timeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "-c", botocoreView, path, tc.kind.String())
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			var boto view
			if err := json.Unmarshal(out, &boto); err != nil {
				t.Fatalf("python printed %q: %v", out, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ours := viewOf(Parse(data, tc.kind))
			if tc.botocore == "refuses" {
				if boto.Error == "" {
					t.Fatalf("botocore reads the file (%s): the case says it refuses it", out)
				}
				t.Logf("botocore: %s", boto.Error)
				return
			}
			if boto.Error != "" {
				t.Fatalf("botocore refuses the file: %s", boto.Error)
			}
			if !reflect.DeepEqual(ours.Sections, boto.Sections) {
				t.Errorf("sections:\n ours     %v\n botocore %v", ours.Sections, boto.Sections)
			}
			if tc.botocore != "same" {
				return
			}
			if boto.SSOSessions == nil {
				boto.SSOSessions = map[string]map[string]string{} // older botocore
			}
			if !reflect.DeepEqual(ours.Profiles, boto.Profiles) || !reflect.DeepEqual(ours.SSOSessions, boto.SSOSessions) {
				t.Errorf("profiles and sessions:\n ours     %v %v\n botocore %v %v", ours.Profiles, ours.SSOSessions, boto.Profiles, boto.SSOSessions)
			}
		})
	}
}

// TestGoSDKFindsTheProfiles has the Go SDK load every profile Parse finds,
// with the values GoSDKValue gives.
func TestGoSDKFindsTheProfiles(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			path := inputPath(tc.name, tc.kind)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := Parse(data, tc.kind)
			for _, n := range f.Profiles() {
				sc, err := awsconfig.LoadSharedConfigProfile(t.Context(), n, func(o *awsconfig.LoadSharedConfigOptions) {
					if tc.kind == Config {
						o.ConfigFiles, o.CredentialsFiles = []string{path}, []string{}
					} else {
						o.ConfigFiles, o.CredentialsFiles = []string{}, []string{path}
					}
				})
				if err != nil {
					t.Errorf("the Go SDK does not find profile %q: %v", n, err)
					continue
				}
				for key, got := range map[string]string{"region": sc.Region, "credential_process": sc.CredentialProcess, "role_arn": sc.RoleARN} {
					if want := GoSDKValue(f.Profile(n).Value(key)); got != want {
						t.Errorf("profile %q: the Go SDK reads %s %q, GoSDKValue %q", n, key, got, want)
					}
				}
			}
		})
	}
}
