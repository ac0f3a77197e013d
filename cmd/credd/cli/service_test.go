package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/store"
)

// serviceFixture is a user with a config, a credd binary to pin, a fake
// systemctl on PATH (shell builtins only) that logs its calls and remembers
// whether it "runs" the unit, and a daemon stand-in answering the control
// API's status on the state dir's socket.
type serviceFixture struct {
	*fixture
	binary, calls, running string
	daemon                 *fakeDaemon
}

// fakeDaemon serves the control API's status as a running credd would;
// nothing else (its other methods are those of a nil Backend).
type fakeDaemon struct {
	control.Backend
	mu     sync.Mutex
	status control.Status
}

func (d *fakeDaemon) Status(context.Context) control.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// startFakeDaemon serves d on stateDir's control socket until the test ends.
func startFakeDaemon(t *testing.T, stateDir string, st control.Status) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{status: st}
	serveControl(t, stateDir, d)
	return d
}

// serveControl serves a stand-in daemon's control API on stateDir's
// socket, as daemon.Serve serves a daemon's, until the test ends. Tests
// with a real daemon run daemon.Serve itself (liveFixture).
func serveControl(t *testing.T, stateDir string, b control.Backend) {
	t.Helper()
	ln, err := control.Listen(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = control.Serve(ctx, ln, b, nil) }()
	t.Cleanup(func() { cancel(); <-done })
}

const serviceConfig = `profiles:
  dev: {aws_profile: dev}
`

// newServiceFixture is a service fixture with config yaml; with a non-nil
// status a daemon stand-in answers with it.
func newServiceFixture(t *testing.T, yaml string, status *control.Status) *serviceFixture {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("drives systemctl (a fake one): Linux")
	}
	f := newFixture(t, "")
	f.stateDir = shortStateDir(t) // a socket path must be short
	if err := os.WriteFile(f.cfgPath, []byte("state_dir: "+f.stateDir+"\n"+yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	sf := &serviceFixture{fixture: f, calls: filepath.Join(f.dir, "systemctl.calls"), running: filepath.Join(f.dir, "systemctl.running")}
	if status != nil {
		sf.daemon = startFakeDaemon(t, f.stateDir, *status)
	}
	bin := filepath.Join(f.dir, "bin")
	os.MkdirAll(bin, 0o755)
	sf.binary = filepath.Join(f.dir, "opt", "credd")
	os.MkdirAll(filepath.Dir(sf.binary), 0o755)
	if err := os.WriteFile(sf.binary, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
echo "$*" >> '` + sf.calls + `'
state=inactive
[ -f '` + sf.running + `' ] && read -r state < '` + sf.running + `'
case "$2" in
show) if [ "$state" = active ]; then printf 'ActiveState=active\nSubState=running\n'; else printf 'ActiveState=inactive\nSubState=dead\n'; fi ;;
start|restart) echo active > '` + sf.running + `' ;;
stop) echo inactive > '` + sf.running + `' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f.env["PATH"] = bin
	return sf
}

// runningDaemon is what the stand-in says by default.
var runningDaemon = control.Status{PID: 4242, Version: "1.2.3", Profiles: []control.ProfileStatus{{Name: "dev", State: "fresh"}}}

// takeCalls returns and forgets the fake systemctl's calls.
func (sf *serviceFixture) takeCalls(t *testing.T) []string {
	t.Helper()
	b, _ := os.ReadFile(sf.calls)
	os.Remove(sf.calls)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (sf *serviceFixture) unitPath() string {
	return filepath.Join(sf.env["XDG_CONFIG_HOME"], "systemd", "user", "credd.service")
}

// runIn runs the CLI with stdin.
func (f *fixture) runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, IO{
		In: strings.NewReader(stdin), Out: &out, Err: &errb,
		Getenv: func(k string) string { return f.env[k] },
		Environ: func() []string {
			var e []string
			for k, v := range f.env {
				e = append(e, k+"="+v)
			}
			return e
		},
	})
	return code, out.String(), errb.String()
}

