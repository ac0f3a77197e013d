package config

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
)

// TestLoad: where the configuration comes from, what zero-configuration
// mode serves, and how problems are reported (Load) or carried
// (LoadLenient).
func TestLoad(t *testing.T) {
	const awsConfig = "[default]\nregion = eu-west-1\n[profile dev]\nregion = eu-west-1\n[profile bad name]\nregion = eu-west-1\n"
	for _, tc := range []struct {
		name     string
		file     string // the config file's content; "" is no file
		named    bool   // --config names it
		env      map[string]string
		noAWS    bool // Source.AWSProfiles false
		override func(*Config) Errors

		wantErr      error  // of Load and LoadLenient: no configuration at all
		wantProblems string // of Load: each a substring; LoadLenient carries them
		check        func(t *testing.T, l Loaded, defaultStateDir string)
	}{
		{
			name:    "a named file must exist",
			named:   true,
			wantErr: cred.ErrInvalid,
		},
		{
			name: "no file: the profiles of the shared AWS config",
			env:  map[string]string{"AWS_PROFILE": "dev"},
			check: func(t *testing.T, l Loaded, defaultStateDir string) {
				names := slices.Sorted(func(yield func(string) bool) {
					for n := range l.Config.Profiles {
						if !yield(n) {
							return
						}
					}
				})
				if l.FromFile || !slices.Equal(names, []string{"default", "dev"}) || l.Config.DefaultProfile != "dev" || !slices.Equal(l.Skipped, []string{"bad name"}) {
					t.Errorf("FromFile %v, profiles %v, default %q, skipped %v", l.FromFile, names, l.Config.DefaultProfile, l.Skipped)
				}
			},
		},
		{
			name:  "no file, and the command needs only the state dir",
			noAWS: true,
			check: func(t *testing.T, l Loaded, defaultStateDir string) {
				if len(l.Config.Profiles) != 0 || l.Config.StateDir != defaultStateDir {
					t.Errorf("profiles %v, state dir %q: want none, and %s", l.Config.Profiles, l.Config.StateDir, defaultStateDir)
				}
			},
		},
		{
			name: "the file, its state_dir and CREDD_CONFIG",
			file: "state_dir: state-from-file\nprofiles:\n  dev: {aws_profile: dev}\n",
			check: func(t *testing.T, l Loaded, defaultStateDir string) {
				if !l.FromFile || !l.SetsStateDir || l.Config.StateDir != "state-from-file" || l.Config.Profiles["dev"].AWSProfile != "dev" {
					t.Errorf("FromFile %v, SetsStateDir %v, state dir %q, profiles %v", l.FromFile, l.SetsStateDir, l.Config.StateDir, l.Config.Profiles)
				}
			},
		},
		{
			name: "overrides win over the file, and the state dir comes from the environment",
			file: "listen: 127.0.0.1:9955\nprofiles:\n  dev: {aws_profile: dev}\n",
			override: func(c *Config) Errors {
				c.Listen = "127.0.0.1:9956"
				return nil
			},
			check: func(t *testing.T, l Loaded, defaultStateDir string) {
				if l.Config.Listen != "127.0.0.1:9956" || l.SetsStateDir || l.Config.StateDir != defaultStateDir {
					t.Errorf("listen %q, SetsStateDir %v, state dir %q", l.Config.Listen, l.SetsStateDir, l.Config.StateDir)
				}
			},
		},
		{
			name: "every problem at once: the file's, the overrides' and Validate's",
			file: "listen: 127.0.0.1:9955\nlisten_typo: 1\nprofiles:\n  dev: {source_profile: nowhere, role_arn: arn:aws:iam::111122223333:role/x}\n",
			override: func(*Config) Errors {
				return Errors{{Key: "refresh.ahead", Msg: "not a duration"}}
			},
			wantProblems: "listen_typo|refresh.ahead|profiles.dev",
		},
		{
			name:         "not YAML: an invalid file, and the part that could be read",
			file:         "state_dir: salvaged-state\nprofiles: [\n",
			wantProblems: "config.yaml",
			check: func(t *testing.T, l Loaded, defaultStateDir string) {
				if l.Config.StateDir != "salvaged-state" {
					t.Errorf("state dir %q: want the salvaged one", l.Config.StateDir)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, "config.yaml")
			if tc.file != "" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(home, "aws-config"), []byte(awsConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{
				"HOME": "/home/u", "USERPROFILE": `C:\Users\u`, "LocalAppData": `C:\Users\u\AppData\Local`, "AppData": `C:\Users\u\AppData\Roaming`,
				"XDG_CONFIG_HOME": filepath.Join(home, "no-config-here"),
				"AWS_CONFIG_FILE": filepath.Join(home, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "no-credentials"),
			}
			if tc.file != "" {
				env["CREDD_CONFIG"] = path
			}
			for k, v := range tc.env {
				env[k] = v
			}
			s := Source{Getenv: func(k string) string { return env[k] }, AWSProfiles: !tc.noAWS, Override: tc.override}
			if tc.named {
				s.Path = path
			}
			l, err := Load(s)
			lenient, lerr := LoadLenient(s)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || !errors.Is(lerr, tc.wantErr) {
					t.Fatalf("Load: %v; LoadLenient: %v; want %v from both", err, lerr, tc.wantErr)
				}
				return
			case tc.wantProblems != "":
				for _, want := range strings.Split(tc.wantProblems, "|") {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("Load: %v; want a problem naming %s", err, want)
					}
				}
				if lerr != nil || lenient.Problems == nil || lenient.Problems.Error() != err.Error() {
					t.Errorf("LoadLenient: %v, problems %v; want no error, and Load's problems carried", lerr, lenient.Problems)
				}
			case err != nil || lerr != nil || lenient.Problems != nil:
				t.Fatalf("Load: %v; LoadLenient: %v, problems %v", err, lerr, lenient.Problems)
			}
			if tc.check != nil {
				def, err := DefaultStateDir(s.Getenv)
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, l, def)
				tc.check(t, lenient, def)
			}
		})
	}
}

