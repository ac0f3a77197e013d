package cli

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// markWriter keeps what is written and closes seen once mark appears.
type markWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	mark string
	seen chan struct{}
	once sync.Once
}

func (w *markWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.mark) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *markWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// environ is the fixture's environment as IO.Environ gives it.
func (f *fixture) environ() []string {
	var e []string
	for k, v := range f.env {
		e = append(e, k+"="+v)
	}
	return e
}

// serveOnce runs `credd serve` with a context that is already cancelled:
// it goes through every start-up check and step, then stops at once.
func (f *fixture) serveOnce(t *testing.T) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	code = Run(ctx, []string{"--config", f.cfgPath, "serve"}, IO{
		In: strings.NewReader(""), Out: io.Discard, Err: &errb,
		Getenv: func(k string) string { return f.env[k] }, Environ: f.environ, Notify: func(string, string) {},
	})
	return code, errb.String()
}

// serving runs `credd serve` for the fixture's config in this process, as
// the OS service would, until the test ends. The daemon sees the fixture's
// environment as it is now.
func (f *fixture) serving(t *testing.T) {
	t.Helper()
	env := maps.Clone(f.env)
	logs := &markWriter{mark: `"msg":"credd started"`, seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--config", f.cfgPath, "serve"}, IO{
			In: strings.NewReader(""), Out: io.Discard, Err: logs,
			Getenv: func(k string) string { return env[k] }, Notify: func(string, string) {},
		})
	}()
	select {
	case <-logs.seen:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d:\n%s", code, logs)
	case <-time.After(30 * time.Second): // a guard, not a timing assumption
		cancel()
		<-done
		t.Fatalf("serve did not start:\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("serve exited %d:\n%s", code, logs)
		}
	})
}

// TestClientCommandsSurviveABrokenConfig: while the file is half-edited,
// commands that talk to the running daemon still find it (state_dir read
// leniently, or from --state-dir / CREDD_STATE_DIR), with one warning
// naming the problem; reload reports the daemon's refusal with every
// problem.
func TestClientCommandsSurviveABrokenConfig(t *testing.T) {
	f := newFixture(t, "")
	f.stateDir = shortStateDir(t)
	good := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
	if err := os.WriteFile(f.cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	awsCfg := filepath.Join(f.dir, "aws-config")
	if err := os.WriteFile(awsCfg, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env["AWS_CONFIG_FILE"], f.env["AWS_SHARED_CREDENTIALS_FILE"] = awsCfg, filepath.Join(f.dir, "aws-credentials")
	f.serving(t)

	for _, tc := range []struct {
		name     string
		config   string
		args     []string          // before the command
		env      map[string]string // for the command
		warning  []string
		refusals []string // in reload's refusal
	}{
		{"not YAML", "state_dir: " + f.stateDir + "\nprofiles:\n  dev: {aws_profile: dev\n", nil, nil,
			[]string{"not valid YAML"}, []string{"reload refused", "not valid YAML"}},
		{"an unknown key and three invalid values",
			"state_dir: " + f.stateDir + "\nlisen: 127.0.0.1:1\nsession_store: disk\nimds: {hop_limit: 99}\nprofiles:\n  dev: {aws_profile: dev, duration: 20h}\n", nil, nil,
			[]string{"imds.hop_limit: must be between 1 and 64", "(and 3 more)"},
			[]string{"reload refused", "lisen: unknown key", "session_store: must be one of", "imds.hop_limit: must be between", "profiles.dev.duration: must be between"}},
		{"not YAML, no state_dir: --state-dir", "profiles: [\n", []string{"--state-dir", f.stateDir}, nil,
			[]string{"not valid YAML"}, []string{"not valid YAML"}},
		{"not YAML, no state_dir: CREDD_STATE_DIR", "profiles: [\n", nil, map[string]string{"CREDD_STATE_DIR": f.stateDir},
			[]string{"not valid YAML"}, []string{"not valid YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(f.cfgPath, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(f.cfgPath, []byte(good), 0o600) })
			for k, v := range tc.env {
				f.env[k] = v
				t.Cleanup(func() { delete(f.env, k) })
			}
			run := func(args ...string) (int, string, string) {
				t.Helper()
				return f.run(t, append(append([]string{"--config", f.cfgPath}, tc.args...), args...)...)
			}
			checkWarning := func(cmd, stderr string) {
				t.Helper()
				if n := strings.Count(stderr, "warning:"); n != 1 {
					t.Errorf("%s: %d warnings, want 1:\n%s", cmd, n, stderr)
				}
				for _, w := range append([]string{"credd config check"}, tc.warning...) {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: the warning lacks %q:\n%s", cmd, w, stderr)
					}
				}
			}
			for _, cmd := range [][]string{{"status"}, {"logout"}, {"env"}, {"env", "--profile", "dev"}} {
				code, out, errOut := run(cmd...)
				if code != ExitOK {
					t.Errorf("%s: exit %d, want 0 (the daemon runs)\n%s%s", cmd, code, out, errOut)
				}
				checkWarning(strings.Join(cmd, " "), errOut)
			}
			if _, out, _ := run("status"); !strings.Contains(out, "dev") {
				t.Errorf("status does not list the daemon's profile:\n%s", out)
			}
			code, _, errOut := run("reload")
			if code != ExitUsage {
				t.Errorf("reload: exit %d, want %d (the daemon refuses)\n%s", code, ExitUsage, errOut)
			}
			checkWarning("reload", errOut)
			for _, w := range tc.refusals {
				if !strings.Contains(errOut, w) {
					t.Errorf("reload: stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	// And once the file is fixed, no warning and reload works.
	if code, _, errOut := f.run(t, "--config", f.cfgPath, "reload"); code != ExitOK || strings.Contains(errOut, "warning") {
		t.Errorf("reload of the fixed file: exit %d\n%s", code, errOut)
	}
}
