package doctor

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/peer"
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

// TestOwnerFinding: the ways of finding a connection's owner, judged: the
// first working is what credd uses; a failing first way is a warning
// naming the way used instead; none working, or one naming another user
// for credd's own connection, is a failure.
func TestOwnerFinding(t *testing.T) {
	errNo := errors.New("operation not permitted")
	for _, tc := range []struct {
		name     string
		probes   []peer.Probe
		ok, warn bool
		want     string
	}{
		{"all work", []peer.Probe{{Way: "sock_diag", User: "1000"}, {Way: "/proc/net/tcp", User: "1000"}}, true, false, "owner through sock_diag (also works: /proc/net/tcp)"},
		{"the only way works", []peer.Probe{{Way: "lsof", User: "1000"}}, true, false, "owner through lsof"},
		{"first fails", []peer.Probe{{Way: "sock_diag", Err: errNo}, {Way: "/proc/net/tcp", User: "1000"}}, false, true, "sock_diag (operation not permitted) does not work here; credd finds each connection's owner through /proc/net/tcp instead"},
		{"a later one fails", []peer.Probe{{Way: "sock_diag", User: "1000"}, {Way: "/proc/net/tcp", Err: errNo}}, true, false, "owner through sock_diag"},
		{"none works", []peer.Probe{{Way: "sock_diag", Err: errNo}, {Way: "/proc/net/tcp", Err: peer.ErrNotFound}}, false, false, "credd refuses every loopback client"},
		{"another user named", []peer.Probe{{Way: "sock_diag", User: "0"}}, false, false, "sock_diag named user 0 for credd's own connection, not 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ownerFinding(tc.probes, "1000")
			if f.OK != tc.ok || f.Warn != tc.warn || !strings.Contains(f.What, tc.want) {
				t.Errorf("finding %+v, want ok=%v warn=%v with %q", f, tc.ok, tc.warn, tc.want)
			}
			if !f.OK && !f.Warn && f.Fix == "" {
				t.Errorf("a failure without a fix: %+v", f)
			}
		})
	}
}

// TestCheckCallersOnThisSystem: this machine's ways, tried for real on
// connections of the test's own: on Linux sock_diag and /proc/net/tcp for
// the owner, /proc/<pid>/fd for the program, SO_PEERCRED for the control
// channel, each naming this process.
func TestCheckCallersOnThisSystem(t *testing.T) {
	fs := checkCallers()
	var all []string
	for _, f := range fs {
		all = append(all, f.What)
		if !f.OK {
			t.Errorf("finding %+v, want ok", f)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	joined := strings.Join(all, "\n")
	for _, w := range []string{"owner through sock_diag (also works: /proc/net/tcp)", "program through the socket's inode under /proc/<pid>/fd", "(SO_PEERCRED)"} {
		if !strings.Contains(joined, w) {
			t.Errorf("findings lack %q:\n%s", w, joined)
		}
	}
}

// TestProcessFinding: a program not found, or found wrong, is a warning:
// credd still works, its audit lines lack (or misname) the program.
func TestProcessFinding(t *testing.T) {
	local, remote := netip.MustParseAddrPort("127.0.0.1:9955"), netip.MustParseAddrPort("127.0.0.1:40000")
	sup := peer.Support{Process: "the test's way", Limits: "nothing"}
	for _, tc := range []struct {
		name string
		set  func(f *peer.Fake)
		ok   bool
		want string
	}{
		{"found", func(f *peer.Fake) { f.Set(remote, "1000", peer.Process{PID: 42}) }, true, "program through the test's way"},
		{"owner unknown", func(*peer.Fake) {}, false, "is not found"},
		{"no process", func(f *peer.Fake) { f.Set(remote, "1000", peer.Process{}) }, false, "is not found"},
		{"another process", func(f *peer.Fake) { f.Set(remote, "1000", peer.Process{PID: 7}) }, false, "was named pid 7, not 42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &peer.Fake{}
			tc.set(r)
			f := processFinding(r, local, remote, 42, sup)
			if f.OK != tc.ok || !tc.ok && !f.Warn || !strings.Contains(f.What, tc.want) {
				t.Errorf("finding %+v, want ok=%v with %q", f, tc.ok, tc.want)
			}
		})
	}
}

// TestCheckControlCaller: what the daemon said of the doctor's own status
// request, against the doctor's user and PID.
func TestCheckControlCaller(t *testing.T) {
	self, _ := peer.Self()
	for _, tc := range []struct {
		name     string
		caller   *control.StatusCaller
		ok, warn bool
		want     string
	}{
		{"this doctor", &control.StatusCaller{User: self, PID: os.Getpid()}, true, false, "the daemon names its control channel's callers"},
		{"an older daemon", nil, false, true, "does not say who called"},
		{"the OS could not tell", &control.StatusCaller{User: self, Error: "process 1: gone"}, false, true, "cannot fully name"},
		{"someone else", &control.StatusCaller{User: self, PID: 1}, false, false, "pid 1 as this doctor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := checkControlCaller(tc.caller)
			if f.OK != tc.ok || f.Warn != tc.warn || !strings.Contains(f.What, tc.want) {
				t.Errorf("finding %+v, want ok=%v warn=%v with %q", f, tc.ok, tc.warn, tc.want)
			}
		})
	}
}

