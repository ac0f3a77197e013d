package e2e

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/config"
	"github.com/credd/credd/internal/peertest"
)

// containerTestEnv chooses how TestContainerListener puts its client on a
// network of its own: "podman" (a real container), "netns" (a network
// namespace and a veth pair, where podman is missing), or unset: both,
// each where this machine has its tools.
const containerTestEnv = "CREDD_CONTAINER_TEST"

// TestContainerListener: a client on a network of its own (a podman
// container on the default bridge; a network namespace behind a veth
// pair) reaches an extra listener added by a reload. From an address in
// the listener's allow_clients it gets the listener's profile over IMDS
// and, with the listener's client token, over the container endpoint,
// while the owner token is refused there; a client at another address is
// refused at accept. The audit log names the listener and the client's
// address. The client is peerclient, the AWS SDK for Go built static.
func TestContainerListener(t *testing.T) {
	mode := os.Getenv(containerTestEnv)
	if mode != "" && mode != "podman" && mode != "netns" {
		t.Fatalf("%s=%q: want podman, netns, or unset for both", containerTestEnv, mode)
	}
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (rootful podman with --ip, or ip netns)", os.ErrPermission)
	}
	_, podmanErr := exec.LookPath("podman")
	if _, err := exec.LookPath("runc"); podmanErr == nil {
		podmanErr = err
	}
	_, ipErr := exec.LookPath("ip")
	if mode == "" && podmanErr != nil && ipErr != nil {
		peertest.Require(t, "podman and runc, or iproute2's ip (scripts/install-peers installs them)", errors.Join(podmanErr, ipErr))
	}
	bin, err := peerClient()
	if err != nil {
		t.Fatal(err)
	}
	// need skips a way this machine lacks when the other covers the test;
	// asked for by name, a missing way is a missing peer.
	need := func(t *testing.T, way string, err error) {
		t.Helper()
		switch {
		case err == nil:
		case mode == way:
			peertest.Require(t, way+" ("+containerTestEnv+"="+way+"; scripts/install-peers installs it)", err)
		default:
			t.Skipf("%s is not here (%v); the other way covers the test", way, err)
		}
	}
	if mode != "netns" {
		t.Run("podman", func(t *testing.T) {
			need(t, "podman", podmanErr)
			checkContainerListener(t, newPodmanNet(t, bin))
		})
	}
	if mode != "podman" {
		t.Run("netns", func(t *testing.T) {
			need(t, "netns", ipErr)
			checkContainerListener(t, newNetnsNet(t, bin))
		})
	}
}

// clientNet is a network of its own for the test's client: the host's
// address on it, and a way to run peerclient there from a given address.
type clientNet struct {
	gateway        string // the host's address on that network: the listener's
	hostName       string // what the client dials to reach the host
	allowed, other string // client addresses inside and outside allow_clients
	run            func(t *testing.T, ip, url, token string) clientResult
}

// checkContainerListener runs the checks of TestContainerListener on n.
func checkContainerListener(t *testing.T, n clientNet) {
	_, devCfg := newProcessProfile(t, "dev")
	ops, opsCfg := newProcessProfile(t, "ops")
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(free.Addr().(*net.TCPAddr).Port)
	free.Close()
	extra := net.JoinHostPort(n.gateway, port)

	const base = "default_profile: dev\nclients:\n  ci: {profiles: [ops]}\nprofiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\n"
	var auditPath string
	var next config.Config
	c := startCredd(t, base, devCfg+opsCfg, withAudit(&auditPath), func(t *testing.T, s setup) {
		next = *s.cfg
		next.ExtraListen = []config.Listener{{Address: extra, AllowClients: []string{n.allowed + "/32"}, Profile: "ops", Client: "ci"}}
		s.deps.LoadConfig = func() (config.Config, error) { return next, nil }
	})
	if err := c.D.Reload(t.Context(), "test"); err != nil {
		t.Fatalf("reload adding %s: %v", extra, err)
	}
	ci, err := c.D.ClientToken("ci", false)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + net.JoinHostPort(n.hostName, port)

	got := n.run(t, n.allowed, url, ci.Token)
	if got.IMDS.AccessKeyID != ops.AccessKeyID || got.Container.AccessKeyID != ops.AccessKeyID {
		t.Fatalf("allowed client with ci's token: %+v, want ops's credentials from IMDS and the container endpoint", got)
	}
	got = n.run(t, n.allowed, url, c.Token)
	if got.IMDS.AccessKeyID != ops.AccessKeyID || got.Container.Status != 403 || !strings.Contains(got.Container.Error, `accepts only the token of client "ci"`) {
		t.Fatalf("allowed client with the owner token: %+v, want IMDS served and the container endpoint 403", got)
	}
	got = n.run(t, n.other, url, ci.Token)
	if got.IMDS.AccessKeyID != "" || got.Container.AccessKeyID != "" || got.IMDS.Status != 0 || got.Container.Status != 0 {
		t.Fatalf("client outside allow_clients: %+v, want the connection refused before any answer", got)
	}

	lines := auditLines(t, auditPath, 4)
	var fromClient int
	for _, e := range lines {
		if e.Listener == extra && strings.HasPrefix(e.Remote, n.allowed+":") {
			fromClient++
			if e.Status == 200 && e.Profile != "ops" {
				t.Errorf("served %+v, want ops", e)
			}
		}
		if strings.HasPrefix(e.Remote, n.other+":") {
			t.Errorf("the refused address reached the handler: %+v", e)
		}
	}
	if fromClient < 4 {
		t.Errorf("%d audit lines name the listener and the client's address: %+v", fromClient, lines)
	}
}

