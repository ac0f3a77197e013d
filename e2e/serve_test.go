package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/credproctest"
	"github.com/credd/credd/store"
)

// served is `credd serve` running in-process, as the OS service runs it,
// with everything it does: lock, token, control socket, session store,
// listeners, config watching.
type served struct {
	dir, cfgPath, stateDir, url string
	env                         map[string]string
	logs                        *lockedBuffer
	cancel                      context.CancelFunc
	exit                        chan int
	notes                       chan string // desktop notifications
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newServed prepares a config (profiles in yaml, listen/state_dir filled
// in) and an AWS config; start runs it.
func newServed(t *testing.T, profilesYAML, awsConfig string) *served {
	t.Helper()
	dir := t.TempDir()
	s := &served{dir: dir, cfgPath: filepath.Join(dir, "credd.yaml"), stateDir: filepath.Join(dir, "state")}
	listen := freePort(t)
	s.url = "http://" + listen
	writeFile(t, filepath.Join(dir, "aws-config"), awsConfig)
	writeFile(t, filepath.Join(dir, "aws-credentials"), "")
	s.env = map[string]string{
		"HOME":                        dir,
		"USERPROFILE":                 dir, // the home credd reads on Windows
		"AWS_CONFIG_FILE":             filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "aws-credentials"),
	}
	s.writeConfig(t, "listen: "+listen+"\nstate_dir: "+s.stateDir+"\nsession_store: file\n"+profilesYAML)
	return s
}

func (s *served) writeConfig(t *testing.T, content string) {
	t.Helper()
	// Replace atomically, as editors do.
	tmp := s.cfgPath + ".tmp"
	writeFile(t, tmp, content)
	replaceFile(t, tmp, s.cfgPath)
}

func (s *served) config(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s *served) io(out, errOut *bytes.Buffer) cli.IO {
	return cli.IO{
		In: strings.NewReader(""), Out: out, Err: errOut,
		RequestWait: requestWait,
		Getenv:      func(k string) string { return s.env[k] },
		Environ: func() []string {
			e := []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range s.env {
				e = append(e, k+"="+v)
			}
			return e
		},
	}
}

// start runs `credd serve` and waits until its control socket answers.
func (s *served) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.exit = cancel, make(chan int, 1)
	s.logs = &lockedBuffer{}
	s.notes = make(chan string, 16)
	go func() {
		var out bytes.Buffer
		io := s.io(&out, nil)
		io.Err = s.logs
		io.Notify = func(title, msg string) {
			select {
			case s.notes <- title + ": " + msg:
			default:
			}
		}
		s.exit <- cli.Run(ctx, []string{"--config", s.cfgPath, "--log-format", "json", "--log-level", "debug", "serve"}, io)
	}()
	t.Cleanup(func() { s.stop(t) })
	c := control.NewClient(s.stateDir)
	const within = time.Minute // a bound on a hang, also on a loaded machine
	deadline := time.Now().Add(within)
	for {
		// Each attempt is bounded: under wine a dial in the instant the
		// pipe is created can connect to go-winio's placeholder instance,
		// which nobody serves (control's takePlaceholder), and wait there
		// forever. The next attempt reaches the daemon.
		actx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := c.Status(actx)
		cancel()
		if err == nil {
			return
		}
		select {
		case code := <-s.exit:
			s.exit <- code
			t.Fatalf("credd serve exited %d before answering:\n%s", code, s.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("credd serve did not answer within %v:\n%s", within, s.logs)
		}
	}
}

// nextNote waits for the next desktop notification. A session that ends
// is noted by the goroutine that found out, after it stored the state
// that requests and status read, so a request's 503 can come first; the
// bound only turns a missing notification into a failure.
func (s *served) nextNote(t *testing.T) (string, bool) {
	t.Helper()
	select {
	case n := <-s.notes:
		return n, true
	case <-time.After(20 * time.Second):
		return "", false
	}
}

// stop cancels serve (SIGTERM's path) and returns its exit code.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	if s.cancel == nil {
		return -1
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.exit:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("credd serve did not stop within 30s:\n%s", s.logs)
		return -1
	}
}

// run runs one CLI command against this daemon.
func (s *served) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(t.Context(), append([]string{"--config", s.cfgPath}, args...), s.io(&out, &errOut))
	return code, out.String(), errOut.String()
}

