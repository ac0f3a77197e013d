//go:build unix

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credd/credd/control"
)

// slowServe runs the credd binary (`credd serve`, with main's signal
// handling) serving one aws_profile whose credential_process announces
// itself in a file and answers once the test releases it (or the test
// ends): a fetch in flight for as long as the test needs, however slowly
// the process started.
type slowServe struct {
	cmd     *exec.Cmd
	url     string
	started string // the credential_process creates it when it runs
	release string // the credential_process answers once it exists
	exited  chan error
	logs    string // file: a pipe would keep Wait waiting for the grandchild credential_process
	state   string // state_dir: the control socket's
}

func startSlowServe(t *testing.T) *slowServe {
	t.Helper()
	bin := creddBinary(t)
	dir := t.TempDir()
	s := &slowServe{started: filepath.Join(dir, "started"), release: filepath.Join(dir, "release"), exited: make(chan error, 1),
		logs: filepath.Join(dir, "credd.log"), state: filepath.Join(dir, "state")}
	script := filepath.Join(dir, "slow.sh")
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	// The helper waits for release, or for its dir to be gone: a helper
	// that credd, exiting at once, left behind can miss the release file
	// the cleanup makes, removed with the dir before its next look, and
	// would loop on forever.
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\ntouch %q\nwhile [ ! -e %q ] && [ -d %q ]; do sleep 0.05; done\nprintf '%%s' '{\"Version\":1,\"AccessKeyId\":\"ASIASLOW\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"%s\"}'\n", s.started, s.release, dir, exp))
	t.Cleanup(func() { s.releaseFetch(t) }) // a credential_process credd left behind ends too
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "aws-config"), "[profile slow]\nregion = eu-west-1\ncredential_process = "+script+"\n")
	writeFile(t, filepath.Join(dir, "aws-credentials"), "")
	listen := freePort(t)
	s.url = "http://" + listen
	cfg := filepath.Join(dir, "credd.yaml")
	writeFile(t, cfg, fmt.Sprintf("listen: %s\nstate_dir: %s\nsession_store: file\ndefault_profile: slow\nprofiles:\n  slow: {aws_profile: slow}\n", listen, filepath.Join(dir, "state")))
	s.cmd = exec.Command(bin, "--config", cfg, "serve")
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials")}
	logs, err := os.Create(s.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close() // the child has its own descriptor
	s.cmd.Stdout, s.cmd.Stderr = logs, logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			out, _ := os.ReadFile(s.logs)
			t.Logf("credd output:\n%s", out)
		}
	})
	waitFor(t, "credd to listen", func() bool {
		resp, err := http.Get(s.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// releaseFetch lets the credential_process answer.
func (s *slowServe) releaseFetch(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(s.release, nil, 0o600); err != nil {
		t.Error(err)
	}
}

// waitShutdownBegun waits until the listener refuses a new connection,
// which says credd took the first signal. Not any error: a connection
// the default client kept from an earlier server on the same port fails
// too, before credd took the signal.
func (s *slowServe) waitShutdownBegun(t *testing.T) {
	t.Helper()
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, "the shutdown to begin", func() bool {
		resp, err := fresh.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
}

// fetchIMDS asks for the slow profile over IMDSv2, as an SDK would; the
// status code goes to result.
func (s *slowServe) fetchIMDS(result chan<- string) {
	req, _ := http.NewRequest(http.MethodPut, s.url+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		result <- err.Error()
		return
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, s.url+"/latest/meta-data/iam/security-credentials/slow", nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(tok))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		result <- err.Error()
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	result <- fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// sighupSelf asks this process (an in-process `credd serve`) to reload.
func sighupSelf() error { return syscall.Kill(os.Getpid(), syscall.SIGHUP) }

// TestServeSignals: SIGTERM stops `credd serve` gracefully (the request in
// flight is answered, exit 0); a second signal during that shutdown exits
// at once.
func TestServeSignals(t *testing.T) {
	t.Run("SIGTERM answers the request in flight, then exits 0", func(t *testing.T) {
		s := startSlowServe(t)
		result := make(chan string, 1)
		go s.fetchIMDS(result)
		waitFor(t, "the upstream fetch to start", func() bool { _, err := os.Stat(s.started); return err == nil })
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The fetch answers only once the shutdown has begun: the request
		// is in flight through it, however slowly the helper started
		// (IMDS waits 3 s from the request for it).
		s.waitShutdownBegun(t)
		s.releaseFetch(t)
		if got := <-result; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "ASIASLOW") {
			t.Errorf("the request in flight got %q, want 200 with the credentials", got)
		}
		select {
		case err := <-s.exited:
			if err != nil {
				t.Errorf("credd serve exited with %v, want 0", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("credd serve did not exit after SIGTERM")
		}
	})
	t.Run("a second signal exits at once", func(t *testing.T) {
		// The graceful shutdown waits (up to 10 s) for the requests in
		// flight, whose fetch never answers, but IMDS answers 503 after
		// its 3 s wait: on a loaded machine the shutdown may end before
		// the second signal is sent. That run proves nothing either way
		// and is tried again.
		for attempt := 1; attempt <= 3; attempt++ {
			if secondSignalForcesExit(t) {
				return
			}
			t.Logf("attempt %d: credd exited 0 around the second signal (its graceful shutdown ended first, or it caught the signal); again", attempt)
		}
		t.Fatal("credd exited 0 around the second signal three times: the second signal is caught rather than ending credd (or the machine is too slow for this test)")
	})
}

// secondSignalForcesExit sends SIGTERM to a `credd serve` with a request
// in flight and, once the shutdown has begun, SIGTERM again, and reports
// whether the second signal was delivered before credd exited on its
// own (false: inconclusive). A delivered second signal must end credd at
// once, by the signal.
func secondSignalForcesExit(t *testing.T) bool {
	t.Helper()
	s := startSlowServe(t)
	result := make(chan string, 1)
	go s.fetchIMDS(result)
	// A request on the control channel waits for the fetch longer than
	// IMDS does (its shutdown allows it 5 s), which widens the window.
	go func() { _, _ = control.NewClient(s.state).Credentials(t.Context(), "slow", control.ForExport) }()
	waitFor(t, "the upstream fetch to start", func() bool { _, err := os.Stat(s.started); return err == nil })
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A second signal sent before the first is taken would be lost.
	s.waitShutdownBegun(t)
	select {
	case err := <-s.exited:
		s.exited <- err // for the cleanup
		return false
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return false
		}
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		s.exited <- err
		var ee *exec.ExitError
		if err == nil {
			// Exited 0: either the graceful shutdown ended just as the
			// signal was sent (inconclusive), or the signal was ignored.
			// Only the first is possible once main stopped catching it.
			return false
		}
		if !errors.As(err, &ee) {
			t.Errorf("credd serve exited with %v; want the signal's forced exit", err)
		} else if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("credd serve exited with %v; want death by the second SIGTERM", err)
		}
		return true
	case <-time.After(5 * time.Second):
		t.Fatal("credd serve still running 5 s after the second signal (the graceful wait is 10 s)")
	}
	return true
}