// podman's default bridge network (rootful): the host is its gateway,
// which containers reach as host.containers.internal.
const (
	podmanGateway = "10.88.0.1"
	podmanAllowed = "10.88.0.50"
	podmanOther   = "10.88.0.60"
)

// newPodmanNet runs the client in containers on podman's default bridge,
// from an image holding nothing but the static peerclient. The listener
// is added before the bridge may exist: it binds with IP_FREEBIND.
func newPodmanNet(t *testing.T, bin string) clientNet {
	podman, _ := exec.LookPath("podman")
	runc, _ := exec.LookPath("runc")
	image := podmanImage(t, podman, bin)
	return clientNet{gateway: podmanGateway, hostName: "host.containers.internal", allowed: podmanAllowed, other: podmanOther,
		run: func(t *testing.T, ip, url, token string) clientResult {
			t.Helper()
			res, _ := runPeerClient(t, []string{podman, "run", "--rm", "--runtime", runc,
				"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096", "--ip", ip, image, "/peerclient"},
				"-url", url, "-token", token)
			return res
		}}
}

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
	name := "localhost/credd-e2e-peerclient:" + randomHex(4)
	setupCmd(t, podman, "import", tarPath, name)
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "--force", name).Run() })
	return name
}

// newNetnsNet puts the client in a network namespace of its own, joined
// to the host by a veth pair on a /24 no interface here uses: the host's
// end is .1, the client's end takes the address each run asks for. The
// namespace (and with it the pair) is deleted when the test ends.
func newNetnsNet(t *testing.T, bin string) clientNet {
	ip, _ := exec.LookPath("ip")
	prefix := freeSubnet(t)
	id := randomHex(4)
	ns, hostEnd, nsEnd := "credd-e2e-"+id, "cdh"+id, "cdn"+id
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		peertest.Require(t, "a network namespace (ip netns add)", fmt.Errorf("%v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", ns).Run() })
	gateway := prefix.Addr().Next()
	setupCmd(t, ip, "link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", ns)
	setupCmd(t, ip, "addr", "add", gateway.String()+"/24", "dev", hostEnd)
	setupCmd(t, ip, "link", "set", hostEnd, "up")
	setupCmd(t, ip, "-n", ns, "link", "set", "lo", "up")
	setupCmd(t, ip, "-n", ns, "link", "set", nsEnd, "up")
	at := func(host byte) string { a := prefix.Addr().As4(); a[3] = host; return netip.AddrFrom4(a).String() }
	return clientNet{gateway: gateway.String(), hostName: gateway.String(), allowed: at(50), other: at(60),
		run: func(t *testing.T, addr, url, token string) clientResult {
			t.Helper()
			setupCmd(t, ip, "-n", ns, "addr", "flush", "dev", nsEnd)
			setupCmd(t, ip, "-n", ns, "addr", "add", addr+"/24", "dev", nsEnd)
			res, _ := runPeerClient(t, []string{ip, "netns", "exec", ns, bin}, "-url", url, "-token", token)
			return res
		}}
}

// freeSubnet picks a /24 in 10.254.0.0/16 that no interface here has an
// address in.
func freeSubnet(t *testing.T) netip.Prefix {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 254, b[0], 0}), 24)
		used := false
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && p.Contains(ip.Unmap()) {
					used = true
				}
			}
		}
		if !used {
			return p
		}
	}
	t.Fatal("no free /24 in 10.254.0.0/16")
	return netip.Prefix{}
}

// setupCmd runs a command that sets the test up, failing the test with
// its output if it fails.
func setupCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*peertest.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
