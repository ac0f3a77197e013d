package doctor

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
)

func TestCheckSkew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration
		noDate bool
		ok     bool
		want   string
	}{
		{"in sync", 0, false, true, "clock within"},
		{"20 minutes ahead", 20 * time.Minute, false, false, "clock is off by about 20m0s"},
		{"10 minutes behind", -10 * time.Minute, false, false, "clock is off by about 10m0s"},
		{"no Date header", 0, true, false, "no Date header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.noDate {
					w.Header()["Date"] = nil
				} else {
					w.Header().Set("Date", time.Now().Add(tc.offset).UTC().Format(http.TimeFormat))
				}
			}))
			defer srv.Close()
			cfg := config.Default()
			cfg.STS.Endpoint = srv.URL
			f := checkSkew(t.Context(), cfg)
			if f.OK != tc.ok || !strings.Contains(f.What, tc.want) {
				t.Errorf("finding = %+v, want ok=%v mentioning %q", f, tc.ok, tc.want)
			}
			if !f.OK && !f.Warn && f.Fix == "" {
				t.Errorf("a failure without a fix: %+v", f)
			}
		})
	}
	cfg := config.Default()
	cfg.STS.Endpoint = "http://127.0.0.1:1"
	if f := checkSkew(t.Context(), cfg); f.OK || !f.Warn || !strings.Contains(f.What, "unreachable") {
		t.Errorf("unreachable STS: %+v", f)
	}
}

func TestCheckPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	taken := ln.Addr().String()
	if f := checkPort(t.Context(), taken, false); f.OK || !strings.Contains(f.What, "taken by another program") || f.Fix == "" {
		t.Errorf("taken port: %+v", f)
	}
	ln.Close()
	if f := checkPort(t.Context(), taken, false); !f.OK {
		t.Errorf("free port: %+v", f)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if f := checkPort(t.Context(), strings.TrimPrefix(srv.URL, "http://"), true); !f.OK {
		t.Errorf("answering daemon: %+v", f)
	}
}

func TestCheckEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"clean", nil, []string{"no environment variable shadows credd"}},
		{"static keys", map[string]string{"AWS_ACCESS_KEY_ID": "AKIA"}, []string{"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set", "credd env"}},
		{"profile", map[string]string{"AWS_PROFILE": "prod"}, []string{"AWS_PROFILE=prod", "credd env --profile prod"}},
		{"imds disabled", map[string]string{"AWS_EC2_METADATA_DISABLED": "TRUE"}, []string{"AWS_EC2_METADATA_DISABLED=true", "unset"}},
		{"container URI elsewhere", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"}, []string{"points elsewhere"}},
		{"container URI is credd", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9955/v1/credentials"}, []string{"no environment variable shadows credd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Env{Getenv: func(k string) string { return tc.env[k] }}
			var all []string
			for _, f := range checkEnv(config.Default(), e) {
				all = append(all, f.What+" | "+f.Fix)
			}
			joined := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("findings %q lack %q", joined, w)
				}
			}
		})
	}
}

func TestCheckDefaultProfile(t *testing.T) {
	for _, tc := range []struct {
		name, config, credentials string
		env                       map[string]string
		warn                      bool
	}{
		{"credential_process in [default]", "[default]\nregion = eu-west-1\ncredential_process = x\n", "", nil, true},
		{"keys in credentials [default]", "", "[default]\naws_access_key_id = AKIA\n", nil, true},
		{"region only", "[default]\nregion = eu-west-1\n[profile dev]\nrole_arn = x\n", "", nil, false},
		{"credential_process in [profile default]", "[default]\nregion = eu-west-1\n[profile default]\ncredential_process = x\n", "", nil, true},
		{"sso_session in [profile default] only", "[profile default]\nsso_session = corp\n", "", nil, true},
		{"[profile default] in the credentials file is no profile", "", "[profile default]\naws_access_key_id = AKIA\n", nil, false},
		{"keys in a continuation are no keys", "[default]\nregion = eu-west-1\n  aws_access_key_id = AKIA\n", "", nil, false},
		{"AWS_PROFILE set: reported elsewhere", "[default]\ncredential_process = x\n", "", map[string]string{"AWS_PROFILE": "dev"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, creds := dir+"/config", dir+"/credentials"
			os.WriteFile(cfg, []byte(tc.config), 0o600)
			os.WriteFile(creds, []byte(tc.credentials), 0o600)
			e := Env{Getenv: func(k string) string { return tc.env[k] }, AWSFiles: awsfile.Paths{Config: cfg, Credentials: creds}}
			f, ok := checkDefaultProfile(e)
			if ok != tc.warn || (ok && (!f.Warn || !strings.Contains(f.What, "default profile") || f.Fix == "")) {
				t.Errorf("finding = %+v (%v), want warn=%v", f, ok, tc.warn)
			}
		})
	}
}
