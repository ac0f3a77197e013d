package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/internal/credproctest"
)

// counted is a credential_process profile that counts its runs, so tests
// see every upstream fetch the AWS SDK makes for it.
type counted struct {
	key, section, countFile string
}

func countedProfile(t *testing.T, name, key string) counted {
	t.Helper()
	c := counted{key: key, countFile: filepath.Join(t.TempDir(), "count")}
	cmd := credproctest.Command(t, credproctest.Spec{CountFile: c.countFile,
		Output: credproctest.Document(key, "secret-of-"+key, "token-of-"+key, time.Now().Add(time.Hour))})
	c.section = fmt.Sprintf("[profile %s]\ncredential_process = %s\n", name, cmd)
	return c
}

func (c counted) calls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(c.countFile)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("x"))
}

// reloadable is a running daemon with a config loader, as `credd serve`
// wires it: with a credd config file, or in zero-config mode (yaml "")
// serving every profile of the shared AWS config.
type reloadable struct {
	*running
	cfgPath, awsConfig, awsCreds string
}

func startReloadable(t *testing.T, yaml, awsConfig string, mods ...func(*Deps)) *reloadable {
	t.Helper()
	dir := t.TempDir()
	r := &reloadable{awsConfig: filepath.Join(dir, "aws", "config"), awsCreds: filepath.Join(dir, "aws", "credentials")}
	if err := os.MkdirAll(filepath.Dir(r.awsConfig), 0o700); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, r.awsConfig, awsConfig)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	load := func() (config.Config, error) {
		cfg := config.Default()
		if yaml == "" {
			files, err := awsfile.Read(awsfile.Paths{Config: r.awsConfig, Credentials: r.awsCreds})
			if err != nil {
				return cfg, err
			}
			cfg.Profiles, _, _ = config.AWSProfiles(files.Profiles(), "")
		} else {
			b, err := os.ReadFile(r.cfgPath)
			if err != nil {
				return cfg, err
			}
			if cfg, err = config.Parse(bytes.NewReader(b)); err != nil {
				return cfg, err
			}
		}
		if cfg.Listen == config.Default().Listen {
			cfg.Listen = listen
		}
		if cfg.StateDir == "" {
			cfg.StateDir = filepath.Join(dir, "state")
		}
		return cfg, nil
	}
	deps := Deps{
		AWSConfigFiles:     []string{r.awsConfig},
		AWSCredentialFiles: []string{r.awsCreds},
		UserName:           "tester",
		ClientToken:        []byte("client-token-0123456789abcdef0123"),
		LoadConfig:         load,
		RequestWait:        testRequestWait,
	}
	if yaml != "" {
		r.cfgPath = filepath.Join(dir, "credd.yaml")
		writeAtomic(t, r.cfgPath, yaml)
		deps.ConfigPath = r.cfgPath
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	deps.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps.Registerer, deps.Gatherer = reg, reg
	for _, mod := range mods {
		mod(&deps)
	}
	d, err := New(t.Context(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	r.running = &running{d: d, url: "http://" + listen, reg: reg, logs: logs}
	return r
}

// writeAtomic replaces a file by renaming a new one over it, as editors do.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (r *reloadable) reload(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.d.Reload(ctx, "test"); err != nil {
		t.Fatalf("reload: %v", err)
	}
}

// served asks for a profile's credentials and returns the status and body.
func (r *reloadable) served(t *testing.T, profile string) (int, string) {
	t.Helper()
	return r.get(t, "/v1/credentials/"+profile, auth)
}

