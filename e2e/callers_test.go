package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/internal/peertest"
	"github.com/credd/credd/peer"
)

// peerClient is e2e/testdata/peerclient built static (CGO_ENABLED=0) into
// buildDir, which every user may read, once per test binary.
var peerClient = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "peerclient")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/peerclient")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "building peerclient: " + e.err.Error() + "\n" + e.out }

// clientResult is what peerclient prints.
type clientResult struct {
	IMDS, Container struct {
		AccessKeyID string `json:"access_key_id"`
		Status      int    `json:"status"`
		Error       string `json:"error"`
	}
}

// runClient runs peerclient (prefix: e.g. setpriv and its options, or
// podman run ...) and returns its result and its PID.
func runPeerClient(t *testing.T, prefix []string, args ...string) (clientResult, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*peertest.Timeout)
	defer cancel()
	argv := append(append([]string{}, prefix...), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, out.String(), errb.String())
	}
	var res clientResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("peerclient printed %q: %v (stderr %s)", out.String(), err, errb.String())
	}
	return res, cmd.Process.Pid
}

// withAudit gives the daemon an audit log in its state dir.
func withAudit(path *string) creddOption {
	return func(t *testing.T, s setup) {
		*path = filepath.Join(s.cfg.StateDir, "audit.jsonl")
		l, err := audit.Open(audit.Options{Path: *path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		s.deps.Audit = l
	}
}

// auditLines reads the audit log once the daemon has flushed it (every
// second) with n lines at least.
func auditLines(t *testing.T, path string, n int) []audit.Entry {
	t.Helper()
	return auditUntil(t, path, func(got []audit.Entry) bool { return len(got) >= n })
}

// auditUntil reads the audit log until its lines satisfy done.
func auditUntil(t *testing.T, path string, done func([]audit.Entry) bool) []audit.Entry {
	t.Helper()
	var got []audit.Entry
	waitFor(t, "the audit log", func() bool {
		got = nil
		_ = audit.Read(path, audit.Filter{}, func(e audit.Entry) { got = append(got, e) })
		return done(got)
	})
	return got
}

// TestOtherUserIsRefused: a real process of another user (UID 65534,
// through setpriv) gets 403 from IMDS and from the container endpoint
// even with the right token; the owner gets credentials; the audit log
// holds both, with each client's PID and executable.
func TestOtherUserIsRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("setpriv is Linux's")
	}
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (to run a client as another UID)", os.ErrPermission)
	}
	setpriv := peertest.Tool(t, "setpriv", "apt-get install util-linux")
	bin, err := peerClient()
	if err != nil {
		t.Fatal(err)
	}
	dev, awsCfg := newProcessProfile(t, "dev")
	var auditPath string
	c := startCredd(t, "default_profile: dev\nprofiles:\n  dev: {aws_profile: dev}\n", awsCfg, withAudit(&auditPath))

	other, otherPID := runPeerClient(t, []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin}, "-url", c.URL, "-token", c.Token)
	for name, a := range map[string]struct {
		AccessKeyID string `json:"access_key_id"`
		Status      int    `json:"status"`
		Error       string `json:"error"`
	}{"imds": other.IMDS, "container": other.Container} {
		// The SDK's IMDS client does not show the body; the container
		// provider does.
		if a.AccessKeyID != "" || a.Status != 403 || name == "container" && !strings.Contains(a.Error, "user 65534 may not use this credd") {
			t.Errorf("%s as UID 65534: %+v, want 403 naming the user", name, a)
		}
	}
	owner, ownerPID := runPeerClient(t, []string{bin}, "-url", c.URL, "-token", c.Token)
	if owner.IMDS.AccessKeyID != dev.AccessKeyID || owner.Container.AccessKeyID != dev.AccessKeyID {
		t.Fatalf("the owner got %+v, want dev's credentials from both", owner)
	}

	// Three refusals of one user for one reason (the token PUT, the SDK's
	// IMDSv1 fallback, the container endpoint) fold into one line within
	// the minute; the two answers are lines of their own. The SDK's IMDS
	// client waits 500 ms for an answer's headers and then asks again: on
	// a loaded machine the cold fetch takes longer, and the attempt it gave
	// up is an answer too, audited after its client closed the connection,
	// so with no process to name.
	self, _ := peer.Self()
	classify := func(lines []audit.Entry) (refused, answers, abandoned, foreign []audit.Entry) {
		for _, e := range lines {
			switch {
			case e.Status == 403 && e.UID == "65534":
				refused = append(refused, e)
			case e.Status == 200 && e.PID == ownerPID:
				answers = append(answers, e)
			case e.Status == 200 && e.PID == 0 && e.Exe == "" && e.UID == self && e.Profile == "dev":
				abandoned = append(abandoned, e)
			case e.Status == 200:
				foreign = append(foreign, e)
			}
		}
		return refused, answers, abandoned, foreign
	}
	lines := auditUntil(t, auditPath, func(lines []audit.Entry) bool {
		refused, answers, _, _ := classify(lines)
		return len(refused) > 0 && len(answers) >= 2
	})
	refused, answers, abandoned, foreign := classify(lines)
	if len(answers) != 2 || len(foreign) != 0 {
		t.Fatalf("audit log: %+v; want the refusals of 65534 and two answers of pid %d (and no other answer but attempts its SDK gave up)", lines, ownerPID)
	}
	for _, e := range refused {
		if e.PID != otherPID || e.Exe != bin || e.Count < 1 || !strings.Contains(e.Reason, "allow_users") {
			t.Errorf("refusal %+v, want pid %d, exe %s, a count and the reason", e, otherPID, bin)
		}
	}
	endpoints := map[string]bool{}
	for _, e := range answers {
		endpoints[e.Endpoint] = true
		if e.Exe != bin || e.UID != self || e.Profile != "dev" {
			t.Errorf("answer %+v, want exe %s, uid %s, profile dev", e, bin, self)
		}
	}
	if !endpoints["imds"] || !endpoints["container"] {
		t.Errorf("answers audited for %v, want imds and container", endpoints)
	}
	for _, e := range abandoned {
		if e.Remote == answers[0].Remote || e.Remote == answers[1].Remote {
			t.Errorf("an answer %+v on the connection of an attributed one, with no process named", e)
		}
		t.Logf("an attempt the SDK gave up: %+v", e)
	}
	if raw, _ := os.ReadFile(auditPath); bytes.Contains(raw, []byte(c.Token)) || bytes.Contains(raw, []byte(dev.Secret)) {
		t.Error("the audit log holds a secret")
	}
}