// TestCheckListenerAdmits: the daemon's answer to an IMDS token request
// says whether it knows and serves this user: 200, or a 403 whose message
// the finding repeats.
func TestCheckListenerAdmits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
		want   string
	}{
		{"served", 200, "token", true, "knows this user's connections"},
		{"another user", 403, `{"code":"Forbidden","message":"user 65534 may not use this credd (allow_users: [self])"}`, false, "refuses this user's connections on"},
		{"owner unknown", 403, `{"code":"Forbidden","message":"credd cannot tell which user opened this connection (x)"}`, false, "credd cannot tell which user opened this connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			f := checkListenerAdmits(t.Context(), strings.TrimPrefix(srv.URL, "http://"))
			if f.OK != tc.ok || !strings.Contains(f.What, tc.want) || !tc.ok && f.Fix == "" {
				t.Errorf("finding %+v, want ok=%v with %q", f, tc.ok, tc.want)
			}
			if got == nil || got.Method != http.MethodPut || got.URL.Path != "/latest/api/token" || got.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "1" {
				t.Errorf("request %+v, want a token PUT of a second", got)
			}
		})
	}
}

func TestCheckAWSFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the file is made writable by others with chmod, and Windows has no such mode bits")
	}
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[default]\n"), 0o600)
	os.WriteFile(creds, []byte("[default]\n"), 0o600)
	e := Env{Getenv: func(string) string { return "" }, AWSFiles: awsfile.Paths{Config: cfg, Credentials: creds}}
	if fs := checkAWSFiles(e); len(fs) != 0 {
		t.Errorf("private files: %+v", fs)
	}
	if err := os.Chmod(creds, 0o666); err != nil {
		t.Fatal(err)
	}
	fs := checkAWSFiles(e)
	if len(fs) != 1 || fs[0].OK || fs[0].Warn || !strings.HasPrefix(fs[0].What, creds+": it is writable by group or others") || !strings.Contains(fs[0].Fix, "chmod go-w "+creds) {
		t.Errorf("a 0666 credentials file: %+v", fs)
	}
}

// TestCheckLoginCache: an `aws login` cache directory others may write is
// reported with its fix and what credd does meanwhile; a private one, a
// missing one, or one credd does not share (share_aws_cli_cache: false)
// is not.
func TestCheckLoginCache(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the file is made writable by others with chmod, and Windows has no such mode bits")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	env := Env{Getenv: func(string) string { return "" }, LoginCacheDir: dir}
	shared, notShared := config.Default(), config.Default()
	off := false
	notShared.SignIn.ShareAWSCLICache = &off
	if f, ok := checkLoginCache(shared, env); ok {
		t.Errorf("a missing directory: %+v", f)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if f, ok := checkLoginCache(shared, env); ok {
		t.Errorf("a private directory: %+v", f)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	f, ok := checkLoginCache(shared, env)
	if !ok || f.OK || f.Warn || !strings.HasPrefix(f.What, dir+": it is writable by group or others (mode 0777)") ||
		!strings.Contains(f.What, "credd shares no aws login session with the AWS CLI through it") || !strings.Contains(f.Fix, "chmod 700 "+dir) {
		t.Errorf("a 0777 directory: %+v", f)
	}
	if f, ok := checkLoginCache(notShared, env); ok {
		t.Errorf("not shared: %+v", f)
	}
}
