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
)

// slowServe runs the credd binary (`credd serve`, with main's signal
// handling) serving one aws_profile whose credential_process announces
// itself in a file and then takes `sleep` seconds.
type slowServe struct {
	cmd     *exec.Cmd
	url     string
	started string // the credential_process creates it when it runs
	exited  chan error
	logs    string // file: a pipe would keep Wait waiting for the grandchild credential_process
}

func startSlowServe(t *testing.T, sleep int) *slowServe {
	t.Helper()
	bin := creddBinary(t)
	dir := t.TempDir()
	s := &slowServe{started: filepath.Join(dir, "started"), exited: make(chan error, 1), logs: filepath.Join(dir, "credd.log")}
	script := filepath.Join(dir, "slow.sh")
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\ntouch %q\nsleep %d\nprintf '%%s' '{\"Version\":1,\"AccessKeyId\":\"ASIASLOW\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"%s\"}'\n", s.started, sleep, exp))
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
		s := startSlowServe(t, 2)
		result := make(chan string, 1)
		go s.fetchIMDS(result)
		waitFor(t, "the upstream fetch to start", func() bool { _, err := os.Stat(s.started); return err == nil })
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := <-result; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "ASIASLOW") {
			t.Errorf("the request in flight got %q, want 200 with the credentials", got)
		}
		select {
		case err := <-s.exited:
			if err != nil {
				t.Errorf("credd serve exited with %v, want 0", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("credd serve did not exit after SIGTERM")
		}
	})
	t.Run("a second signal exits at once", func(t *testing.T) {
		s := startSlowServe(t, 60)
		result := make(chan string, 1)
		go s.fetchIMDS(result)
		waitFor(t, "the upstream fetch to start", func() bool { _, err := os.Stat(s.started); return err == nil })
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The graceful shutdown now waits (up to 10 s) for the request,
		// whose fetch takes a minute. The second signal ends that.
		waitFor(t, "the shutdown to begin", func() bool {
			_, err := http.Get(s.url + "/healthz")
			return err != nil
		})
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-s.exited:
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) {
				t.Errorf("credd serve exited with %v; want the signal's forced exit", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("credd serve still running 5 s after the second signal (the graceful wait is 10 s)")
		}
	})
}