func TestServiceLifecycleLinux(t *testing.T) {
	st := runningDaemon
	sf := newServiceFixture(t, "session_store: file\n"+serviceConfig, &st)
	cfg := []string{"--config", sf.cfgPath}
	sessions, err := store.NewFile(filepath.Join(sf.stateDir, store.SessionsDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := sessions.Put(t.Context(), "sso/corp", []byte(`{"kind":"sso"}`)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		stdin     string
		args      []string
		code      int
		out       []string // in stdout+stderr
		calls     []string // systemctl calls, in order; nil: not checked
		unit      bool     // the unit file exists afterwards
		purged    bool     // config and state are gone afterwards
		skipCalls bool
	}{
		{name: "status before install", args: []string{"service", "status"}, code: 3,
			out: []string{"service: not installed", "daemon:  running (pid 4242, credd 1.2.3), 1 profile(s): 1 fresh, but not from the service", "not installed: `credd service install`"}, skipCalls: true},
		{name: "start before install", args: []string{"service", "start"}, code: 3, out: []string{"not installed", "credd service install"}, skipCalls: true},
		{name: "install writes, enables and starts", args: []string{"service", "install", "--binary", sf.binary}, code: 0,
			out:   []string{"installed systemd user unit " + sf.unitPath(), "runs: " + sf.binary + " serve --config " + sf.cfgPath, "running: the daemon answers on " + filepath.Join(sf.stateDir, "control.sock") + ": running (pid 4242"},
			calls: []string{"--user daemon-reload", "--user enable credd.service", "--user start credd.service"}, unit: true},
		{name: "install again is idempotent", args: []string{"service", "install", "--binary", sf.binary}, code: 0,
			out:   []string{"already installed, unchanged", "already running"},
			calls: []string{"--user show credd.service --property=ActiveState,SubState,Result", "--user enable credd.service"}, unit: true},
		{name: "install with a new flag updates and restarts", args: []string{"service", "install", "--binary", sf.binary, "--log-level", "debug"}, code: 0,
			out:   []string{"updated systemd user unit", "--log-level debug", "running"},
			calls: []string{"--user show credd.service --property=ActiveState,SubState,Result", "--user daemon-reload", "--user enable credd.service", "--user restart credd.service"}, unit: true},
		{name: "status running and healthy", args: []string{"service", "status"}, code: 0,
			out: []string{"service: installed, running (running)", "daemon:  running (pid 4242, credd 1.2.3), 1 profile(s): 1 fresh\n", "logs:    journalctl --user -u credd"}, unit: true, skipCalls: true},
		{name: "stop", args: []string{"service", "stop"}, code: 0, out: []string{"stopped (systemd user unit"},
			calls: []string{"--user stop credd.service"}, unit: true},
		{name: "uninstall keeps config and sessions", args: []string{"service", "uninstall"}, code: 0,
			out:   []string{"stopped and removed systemd user unit", "kept: " + sf.cfgPath + ", " + sf.stateDir, "--purge"},
			calls: []string{"--user stop credd.service", "--user disable credd.service", "--user daemon-reload"}},
		{name: "uninstall again", args: []string{"service", "uninstall"}, code: 0, out: []string{"not installed", "nothing to remove"}, calls: []string{""}},
		{name: "purge refused without a yes", stdin: "n\n", args: []string{"service", "uninstall", "--purge"}, code: 2,
			out: []string{"This deletes:", "sessions in the file store: sso/corp", sf.cfgPath, sf.stateDir, "nothing deleted"}, calls: []string{""}},
		{name: "purge after confirmation", stdin: "y\n", args: []string{"service", "uninstall", "--purge"}, code: 0,
			out: []string{"deleted session sso/corp from the file store", "deleted " + sf.cfgPath, "deleted " + sf.stateDir}, calls: []string{""}, purged: true},
	}
	sf.writeToken(t)
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			code, out, errOut := sf.runIn(t, st.stdin, append(cfg, st.args...)...)
			if code != st.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, st.code, out, errOut)
			}
			for _, w := range st.out {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
			calls := sf.takeCalls(t)
			if !st.skipCalls && st.calls != nil && strings.Join(calls, "\n") != strings.Join(st.calls, "\n") {
				t.Errorf("systemctl calls:\n  %s\nwant\n  %s", strings.Join(calls, "\n  "), strings.Join(st.calls, "\n  "))
			}
			if _, err := os.Stat(sf.unitPath()); (err == nil) != st.unit {
				t.Errorf("unit file exists: %v, want %v", err == nil, st.unit)
			}
			_, cerr := os.Stat(sf.cfgPath)
			_, serr := os.Stat(sf.stateDir)
			if gone := cerr != nil && serr != nil; gone != st.purged {
				t.Errorf("config and state gone: %v, want %v", gone, st.purged)
			}
		})
		if !ok {
			break
		}
	}
}