func (s *served) status(t *testing.T) control.Status {
	t.Helper()
	code, out, errOut := s.run(t, "status", "--json")
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

func (s *served) getCreds(profile string, token []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/credentials/"+profile, nil)
	req.Header.Set("Authorization", string(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *served) token(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.stateDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const devOps = `default_profile: dev
profiles:
  dev: {aws_profile: dev}
  ops: {aws_profile: ops}
`

func newDevOps(t *testing.T) (*served, processProfile, processProfile) {
	t.Helper()
	dev, devSec := newProcessProfile(t, "dev")
	ops, opsSec := newProcessProfile(t, "ops")
	return newServed(t, devOps, devSec+opsSec), dev, ops
}

func TestServeStatusAndClientCommands(t *testing.T) {
	s, dev, _ := newDevOps(t)
	if code, _, errOut := s.run(t, "status"); code != cli.ExitNotRunning || !strings.Contains(errOut, "credd serve") {
		t.Errorf("status before start: exit %d %q, want 3 saying how to start", code, errOut)
	}
	s.start(t)
	if code, _ := s.getCreds("dev", s.token(t)); code != 200 {
		t.Fatalf("GET dev: %d", code)
	}
	st := s.status(t)
	if st.DefaultProfile != "dev" || len(st.Profiles) != 2 || st.Store.Kind != "file" || st.PID != os.Getpid() {
		t.Errorf("status = %+v", st)
	}
	if p := st.Profiles[0]; p.Name != "dev" || p.State != "fresh" || p.Source != "aws_profile" || p.Expires == nil || !p.Expires.Equal(dev.Expires) {
		t.Errorf("dev = %+v", p)
	}
	if p := st.Profiles[1]; p.Name != "ops" || p.State != "idle" || p.Expires != nil {
		t.Errorf("ops = %+v, want idle (never asked for)", p)
	}
	code, out, _ := s.run(t, "status")
	for _, want := range []string{"PROFILE", "SOURCE", "STATE", "EXPIRES IN", "dev", "fresh", "idle", "SESSIONS (store: file)", "none"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || strings.Contains(out, "\x1b[") {
		t.Errorf("exit %d; colours when not on a terminal:\n%q", code, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"export env", []string{"export", "--format", "env"}, 0, "export AWS_ACCESS_KEY_ID=" + dev.AccessKeyID},
		{"export unknown profile", []string{"export", "--profile", "nope"}, 2, "credd status"},
		{"export unknown format", []string{"export", "--format", "xml"}, 2, "process, env"},
		{"write needs ini", []string{"export", "--write", "x"}, 2, "--format ini"},
		{"logout with no sessions", []string{"logout"}, 0, "no sessions"},
		{"login with no sessions configured", []string{"login"}, 2, "no sign-in sessions are configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := s.run(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after cancel:\n%s", code, s.logs)
	}
	if code, _, _ := s.run(t, "export"); code != cli.ExitNotRunning {
		t.Errorf("export after stop: exit %d, want 3", code)
	}
}

func TestSecondServeRefusesTheStateDir(t *testing.T) {
	s, _, _ := newDevOps(t)
	s.start(t)
	code, _, errOut := s.run(t, "serve")
	if code != cli.ExitUsage || !strings.Contains(errOut, fmt.Sprintf("process %d holds", os.Getpid())) {
		t.Errorf("second serve: exit %d: %s", code, errOut)
	}
	if code, _ := s.getCreds("dev", s.token(t)); code != 200 {
		t.Errorf("the first daemon stopped serving: %d", code)
	}
}

// TestReloadKeepsServing hammers a profile while the config is edited on
// disk, reloaded by command and by SIGHUP, broken and repaired: zero
// failed requests, and the unchanged profile is never fetched again.
func TestReloadKeepsServing(t *testing.T) {
	s, dev, ops := newDevOps(t)
	s.start(t)
	token := s.token(t)
	if code, _ := s.getCreds("ops", token); code != 200 {
		t.Fatal("ops")
	}
	stop := make(chan struct{})
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var firstFailure atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, err := s.getCreds("dev", token)
				if err != nil || code != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %v", code, err))
					continue
				}
				ok.Add(1)
			}
		})
	}
	base := s.config(t)

	// 1. Edit on disk: add a profile, change ops (duration).
	s.writeConfig(t, strings.Replace(base, "ops: {aws_profile: ops}", "ops: {aws_profile: ops, duration: 2h}\n  extra: {aws_profile: dev}", 1))
	s.waitStatus(t, "reload on file change", func(st control.Status) bool { return profileNames(st) == "dev,extra,ops" })
	// 2. `credd reload` with a profile removed.
	s.writeConfig(t, strings.Replace(base, "ops: {aws_profile: ops}", "ops: {aws_profile: ops, duration: 2h}", 1))
	if code, out, errOut := s.run(t, "reload"); code != 0 || !strings.Contains(out, "reloaded") {
		t.Fatalf("reload: %d %s %s", code, out, errOut)
	}
	s.waitStatus(t, "removal", func(st control.Status) bool { return profileNames(st) == "dev,ops" })
	// 3. An invalid config is refused, the one in force stays.
	s.writeConfig(t, base+"  broken: {aws_profile: x, duration: 99h}\n")
	code, _, errOut := s.run(t, "reload")
	if code != cli.ExitUsage || !strings.Contains(errOut, "profiles.broken.duration") || !strings.Contains(errOut, "stays") {
		t.Errorf("invalid reload: exit %d: %s", code, errOut)
	}
	if profileNames(s.status(t)) != "dev,ops" {
		t.Errorf("the refused config changed the profiles")
	}
	// 4. SIGHUP, with the config repaired.
	if runtime.GOOS != "windows" {
		s.writeConfig(t, base)
		if err := sighupSelf(); err != nil {
			t.Fatal(err)
		}
		s.waitStatus(t, "SIGHUP reload", func(control.Status) bool {
			return strings.Contains(s.logs.String(), `"reason":"SIGHUP"`)
		})
	}
	// Let the hammer run past the last swap, and long enough to have been
	// answered a hundred times: reloads take milliseconds, and on a busy
	// machine the four clients may have had few turns while they ran.
	time.Sleep(50 * time.Millisecond)
	for deadline := time.Now().Add(time.Minute); ok.Load() < 100 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("%d requests failed (first: %v), %d succeeded during reloads", failed.Load(), firstFailure.Load(), ok.Load())
	}
	if n := dev.calls(t); n != 1 {
		t.Errorf("unchanged profile dev fetched %d times across reloads, want 1 (cache kept)", n)
	}
	if code, _ := s.getCreds("ops", token); code != 200 {
		t.Fatal("ops after reloads")
	}
	if n := ops.calls(t); n < 2 {
		t.Errorf("changed profile ops fetched %d times, want a new fetch after its change", n)
	}
	if !strings.Contains(s.logs.String(), `"msg":"reload refused: the configuration in force stays"`) {
		t.Errorf("the refused reload was not logged")
	}
}

