package e2e

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/config"
	"github.com/credd/credd/internal/peertest"
)

// podman's default bridge network (rootful): the host is its gateway,
// which containers reach as host.containers.internal.
const (
	podmanGateway = "10.88.0.1"
	allowedIP     = "10.88.0.50"
	otherIP       = "10.88.0.60"
)

// podmanImage imports an image holding nothing but the static peerclient
// (no registry is reachable: `podman import` of a tarball) and removes it
// when the test ends.
func podmanImage(t *testing.T, podman, bin string) string {
	t.Helper()
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "peerclient", Mode: 0o755, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var r [4]byte
	_, _ = rand.Read(r[:])
	name := "localhost/credd-e2e-peerclient:" + hex.EncodeToString(r[:])
	podmanRun(t, podman, "import", tarPath, name)
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "--force", name).Run() })
	return name
}

func podmanRun(t *testing.T, podman string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*peertest.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, podman, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestContainerListener: a real container on podman's bridge reaches an
// extra listener added by a reload (bound before the bridge exists, with
// IP_FREEBIND). From an address in the listener's allow_clients it gets
// the listener's profile over IMDS and, with the listener's client token,
// over the container endpoint, while the owner token is refused there; a
// container at another address is refused at accept. The audit log names
// the listener and the container's address.
func TestContainerListener(t *testing.T) {
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (rootful podman with --ip)", os.ErrPermission)
	}
	podman := peertest.Tool(t, "podman", "scripts/install-peers installs podman and runc")
	runc := peertest.Tool(t, "runc", "scripts/install-peers installs podman and runc")
	bin, err := peerClient()
	if err != nil {
		t.Fatal(err)
	}
	image := podmanImage(t, podman, bin)

	_, devCfg := newProcessProfile(t, "dev")
	ops, opsCfg := newProcessProfile(t, "ops")
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(free.Addr().(*net.TCPAddr).Port)
	free.Close()
	extra := net.JoinHostPort(podmanGateway, port)

	const base = "default_profile: dev\nclients:\n  ci: {profiles: [ops]}\nprofiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\n"
	var auditPath string
	var next config.Config
	c := startCredd(t, base, devCfg+opsCfg, withAudit(&auditPath), func(t *testing.T, s setup) {
		next = *s.cfg
		next.ExtraListen = []config.Listener{{Address: extra, AllowClients: []string{allowedIP + "/32"}, Profile: "ops", Client: "ci"}}
		s.deps.LoadConfig = func() (config.Config, error) { return next, nil }
	})
	if err := c.D.Reload(t.Context(), "test"); err != nil {
		t.Fatalf("reload adding %s: %v", extra, err)
	}
	ci, err := c.D.ClientToken("ci", false)
	if err != nil {
		t.Fatal(err)
	}
	run := func(ip, token string) clientResult {
		t.Helper()
		res, _ := runPeerClient(t, []string{podman, "run", "--rm", "--runtime", runc,
			"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096", "--ip", ip, image, "/peerclient"},
			"-url", "http://host.containers.internal:"+port, "-token", token)
		return res
	}

	got := run(allowedIP, ci.Token)
	if got.IMDS.AccessKeyID != ops.AccessKeyID || got.Container.AccessKeyID != ops.AccessKeyID {
		t.Fatalf("allowed container with ci's token: %+v, want ops's credentials from IMDS and the container endpoint", got)
	}
	got = run(allowedIP, c.Token)
	if got.IMDS.AccessKeyID != ops.AccessKeyID || got.Container.Status != 403 || !strings.Contains(got.Container.Error, `accepts only the token of client "ci"`) {
		t.Fatalf("allowed container with the owner token: %+v, want IMDS served and the container endpoint 403", got)
	}
	got = run(otherIP, ci.Token)
	if got.IMDS.AccessKeyID != "" || got.Container.AccessKeyID != "" || got.IMDS.Status != 0 || got.Container.Status != 0 {
		t.Fatalf("container outside allow_clients: %+v, want the connection refused before any answer", got)
	}

	lines := auditLines(t, auditPath, 4)
	var fromContainer int
	for _, e := range lines {
		if e.Listener == extra && strings.HasPrefix(e.Remote, allowedIP+":") {
			fromContainer++
			if e.Status == 200 && e.Profile != "ops" {
				t.Errorf("served %+v, want ops", e)
			}
		}
		if strings.HasPrefix(e.Remote, otherIP+":") {
			t.Errorf("the refused address reached the handler: %+v", e)
		}
	}
	if fromContainer < 4 {
		t.Errorf("%d audit lines name the listener and the container's address: %+v", fromContainer, lines)
	}
}
