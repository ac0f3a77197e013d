package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/peer"
	"github.com/credd/credd/store"
)

// serveFixture is a configuration for Serve: a state dir short enough for
// a socket path, a private config file, and one profile.
func serveFixture(t *testing.T) (config.Config, Deps) {
	t.Helper()
	state, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	dir := t.TempDir()
	awsCfg, cfgFile := filepath.Join(dir, "aws-config"), filepath.Join(dir, "credd.yaml")
	for path, data := range map[string]string{awsCfg: processProfile(t, "dev", "ASIASERVE", "s", "t"), cfgFile: "profiles: {dev: {aws_profile: dev}}\n"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.StateDir = state
	cfg.Profiles = map[string]config.Profile{"dev": {AWSProfile: "dev"}}
	deps := Deps{AWSConfigFiles: []string{awsCfg}, AWSCredentialFiles: []string{filepath.Join(dir, "none")}, UserName: "tester", RequestWait: testRequestWait,
		Sessions: store.NewMemory(), ConfigPath: cfgFile}
	return cfg, deps
}

// TestServe: Serve runs the daemon with its control socket, makes the
// client token, refuses a second daemon on the same state dir, reloads on
// a value of Reload, and stops cleanly when its context ends.
func TestServe(t *testing.T) {
	cfg, deps := serveFixture(t)
	reloaded := make(chan struct{}, 1)
	deps.LoadConfig = func() (config.Config, error) { reloaded <- struct{}{}; return cfg, nil }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, done := make(chan *Daemon, 1), make(chan error, 1)
	go func() {
		done <- Serve(ctx, cfg, deps, ServeOptions{Info: ControlInfo{Version: "v-serve"}, Listeners: []net.Listener{ln}, Reload: hup,
			Started: func(d *Daemon) { started <- d }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}

	st, err := control.NewClient(cfg.StateDir).Status(ctx)
	if err != nil || st.Version != "v-serve" || len(st.Profiles) != 1 || st.Profiles[0].Name != "dev" {
		t.Fatalf("status over the control socket: %+v, %v", st, err)
	}
	if _, token, err := ReadToken(cfg.StateDir); err != nil || len(token) == 0 {
		t.Errorf("the client token: %v", err)
	}

	second, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := Serve(ctx, cfg, deps, ServeOptions{Listeners: []net.Listener{second}}); !errors.Is(err, ErrRefused) {
		t.Errorf("a second Serve on the same state dir: %v, want ErrRefused", err)
	}
	second.Close()

	hup <- os.Interrupt
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Error("no reload after a value on Reload")
	}
	if _, err := control.NewClient(cfg.StateDir).Status(ctx); err != nil {
		t.Errorf("the first daemon after the refused second: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := control.NewClient(cfg.StateDir).Status(context.Background()); !errors.Is(err, control.ErrNotRunning) {
		t.Errorf("the control socket after Serve returned: %v", err)
	}
}

// TestServeRefusesAConfigFileOthersCanWrite, before it takes the state dir.
func TestServeRefusesAConfigFileOthersCanWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the config is made writable by others with chmod, and Windows has no such mode bits; its DACL refusal is TestCheckPrivateReadsTheDACL")
	}
	cfg, deps := serveFixture(t)
	if err := os.Chmod(deps.ConfigPath, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := Serve(t.Context(), cfg, deps, ServeOptions{}); !errors.Is(err, ErrRefused) {
		t.Errorf("Serve: %v, want ErrRefused", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, TokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start made the token: %v", err)
	}
}

// TestControlCredentialsAreAudited: credentials handed out over the
// control channel (`credd export`, `credd credential-process`) are lines
// of the audit log naming the command the client said, and the caller as
// the OS names it: this test's PID, executable and user, on the control
// socket.
func TestControlCredentialsAreAudited(t *testing.T) {
	cfg, deps := serveFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- Serve(ctx, cfg, deps, ServeOptions{Listeners: []net.Listener{ln}, Started: func(*Daemon) { close(started) }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	c := control.NewClient(cfg.StateDir)
	for _, command := range []string{control.ForCredentialProcess, control.ForExport} {
		if cr, err := c.Credentials(ctx, "dev", command); err != nil || cr.AccessKeyID != "ASIASERVE" {
			t.Fatalf("%s: %+v, %v", command, cr, err)
		}
	}
	if _, err := c.Credentials(ctx, "nope", control.ForExport); err == nil {
		t.Fatal("an unknown profile was answered")
	}
	cancel() // Serve closes (and so flushes) the audit log it opened
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}

	var got []audit.Entry
	if err := audit.Read(filepath.Join(cfg.StateDir, AuditFile), audit.Filter{}, func(e audit.Entry) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	me, _ := peer.Self()
	if len(got) != 2 {
		t.Fatalf("audit lines %+v, want the two answers", got)
	}
	for i, endpoint := range []string{audit.EndpointCredentialProcess, audit.EndpointExport} {
		e := got[i]
		if e.Endpoint != endpoint || e.Profile != "dev" || e.Status != 200 || e.Listener != control.SocketPath(cfg.StateDir) {
			t.Errorf("line %d = %+v, want %s of dev on %s", i, e, endpoint, control.SocketPath(cfg.StateDir))
		}
		if e.PID != os.Getpid() || !sameFile(e.Exe, exe) || e.UID != me || !strings.Contains(e.Cmdline, "-test.") {
			t.Errorf("line %d attributes %+v; want pid %d, exe %s, uid %s and this test binary's command line", i, e, os.Getpid(), exe, me)
		}
	}
}