// TestSessionsSurviveRestart: stored sessions are read at start, shown in
// status and metrics, survive a restart, and logout forgets them; a
// corrupt entry is reported and skipped.
func TestSessionsSurviveRestart(t *testing.T) {
	s, _, _ := newDevOps(t)
	fs, err := store.NewFile(filepath.Join(s.stateDir, store.SessionsDir))
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(8 * time.Hour).UTC().Truncate(time.Second)
	if err := fs.Put(t.Context(), "sso/corp", []byte(fmt.Sprintf(`{"kind":"sso","expires_at":%q,"refresh_token":"RT-never-shown"}`, expires.Format(time.RFC3339)))); err != nil {
		t.Fatal(err)
	}
	if err := fs.Put(t.Context(), "oidc/broken", []byte(`{not json`)); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s.start(t)
		st := s.status(t)
		if len(st.Sessions) != 1 || st.Sessions[0].Name != "sso/corp" || st.Sessions[0].Kind != "sso" || !st.Sessions[0].Expires.Equal(expires) {
			t.Errorf("round %d: sessions = %+v", round, st.Sessions)
		}
		if len(st.Store.Problems) != 1 || !strings.Contains(st.Store.Problems[0], "oidc/broken") {
			t.Errorf("round %d: problems = %q", round, st.Store.Problems)
		}
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf(`credd_session_expiry_timestamp_seconds{session="sso/corp"} %g`, float64(expires.Unix())); !strings.Contains(body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
		if strings.Contains(body.String()+s.logs.String(), "RT-never-shown") {
			t.Errorf("a refresh token reached metrics or logs")
		}
		s.stop(t)
	}
	s.start(t)
	if code, out, errOut := s.run(t, "logout", "--session", "sso/corp"); code != 0 || !strings.Contains(out, "forgot sso/corp") {
		t.Fatalf("logout: %d %s %s", code, out, errOut)
	}
	s.stop(t)
	s.start(t)
	if st := s.status(t); len(st.Sessions) != 0 {
		t.Errorf("after logout and restart: %+v", st.Sessions)
	}
}