func TestFilePath(t *testing.T) {
	for _, tc := range []struct {
		name, flag, env string
		want            string
		explicit        bool
	}{
		{name: "--config", flag: "/etc/a.yaml", env: "/etc/b.yaml", want: "/etc/a.yaml", explicit: true},
		{name: "CREDD_CONFIG", env: "/etc/b.yaml", want: "/etc/b.yaml", explicit: true},
		{name: "the default", want: filepath.Join("credd", "config.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CREDD_CONFIG": tc.env, "HOME": "/home/u", "USERPROFILE": `C:\Users\u`, "AppData": `C:\Users\u\AppData\Roaming`}
			got, explicit, err := FilePath(tc.flag, func(k string) string { return env[k] })
			if err != nil || !strings.HasSuffix(got, tc.want) || explicit != tc.explicit {
				t.Errorf("FilePath = %q, %v, %v; want …%s, %v", got, explicit, err, tc.want, tc.explicit)
			}
		})
	}
}

func TestLoginCommand(t *testing.T) {
	c := Config{Profiles: map[string]Profile{
		"dev":   {SSOSession: "corp"},
		"app":   {IdentityProvider: "okta"},
		"chain": {SourceProfile: "keys", IdentityProvider: "okta"},
		"keys":  {AWSProfile: "keys"},
	}}
	for profile, want := range map[string]string{
		"dev":     "credd login --sso-session corp",
		"app":     "credd login --provider okta",
		"chain":   "credd login --provider okta",
		"keys":    "credd login --profile keys",
		"unknown": "credd login --profile unknown",
	} {
		if got := c.LoginCommand(profile); got != want {
			t.Errorf("LoginCommand(%s) = %q, want %q", profile, got, want)
		}
	}
}

func TestBrief(t *testing.T) {
	for _, tc := range []struct {
		name     string
		problems error
		max      int
		want     string
	}{
		{"one", Errors{{Key: "listen", Msg: "must be a loopback address"}}, 300, "listen: must be a loopback address"},
		{"the first, and how many more", Errors{{Key: "a", Msg: "x"}, {Key: "b", Msg: "y"}, {Key: "c", Msg: "z"}}, 300, "a: x (and 2 more)"},
		{"not Errors, on one line, cut", errors.New("yaml: line 3:\n  did not find expected key"), 20, "yaml: line 3: did n…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Brief(tc.problems, tc.max); got != tc.want {
				t.Errorf("Brief = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUserName(t *testing.T) {
	got := UserName(func(string) string { return "" })
	if u, err := user.Current(); err == nil && u.Username != "" {
		if got != u.Username {
			t.Errorf("UserName = %q, want the user database's %q", got, u.Username)
		}
	} else if got != "credd" {
		t.Errorf("UserName = %q without a user database or variables, want credd", got)
	}
}