// TestServiceStatusAsksTheDaemon: the daemon's health is its own answer on
// the control socket of the configured state dir, not whatever answers on
// the listen port.
func TestServiceStatusAsksTheDaemon(t *testing.T) {
	signInConfig := `sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
identity_providers:
  okta: {issuer: "https://corp.okta.com/oauth2/default", client_id: 0oa1example}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
  ops: {sso_session: corp, account_id: "444455556666", role_name: Ops}
  app: {identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/app"}
  keys: {aws_profile: keys}
  chain: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/chain"}
`
	needsSignIn := control.Status{PID: 77, Version: "1.2.3", Started: time.Now().Add(-time.Hour), Profiles: []control.ProfileStatus{
		{Name: "dev", State: "login-required"}, {Name: "ops", State: "login-required"}, {Name: "app", State: "login-required"},
		{Name: "keys", State: "fresh"}, {Name: "chain", State: "error"},
	}, Sessions: []control.SessionStatus{{Name: "sso/corp", Kind: "sso", State: "login-required"}}}
	for _, tc := range []struct {
		name    string
		yaml    string
		daemon  *control.Status
		healthz bool // something else answers /healthz on the listen port
		code    int
		want    []string
		not     []string
	}{
		{name: "running and answering: pid, uptime, profiles by state, sign-ins with their commands", yaml: signInConfig, daemon: &needsSignIn, code: 0,
			want: []string{
				"service: installed, running (running)",
				"daemon:  running (pid 77, up 1h0m, credd 1.2.3), 5 profile(s): 1 fresh, 3 login-required, 1 error\n",
				"sign-in: session sso/corp: run `credd login --sso-session corp`\n",
				"sign-in: profile app: run `credd login --provider okta`\n",
			},
			not: []string{"profile dev", "profile ops", "but not from the service"}},
		{name: "a status without pid or start time", yaml: serviceConfig, daemon: &control.Status{}, code: 0,
			want: []string{"daemon:  running, 0 profile(s)\n"}},
		{name: "the service runs but no daemon answers", yaml: serviceConfig, code: 1,
			want: []string{"daemon:  not running (no answer on ", "control.sock)", "its daemon does not answer on", "see its logs (journalctl --user -u credd)"}},
		{name: "another program answering /healthz on the listen port is not the daemon", yaml: serviceConfig, healthz: true, code: 1,
			want: []string{"daemon:  not running (no answer on "}, not: []string{"daemon:  running"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := tc.yaml
			if tc.healthz {
				other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }))
				t.Cleanup(other.Close)
				yaml = "listen: " + strings.TrimPrefix(other.URL, "http://") + "\n" + yaml
			}
			sf := newServiceFixture(t, yaml, tc.daemon)
			if code, out, errOut := sf.runIn(t, "", "--config", sf.cfgPath, "service", "install", "--no-start", "--binary", sf.binary); code != 0 {
				t.Fatalf("install: exit %d\n%s%s", code, out, errOut)
			}
			if err := os.WriteFile(sf.running, []byte("active\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := sf.runIn(t, "", "--config", sf.cfgPath, "service", "status")
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out+errOut, n) {
					t.Errorf("output has %q:\n%s%s", n, out, errOut)
				}
			}
		})
	}
}