// TestGracefulShutdownFinishesInFlightRequests: a request waiting on a slow
// upstream when the daemon is told to stop still gets its answer.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	script := credproctest.Command(t, credproctest.Spec{StartedFile: started, Sleep: time.Second,
		Output: credproctest.Document("ASIASLOW", "s", "t", time.Now().Add(time.Hour))})
	s := newServed(t, "profiles:\n  slow: {aws_profile: slow}\n", "[profile slow]\ncredential_process = "+script+"\n")
	s.start(t)
	token := s.token(t)
	result := make(chan int, 1)
	go func() {
		code, _ := s.getCreds("slow", token)
		result <- code
	}()
	waitFor(t, "the upstream call to start", func() bool { _, err := os.Stat(started); return err == nil })
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d", code)
	}
	if code := <-result; code != 200 {
		t.Errorf("in-flight request got %d, want 200\n%s", code, s.logs)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binEnv names a credd binary built beforehand, for test binaries that
// cannot build one: under wine there is no go.exe (the machine's Go is a
// Linux program), so scripts/test-windows builds credd.exe and names it.
const binEnv = "CREDD_E2E_BIN"

// creddBinary builds credd once for the tests that need it as a separate
// program (credential_process), or takes the one $CREDD_E2E_BIN names.
func creddBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(binEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("$%s: %v", binEnv, err)
		}
		return bin
	}
	// The Go toolchain is a peer: a Windows test binary run under wine
	// finds no go.exe (the machine's is a Linux program).
	goTool, err := exec.LookPath("go")
	requirePeer(t, "the Go toolchain (go on PATH, to build credd)", err)
	binOnce.Do(func() {
		binPath = filepath.Join(buildDir, "credd")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command(goTool, "build", "-o", binPath, "../cmd/credd").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestCredentialProcessAndExportJudgedByClients: `credd credential-process`
// works as credential_process for aws-sdk-go-v2's processcreds and for the
// AWS CLI; `export --format ini --write` is read by boto3.
func TestCredentialProcessAndExportJudgedByClients(t *testing.T) {
	s, dev, _ := newDevOps(t)
	s.start(t)
	bin := creddBinary(t)
	command := fmt.Sprintf("%s --config %s credential-process --profile dev", bin, s.cfgPath)

	t.Run("aws-sdk-go-v2 processcreds", func(t *testing.T) {
		c, err := processcreds.NewProvider(command).Retrieve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != dev.AccessKeyID || c.SecretAccessKey != dev.Secret || c.SessionToken != dev.SessionToken || !c.Expires.Equal(dev.Expires) {
			t.Errorf("got %q %q, expires %v", c.AccessKeyID, c.SessionToken, c.Expires)
		}
	})
	t.Run("AWS CLI 2.9 credential_process", func(t *testing.T) {
		requireDebianAWSCLI(t)
		cfg := filepath.Join(t.TempDir(), "config")
		writeFile(t, cfg, "[profile viacredd]\ncredential_process = "+command+"\n")
		env := clientEnv(t, map[string]string{"AWS_CONFIG_FILE": cfg})
		r := runClient(t, env, t.TempDir(), "/usr/bin/aws", "configure", "export-credentials", "--profile", "viacredd", "--format", "process")
		var got struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		r.decodeOutput(t, &got)
		if got.AccessKeyId != dev.AccessKeyID || got.SessionToken != dev.SessionToken {
			t.Errorf("aws got %+v", got)
		}
	})
	t.Run("boto3 reads export --format ini --write", func(t *testing.T) {
		py := requireBoto3(t)
		credsFile := s.env["AWS_SHARED_CREDENTIALS_FILE"]
		writeFile(t, credsFile, "# mine\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other-secret\n")
		if code, _, errOut := s.run(t, "export", "--profile", "dev", "--format", "ini", "--write", "fromcredd"); code != 0 {
			t.Fatalf("export --write: %d %s", code, errOut)
		}
		b, _ := os.ReadFile(credsFile)
		if !strings.HasPrefix(string(b), "# mine\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other-secret\n") {
			t.Errorf("the rest of the file changed:\n%s", b)
		}
		script := `import boto3, json
for p in ("fromcredd", "other"):
    c = boto3.Session(profile_name=p).get_credentials().get_frozen_credentials()
    print(json.dumps([p, c.access_key, c.secret_key, c.token]))`
		env := clientEnv(t, map[string]string{"AWS_SHARED_CREDENTIALS_FILE": credsFile})
		r := runClient(t, env, t.TempDir(), py, "-c", script)
		if r.Err != nil {
			t.Fatalf("boto3: %v %s", r.Err, r.Stderr)
		}
		want := fmt.Sprintf("[\"fromcredd\", %q, %q, %q]\n[\"other\", \"AKIAOTHER\", \"other-secret\", null]\n", dev.AccessKeyID, dev.Secret, dev.SessionToken)
		if r.Stdout != want {
			t.Errorf("boto3 read:\n%s\nwant:\n%s", r.Stdout, want)
		}
	})
}

// waitStatus polls the daemon's status until cond holds (the watcher
// reacts asynchronously), failing after a generous deadline.
func (s *served) waitStatus(t *testing.T, what string, cond func(control.Status) bool) control.Status {
	t.Helper()
	c := control.NewClient(s.stateDir)
	var st control.Status
	waitFor(t, what, func() bool {
		var err error
		st, err = c.Status(t.Context())
		return err == nil && cond(st)
	})
	return st
}

func profileNames(st control.Status) string {
	var n []string
	for _, p := range st.Profiles {
		n = append(n, p.Name)
	}
	return strings.Join(n, ",")
}

// servedKey is the access key ID the daemon serves for a profile (through
// the control socket, as `credd export` reads it).
func (s *served) servedKey(t *testing.T, profile string) string {
	t.Helper()
	c, err := control.NewClient(s.stateDir).Credentials(t.Context(), profile, control.ForExport)
	if err != nil {
		t.Fatalf("credentials of %s: %v", profile, err)
	}
	return c.AccessKeyID
}

// TestEditedAWSProfileIsRebuilt: in config-file mode, editing an
// aws_profile's section of ~/.aws/config (another credential_process) is
// noticed by the watcher and rebuilds that profile at once; the unchanged
// one keeps its cached credentials. The SDK runs the processes.
func TestEditedAWSProfileIsRebuilt(t *testing.T) {
	dev, devSec := newProcessProfile(t, "dev")
	ops, opsSec := newProcessProfile(t, "ops")
	s := newServed(t, devOps, devSec+opsSec)
	s.start(t)
	if got := s.servedKey(t, "dev"); got != dev.AccessKeyID {
		t.Fatalf("dev serves %s", got)
	}
	if got := s.servedKey(t, "ops"); got != ops.AccessKeyID {
		t.Fatalf("ops serves %s", got)
	}
	opsNew, opsNewSec := newProcessProfile(t, "opsnew")
	opsNewSec = strings.Replace(opsNewSec, "[profile opsnew]", "[profile ops]", 1)
	awsCfg := s.env["AWS_CONFIG_FILE"]
	tmp := awsCfg + ".tmp"
	writeFile(t, tmp, devSec+opsNewSec)
	replaceFile(t, tmp, awsCfg)
	s.waitStatus(t, "ops rebuilt", func(st control.Status) bool {
		return strings.Contains(s.logs.String(), `"new_or_changed":["ops"]`)
	})
	if got := s.servedKey(t, "ops"); got != opsNew.AccessKeyID {
		t.Errorf("ops serves %s after the edit, want %s", got, opsNew.AccessKeyID)
	}
	if got := s.servedKey(t, "dev"); got != dev.AccessKeyID {
		t.Errorf("dev serves %s after the edit", got)
	}
	if n := dev.calls(t); n != 1 {
		t.Errorf("unchanged dev fetched %d times, want 1 (kept)", n)
	}
	if old, fresh := ops.calls(t), opsNew.calls(t); old != 1 || fresh != 1 {
		t.Errorf("ops's old process ran %d times, the new one %d; want 1 and 1", old, fresh)
	}
	for _, secret := range []string{dev.Secret, ops.Secret, opsNew.Secret} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("logs carry %q", secret)
		}
	}
}