// TestScopedClientToken: a scoped client's token gets its profiles and 403
// for the others, judged by the SDK's container provider; revoking it
// refuses the old token at once and serves the new one.
func TestScopedClientToken(t *testing.T) {
	dev, devCfg := newProcessProfile(t, "dev")
	_, opsCfg := newProcessProfile(t, "ops")
	c := startCredd(t, "default_profile: dev\nclients:\n  ci: {profiles: [dev]}\nprofiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\n", devCfg+opsCfg)
	tok, err := c.D.ClientToken("ci", false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(tok.Path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %s: %v %v", tok.Path, fi.Mode(), err)
	}
	retrieve := func(profile, token string) (string, error) {
		cr, err := endpointcreds.New(c.URL+"/v1/credentials/"+profile, func(o *endpointcreds.Options) { o.AuthorizationToken = token }).Retrieve(t.Context())
		return cr.AccessKeyID, err
	}
	if id, err := retrieve("dev", tok.Token); err != nil || id != dev.AccessKeyID {
		t.Fatalf("ci for dev: %q %v", id, err)
	}
	if _, err := retrieve("ops", tok.Token); err == nil || !strings.Contains(err.Error(), "Forbidden") || !strings.Contains(err.Error(), `client "ci" may not take profile "ops"`) {
		t.Fatalf("ci for ops: %v, want 403 naming the client and the profile", err)
	}
	if _, err := retrieve("ops", c.Token); err != nil {
		t.Fatalf("the owner token for ops: %v", err)
	}
	again, err := c.D.ClientToken("ci", false)
	if err != nil || again.Token != tok.Token {
		t.Fatalf("a second `client token` changed the token: %v", err)
	}
	revoked, err := c.D.ClientToken("ci", true)
	if err != nil || revoked.Token == tok.Token {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := retrieve("dev", tok.Token); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("the revoked token: %v, want 401", err)
	}
	if id, err := retrieve("dev", revoked.Token); err != nil || id != dev.AccessKeyID {
		t.Fatalf("the new token: %q %v", id, err)
	}
	if _, err := c.D.ClientToken("nobody", false); err == nil || !strings.Contains(err.Error(), `no client "nobody"`) {
		t.Fatalf("an unconfigured client: %v", err)
	}
}

// TestExportAndCredentialProcessAreAudited: credentials taken through the
// control channel are audited with the process that took them, as the
// kernel names it: `credd export` and `credd credential-process` run as
// programs of their own, and the AWS CLI (a real peer) running credd as
// its credential_process.
func TestExportAndCredentialProcessAreAudited(t *testing.T) {
	s, dev, _ := newDevOps(t)
	s.start(t)
	bin := creddBinary(t)
	auditPath := filepath.Join(s.stateDir, daemon.AuditFile)
	self, _ := peer.Self()
	// check checks the audit log's line i.
	check := func(t *testing.T, i int, endpoint string, pid int) {
		t.Helper()
		lines := auditLines(t, auditPath, i+1)
		if len(lines) != i+1 {
			t.Fatalf("audit log %+v, want %d lines", lines, i+1)
		}
		e := lines[i]
		if e.Endpoint != endpoint || e.Profile != "dev" || e.Status != 200 || e.Listener != control.SocketPath(s.stateDir) {
			t.Errorf("line %d = %+v, want %s of dev on the control socket", i, e, endpoint)
		}
		if e.PID != pid || e.Exe != bin || e.UID != self || !strings.Contains(e.Cmdline, " --profile dev") {
			t.Errorf("line %d attributes pid %d exe %s uid %s cmdline %q; want pid %d, exe %s, uid %s", i, e.PID, e.Exe, e.UID, e.Cmdline, pid, bin, self)
		}
	}
	env := clientEnv(t, map[string]string{"HOME": s.dir})
	for i, tc := range []struct {
		endpoint string
		args     []string
	}{
		{audit.EndpointExport, []string{"export", "--profile", "dev", "--format", "env"}},
		{audit.EndpointCredentialProcess, []string{"credential-process", "--profile", "dev"}},
	} {
		cmd := exec.Command(bin, append([]string{"--config", s.cfgPath}, tc.args...)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), dev.AccessKeyID) {
			t.Fatalf("credd %s: %v, printed %q", strings.Join(tc.args, " "), err, out)
		}
		check(t, i, tc.endpoint, cmd.Process.Pid)
	}

	// The wrapper the AWS CLI runs writes its PID and execs credd, which
	// keeps it: the audit line must name that PID and credd's executable.
	t.Run("AWS CLI credential_process", func(t *testing.T) {
		peertest.RequireDebianAWSCLI(t)
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		wrapper := filepath.Join(dir, "credd-wrapper")
		writeFile(t, wrapper, fmt.Sprintf("#!/bin/sh\necho $$ > %q\nexec %q --config %q credential-process --profile dev\n", pidFile, bin, s.cfgPath))
		if err := os.Chmod(wrapper, 0o700); err != nil {
			t.Fatal(err)
		}
		awsCfg := filepath.Join(dir, "config")
		writeFile(t, awsCfg, "[profile viacredd]\ncredential_process = "+wrapper+"\n")
		r := runClient(t, clientEnv(t, map[string]string{"AWS_CONFIG_FILE": awsCfg}), dir, peertest.DebianAWSCLI,
			"configure", "export-credentials", "--profile", "viacredd", "--format", "process")
		var got exportCredentials
		r.decodeOutput(t, &got)
		if got.AccessKeyID != dev.AccessKeyID {
			t.Fatalf("the AWS CLI got %+v", got)
		}
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		check(t, 2, audit.EndpointCredentialProcess, pid)
	})
	if raw, _ := os.ReadFile(auditPath); strings.Contains(string(raw), dev.Secret) {
		t.Error("the audit log holds the secret key")
	}
}