// brokenList is a store that cannot list its sessions.
type brokenList struct{ store.Store }

func (brokenList) List(context.Context) ([]string, error) { return nil, errors.New("keyring locked") }

// TestPurgeDeletesSessionsFromTheStores: `uninstall --purge` deletes the
// sessions of every store it is given (a memory store stands in for the OS
// keyring), after the one confirmation, and reports each; what it cannot
// delete fails the purge and says what remains.
func TestPurgeDeletesSessionsFromTheStores(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stdin     string
		broken    bool     // the keyring stand-in cannot list
		problems  []string // stores that could not be opened
		code      int
		want      []string
		remaining []string // sessions left in the keyring stand-in
	}{
		{name: "confirmed: sessions, then the files", stdin: "y\n", code: 0,
			want: []string{"This deletes:\n  sessions in the memory store: oidc/okta, sso/corp\n  sessions in the file store: sso/old\n",
				"deleted session oidc/okta from the memory store\ndeleted session sso/corp from the memory store\ndeleted session sso/old from the file store\ndeleted "}},
		{name: "refused: nothing deleted", stdin: "n\n", code: 2, want: []string{"nothing deleted"}, remaining: []string{"oidc/okta", "sso/corp"}},
		{name: "a store that cannot list: the rest goes, the purge fails saying what remains", stdin: "y\n", broken: true, code: 1,
			want:      []string{"deleted session sso/old from the file store", "listing the sessions in the memory store: keyring locked; they remain: run `credd service uninstall --purge` again"},
			remaining: []string{"oidc/okta", "sso/corp"}},
		{name: "a store that could not be opened fails the purge", stdin: "y\n", problems: []string{"the OS keyring did not answer"}, code: 1,
			want: []string{"deleted session sso/old from the file store", "purging: the OS keyring did not answer"}, remaining: []string{"oidc/okta", "sso/corp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			files, err := store.NewFile(filepath.Join(state, store.SessionsDir))
			if err != nil {
				t.Fatal(err)
			}
			keyring := store.NewMemory()
			for st, keys := range map[store.Store][]string{files: {"sso/old"}, keyring: {"sso/corp", "oidc/okta"}} {
				for _, k := range keys {
					if err := st.Put(t.Context(), k, []byte("{}")); err != nil {
						t.Fatal(err)
					}
				}
			}
			var kr store.Store = keyring
			if tc.broken {
				kr = brokenList{keyring}
			}
			if tc.problems != nil {
				kr = nil
			}
			stores := []store.Store{files}
			if kr != nil {
				stores = []store.Store{kr, files}
			}
			var out, errb bytes.Buffer
			a := &app{io: IO{In: strings.NewReader(tc.stdin), Out: &out, Err: &errb}}
			err = a.purge(t.Context(), []string{state}, stores, tc.problems, false)
			code, text := 0, errb.String()+out.String()
			if err != nil {
				code, text = -1, text+err.Error()
				var ee *exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if _, err := os.Stat(state); (err == nil) != (tc.code == 2) {
				t.Errorf("the state dir exists: %v, want %v", err == nil, tc.code == 2)
			}
			if left, _ := keyring.List(t.Context()); strings.Join(left, ",") != strings.Join(tc.remaining, ",") {
				t.Errorf("left in the keyring stand-in: %v, want %v", left, tc.remaining)
			}
		})
	}
}