// TestReloadRefusesAWritableConfig: a config file that became writable by
// group or others is refused on reload, by command and by the watcher,
// with the file named; the configuration in force stays until it is fixed.
func TestReloadRefusesAWritableConfig(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the config is made writable by others with chmod, and Windows has no such mode bits; its DACL refusal is daemon's TestCheckPrivateReadsTheDACL")
	}
	s, _, _ := newDevOps(t)
	s.start(t)
	if err := os.Chmod(s.cfgPath, 0o666); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := s.run(t, "reload")
	if code != cli.ExitUsage || !strings.Contains(errOut, s.cfgPath) || !strings.Contains(errOut, "chmod go-w") || !strings.Contains(errOut, "stays") {
		t.Errorf("reload of a 0666 config: exit %d: %s", code, errOut)
	}
	// Another user edits the file in place: the watcher's reload is refused.
	if err := os.WriteFile(s.cfgPath, []byte(s.config(t)+"  extra: {aws_profile: dev}\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	s.waitStatus(t, "the watcher's refusal", func(control.Status) bool {
		return strings.Count(s.logs.String(), `"msg":"reload refused: the configuration in force stays"`) >= 2
	})
	if names := profileNames(s.status(t)); names != "dev,ops" {
		t.Errorf("profiles %s after refused reloads, want dev,ops", names)
	}
	if err := os.Chmod(s.cfgPath, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := s.run(t, "reload"); code != 0 {
		t.Fatalf("reload after chmod: exit %d: %s", code, errOut)
	}
	if names := profileNames(s.status(t)); names != "dev,extra,ops" {
		t.Errorf("profiles %s after the fix, want dev,extra,ops", names)
	}
}