// TestControlChannelRefusesOtherUsers: the control socket's mode keeps
// other users out, but not root, nor anyone once its directory is opened
// up. With the state dir and the socket opened to everyone, a real
// process of another user (UID 65534, through setpriv) running `credd
// export` and `credd status` is refused with 403 naming its user and
// allow_users, and the audit log holds the refusal with its PID and
// executable; the owner is still served.
func TestControlChannelRefusesOtherUsers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("setpriv is Linux's")
	}
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (to run a client as another UID)", os.ErrPermission)
	}
	setpriv := peertest.Tool(t, "setpriv", "apt-get install util-linux")
	s, dev, _ := newDevOps(t)
	s.start(t)
	bin := creddBinary(t)
	auditPath := filepath.Join(s.stateDir, daemon.AuditFile)
	// Open the way to the socket: every directory above it searchable,
	// the socket writable by all (what a group-shared state dir gives).
	sock := control.SocketPath(s.stateDir)
	for dir := s.stateDir; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}

	otherEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "CREDD_STATE_DIR=" + s.stateDir}
	asOther := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		cmd.Env = otherEnv
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("credd %s as UID 65534 succeeded: %s", strings.Join(args, " "), out)
		}
		if strings.Contains(string(out), dev.AccessKeyID) {
			t.Fatalf("credd %s as UID 65534 printed credentials", strings.Join(args, " "))
		}
		return string(out), cmd.Process.Pid
	}
	out, exportPID := asOther("export", "--profile", "dev", "--format", "env")
	if !strings.Contains(out, "user 65534 may not use this credd's control channel (allow_users: [self])") {
		t.Errorf("credd export as UID 65534 said %q, want the refusal naming the user and allow_users", out)
	}
	if out, _ := asOther("status"); !strings.Contains(out, "user 65534 may not use this credd's control channel") {
		t.Errorf("credd status as UID 65534 said %q, want the refusal", out)
	}

	// The owner is still served, over the same socket.
	cmd := exec.Command(bin, "--config", s.cfgPath, "export", "--profile", "dev", "--format", "env")
	cmd.Env = clientEnv(t, map[string]string{"HOME": s.dir})
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), dev.AccessKeyID) {
		t.Fatalf("the owner's credd export: %v, printed %q", err, out)
	}

	// The refusals of 65534: export's line at once (with its process),
	// status's (another endpoint, the same user and reason) folded into
	// its count; the owner's answer.
	lines := auditLines(t, auditPath, 2)
	var refused, served []audit.Entry
	for _, e := range lines {
		switch {
		case e.Status == 403 && e.UID == "65534":
			refused = append(refused, e)
		case e.Status == 200:
			served = append(served, e)
		}
	}
	if len(refused) == 0 || len(served) != 1 {
		t.Fatalf("audit log %+v; want the refusal of 65534 and the owner's answer", lines)
	}
	e := refused[0]
	if e.Endpoint != audit.EndpointExport || e.PID != exportPID || e.Exe != bin || e.Listener != sock || !strings.Contains(e.Reason, "allow_users") {
		t.Errorf("refusal %+v, want export by pid %d, exe %s, on %s, naming allow_users", e, exportPID, bin, sock)
	}
	self, _ := peer.Self()
	if served[0].UID != self || served[0].Endpoint != audit.EndpointExport {
		t.Errorf("answer %+v, want the owner's export", served[0])
	}
}