// TestReloadRebuildsEditedAWSProfiles: an aws_profile entry is rebuilt
// when what the SDK resolves for it changes in the shared AWS files, and
// kept, cached credentials and all, when it does not.
func TestReloadRebuildsEditedAWSProfiles(t *testing.T) {
	const yaml = "profiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\n"
	for _, tc := range []struct {
		name string
		// edit returns the new AWS config, given dev's and ops's sections
		// and a second process for ops.
		edit        func(dev, ops, ops2 string) string
		wantOpsKey  string
		wantOpsRuns [2]int // runs of the first and the second process
	}{
		{"ops's credential_process changed", func(dev, _, ops2 string) string { return dev + ops2 }, "ASIAOPSNEW", [2]int{1, 1}},
		{"ops's section gains a setting the SDK reads", func(dev, ops, _ string) string { return dev + ops + "region = eu-west-3\n" }, "ASIAOPSOLD", [2]int{2, 0}},
		{"unrelated edits only", func(dev, ops, _ string) string {
			return "# a comment\n" + dev + "\n" + ops + "[profile other]\nregion = eu-west-1\n"
		}, "ASIAOPSOLD", [2]int{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := countedProfile(t, "dev", "ASIADEV")
			ops := countedProfile(t, "ops", "ASIAOPSOLD")
			ops2 := countedProfile(t, "ops", "ASIAOPSNEW")
			r := startReloadable(t, yaml, dev.section+ops.section)
			for _, p := range []string{"dev", "ops"} {
				if code, body := r.served(t, p); code != 200 {
					t.Fatalf("%s before: %d %s", p, code, body)
				}
			}
			writeAtomic(t, r.awsConfig, tc.edit(dev.section, ops.section, ops2.section))
			r.reload(t)
			for _, p := range []string{"dev", "ops", "dev", "ops"} {
				code, body := r.served(t, p)
				if code != 200 {
					t.Fatalf("%s after: %d %s", p, code, body)
				}
				if p == "ops" && !strings.Contains(body, tc.wantOpsKey) {
					t.Errorf("ops serves %s, want key %s", body, tc.wantOpsKey)
				}
			}
			if n := dev.calls(t); n != 1 {
				t.Errorf("unchanged dev fetched %d times, want 1 (kept with its cache)", n)
			}
			if got := [2]int{ops.calls(t), ops2.calls(t)}; got != tc.wantOpsRuns {
				t.Errorf("ops's processes ran %v times, want %v", got, tc.wantOpsRuns)
			}
			if strings.Contains(r.logs.String(), "secret-of-") {
				t.Errorf("logs carry a secret:\n%s", r.logs)
			}
		})
	}
}

// TestSharedProfileKey: the key of an aws_profile follows everything the
// SDK resolves for the profile, and nothing else in the files.
func TestSharedProfileKey(t *testing.T) {
	const base = `[profile app]
role_arn = arn:aws:iam::111122223333:role/app
source_profile = base
[profile base]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile keys]
region = us-east-1
[profile unrelated]
region = us-east-1
`
	const creds = "[keys]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old-secret\n"
	for _, tc := range []struct {
		name, profile, config, creds string
		changed                      bool
	}{
		{"nothing changed", "app", base, creds, false},
		{"an unrelated profile changed", "app", strings.Replace(base, "[profile unrelated]\nregion = us-east-1", "[profile unrelated]\nregion = eu-west-2", 1), creds, false},
		{"comments and blank lines", "app", "# mine\n\n" + base, creds, false},
		{"the profile's own role", "app", strings.Replace(base, "role/app", "role/other", 1), creds, true},
		{"a source_profile hop", "app", strings.Replace(base, "sso_role_name = Dev", "sso_role_name = Admin", 1), creds, true},
		{"the hop's sso-session", "app", strings.Replace(base, "https://corp.awsapps.com/start", "https://other.awsapps.com/start", 1), creds, true},
		{"keys in the credentials file", "keys", base, strings.Replace(creds, "AKIAOLD", "AKIANEW", 1), true},
		{"a secret in the credentials file", "keys", base, strings.Replace(creds, "old-secret", "new-secret", 1), true},
		{"the profile removed", "app", strings.Replace(base, "[profile app]", "[profile gone]", 1), creds, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			deps := Deps{AWSConfigFiles: []string{filepath.Join(dir, "config")}, AWSCredentialFiles: []string{filepath.Join(dir, "credentials")}}
			key := func(config, creds string) string {
				t.Helper()
				writeAtomic(t, deps.AWSConfigFiles[0], config)
				writeAtomic(t, deps.AWSCredentialFiles[0], creds)
				return readShared(deps).View(tc.profile).Key()
			}
			before := key(base, creds)
			after := key(tc.config, tc.creds)
			if (before != after) != tc.changed {
				t.Errorf("key changed: %v, want %v", before != after, tc.changed)
			}
			for _, k := range []string{before, after} {
				if strings.Contains(k, "secret") || strings.Contains(k, "AKIA") {
					t.Errorf("key %q carries the content", k)
				}
			}
		})
	}
}