// startZeroConfig runs `credd serve` with no config file, serving the
// profiles of the shared AWS config, until the test ends; it returns once
// status lists profiles (names joined with commas).
func (s *served) startZeroConfig(t *testing.T, profiles string) {
	t.Helper()
	if err := os.Remove(s.cfgPath); err != nil {
		t.Fatal(err)
	}
	listen := strings.TrimPrefix(s.url, "http://")
	// No credd config in the user's config dir: XDG_CONFIG_HOME here,
	// %AppData% on Windows.
	s.env["XDG_CONFIG_HOME"] = filepath.Join(s.dir, "xdg-config")
	s.env["AppData"] = s.env["XDG_CONFIG_HOME"]
	s.env["CREDD_LISTEN"] = listen
	s.env["CREDD_STATE_DIR"] = s.stateDir
	s.env["CREDD_SESSION_STORE"] = "file"

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.exit, s.logs = cancel, make(chan int, 1), &lockedBuffer{}
	go func() {
		io := s.io(&bytes.Buffer{}, nil)
		io.Err = s.logs
		s.exit <- cli.Run(ctx, []string{"--log-format", "json", "--log-level", "debug", "serve"}, io)
	}()
	t.Cleanup(func() { s.stop(t) })
	s.waitStatus(t, "zero-config start", func(st control.Status) bool { return profileNames(st) == profiles })
	if !strings.Contains(s.logs.String(), "no config file: serving the profiles of the shared AWS config") {
		t.Fatalf("not in zero-config mode:\n%s", s.logs)
	}
}

// TestZeroConfigServeFollowsTheAWSConfig: `credd serve` with no config
// file serves the profiles of ~/.aws/config and follows edits of it: a
// profile added is served, one removed is 404, with no reload command.
func TestZeroConfigServeFollowsTheAWSConfig(t *testing.T) {
	dev, devSec := newProcessProfile(t, "dev")
	_, opsSec := newProcessProfile(t, "ops")
	extra, extraSec := newProcessProfile(t, "extra")
	s := newServed(t, "", devSec+opsSec)
	s.startZeroConfig(t, "dev,ops")
	token := s.token(t)
	for _, p := range []string{"dev", "ops"} {
		if code, err := s.getCreds(p, token); code != 200 {
			t.Fatalf("%s: %d %v", p, code, err)
		}
	}

	awsCfg := s.env["AWS_CONFIG_FILE"]
	tmp := awsCfg + ".tmp"
	writeFile(t, tmp, devSec+extraSec)
	replaceFile(t, tmp, awsCfg)
	s.waitStatus(t, "the edit applied", func(st control.Status) bool { return profileNames(st) == "dev,extra" })
	for _, tc := range []struct {
		profile string
		want    int
	}{{"extra", 200}, {"ops", 404}, {"dev", 200}} {
		if code, err := s.getCreds(tc.profile, token); code != tc.want {
			t.Errorf("%s after the edit: %d %v, want %d", tc.profile, code, err, tc.want)
		}
	}
	if got := s.servedKey(t, "extra"); got != extra.AccessKeyID {
		t.Errorf("extra serves %s", got)
	}
	if n := dev.calls(t); n != 1 {
		t.Errorf("unchanged dev fetched %d times, want 1", n)
	}
}