// TestSessionStoresForPurge: purge opens the stores session_store names,
// without creating the session directory.
func TestSessionStoresForPurge(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		dirExists  bool
		want       []string // the kinds opened
	}{
		{"file store with sessions", store.KindFile, true, []string{store.KindFile}},
		{"file store never used: nothing opened, nothing created", store.KindFile, false, nil},
		{"memory keeps nothing", store.KindMemory, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			dir := filepath.Join(state, store.SessionsDir)
			if tc.dirExists {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			var out, errb bytes.Buffer
			a := &app{io: IO{Out: &out, Err: &errb}}
			stores, problems := a.sessionStores(t.Context(), config.Config{SessionStore: tc.kind, StateDir: state})
			var kinds []string
			for _, s := range stores {
				kinds = append(kinds, s.Kind())
			}
			if strings.Join(kinds, ",") != strings.Join(tc.want, ",") || len(problems) > 0 {
				t.Errorf("opened %v (problems %v), want %v", kinds, problems, tc.want)
			}
			if _, err := os.Stat(dir); (err == nil) != tc.dirExists {
				t.Errorf("session dir exists: %v, want %v", err == nil, tc.dirExists)
			}
		})
	}
}

func TestServiceInstallDefinition(t *testing.T) {
	sf := newServiceFixture(t, serviceConfig, nil)
	zero := newFixture(t, "")
	zero.env["PATH"] = sf.env["PATH"]
	// xdg has a config without state_dir, so XDG_STATE_HOME decides it;
	// noXDG the same without XDG_STATE_HOME; credd's own variable wins in
	// withVar.
	xdg, noXDG, withVar, sameDir := newFixture(t, ""), newFixture(t, ""), newFixture(t, ""), newFixture(t, "")
	for _, f := range []*fixture{xdg, noXDG, withVar, sameDir} {
		f.env["PATH"] = sf.env["PATH"]
		yaml := serviceConfig
		if f == sameDir { // the config names the very dir XDG_STATE_HOME gives
			yaml = "state_dir: " + filepath.Join(f.env["XDG_STATE_HOME"], "credd") + "\n" + yaml
		}
		if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	delete(noXDG.env, "XDG_STATE_HOME")
	withVar.env["CREDD_STATE_DIR"] = filepath.Join(withVar.dir, "elsewhere")
	xdgState := filepath.Join(xdg.env["XDG_STATE_HOME"], "credd")
	printArgs := []string{"service", "install", "--print", "--binary", sf.binary}
	for _, tc := range []struct {
		name string
		f    *fixture
		args []string
		code int
		want []string
		not  []string
	}{
		{"print pins the binary and the config", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--print", "--binary", sf.binary}, 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + sf.cfgPath + "\n", "WantedBy=default.target", "Restart=on-failure"}, nil},
		{"global flags are pinned, paths made absolute", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--print", "--binary", sf.binary, "--listen", "127.0.0.1:9956", "--state-dir", "rel/state"}, 0,
			[]string{"--listen 127.0.0.1:9956 --state-dir /"}, []string{"--state-dir rel/state"}},
		{"system unit runs as SUDO_USER", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--system", "--print", "--binary", sf.binary}, 0,
			[]string{"User=", "WantedBy=multi-user.target"}, nil},
		{"system unit as --user", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--system", "--user", "bob", "--print", "--binary", sf.binary}, 0,
			[]string{"User=bob\n"}, nil},
		{"zero config pins no config and says so", zero, []string{"service", "install", "--no-start", "--binary", sf.binary}, 0,
			[]string{"no config file at", "serves the profiles of ~/.aws/config", "not started (--no-start)",
				"run `credd service install` again to pin it (until then the service, which need not have this shell's XDG_CONFIG_HOME=" + zero.env["XDG_CONFIG_HOME"] + ", looks for " + filepath.Join(zero.dir, ".config", "credd", "config.yaml") + ")",
				"the unit goes to " + filepath.Join(zero.env["XDG_CONFIG_HOME"], "systemd", "user") + ", which systemd reads only if"}, []string{"--config"}},
		{"XDG_STATE_HOME decides the state dir: pinned", xdg, printArgs, 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + xdg.cfgPath + " --state-dir " + xdgState + "\n",
				"note: XDG_STATE_HOME=" + xdg.env["XDG_STATE_HOME"] + " in this shell puts the state dir at " + xdgState + ", not " + filepath.Join(xdg.dir, ".local", "state", "credd") + ": pinned with --state-dir"}, nil},
		{"without XDG_STATE_HOME nothing is pinned", noXDG, printArgs, 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + noXDG.cfgPath + "\n"}, []string{"--state-dir"}},
		{"a --state-dir flag is pinned as given", xdg, append(printArgs, "--state-dir", "/srv/credd-state"), 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + xdg.cfgPath + " --state-dir /srv/credd-state\n"}, []string{xdgState}},
		{"a --state-dir flag naming the XDG dir is pinned once", xdg, append(printArgs, "--state-dir", xdgState), 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + xdg.cfgPath + " --state-dir " + xdgState + "\n"}, nil},
		{"a state_dir in the config is the config's: not pinned", sameDir, printArgs, 0,
			[]string{"ExecStart=" + sf.binary + " serve --config " + sameDir.cfgPath + "\n"}, []string{"--state-dir"}},
		{"CREDD_STATE_DIR is warned about, not replaced by XDG_STATE_HOME", withVar, printArgs, 0,
			[]string{"CREDD_STATE_DIR set in this shell"}, []string{"--state-dir"}},
		{"a go run binary is refused", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--print"}, 2,
			[]string{"temporary build", "--binary"}, nil},
		{"a missing binary is refused", sf.fixture, []string{"--config", sf.cfgPath, "service", "install", "--binary", "/nonexistent/credd"}, 2,
			[]string{"not an executable file"}, nil},
		{"an invalid config is refused before installing", newFixture(t, "listen: 0.0.0.0:1\n"), []string{"service", "install", "--binary", sf.binary}, 2,
			[]string{"listen: must be a loopback address"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.f != sf.fixture && tc.f != zero {
				args = append([]string{"--config", tc.f.cfgPath}, args...)
			}
			if strings.Contains(tc.name, "SUDO_USER") {
				tc.f.env["SUDO_USER"] = "carol"
				defer delete(tc.f.env, "SUDO_USER")
				tc.want = append(tc.want, "User=carol\n")
			}
			if strings.Contains(tc.name, "go run") && !strings.Contains(os.Args[0], "go-build") {
				t.Skip("the test binary is not in a go-build directory")
			}
			code, out, errOut := tc.f.runIn(t, "", args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestServiceNotesUnpinnedEnvironment(t *testing.T) {
	sf := newServiceFixture(t, serviceConfig, nil)
	sf.env["CREDD_IMDS_ALLOW_V1"] = "true"
	code, _, errOut := sf.runIn(t, "", "--config", sf.cfgPath, "service", "install", "--no-start", "--binary", sf.binary)
	if code != 0 || !strings.Contains(errOut, "CREDD_IMDS_ALLOW_V1 set in this shell") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestCompletionScripts(t *testing.T) {
	f := newFixture(t, twoProfiles)
	for _, tc := range []struct{ shell, want string }{
		{"bash", "__start_credd"},
		{"zsh", "#compdef credd"},
		{"fish", "complete -c credd"},
		{"powershell", "Register-ArgumentCompleter"},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			code, out, errOut := f.run(t, "completion", tc.shell)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want a script with %q: %s", code, tc.want, errOut)
			}
		})
	}
}

// `service run` (what the Windows task and service run) is `serve` with a
// log file, stopped by the context as the service manager stops it.
func TestServiceRunServesAndLogsToAFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := newFixture(t, "listen: "+addr+"\nprofiles:\n  dev: {aws_profile: dev}\n")
	logFile := filepath.Join(f.dir, "logs", "credd.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"--config", f.cfgPath, "service", "run", "--log-file", logFile}, IO{
			In: strings.NewReader(""), Out: io.Discard, Err: io.Discard,
			Getenv:  func(k string) string { return f.env[k] },
			Environ: func() []string { return nil },
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the daemon never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("service run exited %d after a stop", code)
	}
	log, err := os.ReadFile(logFile)
	if err != nil || !bytes.Contains(log, []byte("credd started")) || !bytes.Contains(log, []byte("credd stopped")) {
		t.Errorf("log file: %v\n%s", err, log)
	}
	if fi, err := os.Stat(logFile); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", fi.Mode().Perm())
	}
}
