package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/peer"
)

// TestAllowUsers: the real resolver attributes the test's own connections
// to the user the test runs as. Pretending credd runs as another user
// (Deps.Self) makes them another user's: refused with 403 everywhere but
// /healthz, unless allow_users names that user.
func TestAllowUsers(t *testing.T) {
	me, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	const profiles = "profiles:\n  dev: {aws_profile: dev}\n"
	aws := processProfile(t, "dev", "ASIADEV", "s", "t")
	for _, tc := range []struct {
		name   string
		yaml   string
		self   string
		peers  peer.Resolver
		code   int
		inBody string
	}{
		{"self", profiles, "", nil, 200, "AccessKeyId"},
		{"another user", profiles, "4242", nil, 403, "user " + me + " may not use this credd (allow_users: [self])"},
		{"another user, allowed by UID", "allow_users: [self, '" + me + "']\n" + profiles, "4242", nil, 200, "AccessKeyId"},
		{"owner unknown", profiles, "", &peer.Fake{}, 403, "credd cannot tell which user opened this connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startWith(t, tc.yaml, aws, func(d *Deps) { d.Self, d.Peers = tc.self, tc.peers })
			code, body := r.get(t, "/v1/credentials/dev", auth)
			if code != tc.code || !strings.Contains(body, tc.inBody) {
				t.Fatalf("%d %s, want %d with %q", code, body, tc.code, tc.inBody)
			}
			if tc.code == 403 {
				for _, p := range []string{"/metrics", "/latest/meta-data/iam/security-credentials/"} {
					if code, _ := r.get(t, p, nil); code != 403 {
						t.Errorf("%s: %d, want 403", p, code)
					}
				}
			}
			if code, _ := r.get(t, "/healthz", nil); code != 200 {
				t.Errorf("/healthz: %d", code)
			}
			// The reason is in the daemon's log too.
			if tc.code == 403 && !strings.Contains(r.logs.String(), tc.inBody) {
				t.Errorf("the log lacks the reason %q:\n%s", tc.inBody, r.logs)
			}
		})
	}
}

// TestAuditLog: an answer and a refusal each make a line naming the
// endpoint, profile, status, client, listener, and the calling process
// (this test: its PID and executable).
func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(audit.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	r := startWith(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"), func(d *Deps) { d.Audit = log })
	if code, body := r.get(t, "/v1/credentials/dev", auth); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := r.get(t, "/v1/credentials/dev", map[string]string{"Authorization": "guessed-token-xyz"}); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if err := log.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []audit.Entry
	if err := audit.Read(path, audit.Filter{}, func(e audit.Entry) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d lines: %+v", len(got), got)
	}
	exe, _ := os.Executable()
	me, _ := peer.Self()
	for i, want := range []audit.Entry{
		{Endpoint: "container", Profile: "dev", Status: 200, Client: "default"},
		{Endpoint: "container", Status: 401, Count: 1},
	} {
		e := got[i]
		if e.Endpoint != want.Endpoint || e.Profile != want.Profile || e.Status != want.Status || e.Client != want.Client || e.Count != want.Count {
			t.Errorf("line %d = %+v, want %+v", i, e, want)
		}
		if e.PID != os.Getpid() || !sameFile(e.Exe, exe) || e.UID != me || e.Listener == "" || !strings.HasPrefix(e.Remote, "127.0.0.1:") {
			t.Errorf("line %d attributes %+v; want pid %d, exe %s, uid %s", i, e, os.Getpid(), exe, me)
		}
	}
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{"client-token-0123456789abcdef0123", "guessed-token-xyz", "\"s\""} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// freePort finds a port free on host.
func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReloadAppliesListeners: an extra listener added to the config is
// opened on reload with its policy (its profile served over IMDS), a
// changed policy applies to new and open connections alike, and a
// removed listener is closed and its open connections refused.
func TestReloadAppliesListeners(t *testing.T) {
	extra := freePort(t, "127.0.0.2")
	aws := processProfile(t, "dev", "ASIADEV", "s", "t") + processProfile(t, "ops", "ASIAOPS", "s", "t")
	base := "session_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\ndefault_profile: dev\n"
	r := startReloadable(t, base, aws)
	listener := func(nets string) string {
		return fmt.Sprintf("extra_listen:\n  - {address: %q, allow_clients: [%s], profile: ops}\n", extra, nets)
	}
	writeAtomic(t, r.cfgPath, base+listener("127.0.0.0/8"))
	r.reload(t)

	c, err := net.Dial("tcp", extra)
	if err != nil {
		t.Fatalf("the added listener is not open: %v", err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	send := func(method, path string, hdr ...string) (int, string) {
		t.Helper()
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path, extra, strings.Join(hdr, ""))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		return resp.StatusCode, b.String()
	}
	code, tok := send("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n")
	if code != 200 {
		t.Fatalf("token: %d %s", code, tok)
	}
	th := "X-aws-ec2-metadata-token: " + tok + "\r\n"
	if code, body := send("GET", "/latest/meta-data/iam/security-credentials/", th); code != 200 || body != "ops" {
		t.Fatalf("IMDS lists %d %q on the listener, want ops", code, body)
	}
	if code, _ := send("GET", "/latest/meta-data/iam/security-credentials/dev", th); code != 403 {
		t.Fatalf("dev on the ops listener: %d, want 403", code)
	}

	// Narrowed: the open connection is refused at its next request, a
	// new one at accept.
	writeAtomic(t, r.cfgPath, base+listener("10.0.0.0/8"))
	r.reload(t)
	if code, body := send("GET", "/latest/meta-data/iam/security-credentials/ops", th); code != 403 || !strings.Contains(body, "not in allow_clients") {
		t.Fatalf("after narrowing: %d %s, want 403", code, body)
	}
	c2, err := net.Dial("tcp", extra)
	if err == nil {
		c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c2.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("a new connection from outside allow_clients could read")
		}
		c2.Close()
	}

	// Removed: closed.
	writeAtomic(t, r.cfgPath, base)
	r.reload(t)
	if c3, err := net.Dial("tcp", extra); err == nil {
		c3.Close()
		t.Errorf("the removed listener still accepts")
	}
	if !strings.Contains(r.logs.String(), `"closed":["`+extra+`"]`) {
		t.Errorf("no log of the closed listener:\n%s", r.logs)
	}
}

// TestReloadRefusesUnknownUser: a name in allow_users that is no local
// user is refused with its key, and the users in force stay.
func TestReloadRefusesUnknownUser(t *testing.T) {
	base := "session_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
	r := startReloadable(t, base, processProfile(t, "dev", "ASIADEV", "s", "t"))
	writeAtomic(t, r.cfgPath, base+"allow_users: [self, no-such-user-credd]\n")
	err := r.d.Reload(t.Context(), "test")
	if err == nil || !strings.Contains(err.Error(), `allow_users[1]: no local user "no-such-user-credd"`) {
		t.Fatalf("reload: %v", err)
	}
	if code, _ := r.served(t, "dev"); code != 200 {
		t.Errorf("after the refused reload: %d", code)
	}
}

// TestControlChannelAllowUsers: the control channel serves the daemon's
// own user and the users allow_users names, as the kernel names the
// caller (this test process, over the real socket). Pretending credd runs
// as another user (Deps.Self) makes the test's own requests another
// user's: refused with 403 naming the user and allow_users, and audited
// with the caller's PID and executable; naming the user in allow_users
// lets them through.
func TestControlChannelAllowUsers(t *testing.T) {
	me, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	const profiles = "profiles:\n  dev: {aws_profile: dev}\n"
	aws := processProfile(t, "dev", "ASIADEV", "s", "t")
	exe, _ := os.Executable()
	for _, tc := range []struct {
		name, yaml, self string
		refused          bool
	}{
		{"the daemon's own user", profiles, "", false},
		{"another user", profiles, "4242", true},
		{"another user, in allow_users", "allow_users: [self, '" + me + "']\n" + profiles, "4242", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			log, err := audit.Open(audit.Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			r := startWith(t, tc.yaml, aws, func(d *Deps) { d.Self, d.Audit = tc.self, log })
			dir, err := os.MkdirTemp("", "cd")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			ln, err := control.Listen(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { _ = control.Serve(ctx, ln, r.d.ControlBackend(ControlInfo{}), nil) })
			defer func() { cancel(); wg.Wait() }()
			c := control.NewClient(dir)

			_, statusErr := c.Status(t.Context())
			_, credsErr := c.Credentials(t.Context(), "dev", control.ForCredentialProcess)
			if !tc.refused {
				if statusErr != nil || credsErr != nil {
					t.Fatalf("status: %v; credentials: %v", statusErr, credsErr)
				}
				return
			}
			for _, err := range []error{statusErr, credsErr} {
				var e *control.Error
				if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != control.CodeForbidden ||
					!strings.Contains(e.Message, "user "+me+" may not use this credd's control channel (allow_users: [self])") {
					t.Errorf("%v, want 403 Forbidden naming user %s and allow_users", err, me)
				}
			}
			if err := log.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []audit.Entry
			if err := audit.Read(path, audit.Filter{}, func(e audit.Entry) { got = append(got, e) }); err != nil {
				t.Fatal(err)
			}
			// Two refusals of one user for one reason in a minute: one
			// line, counted, written when the fold flushes them; the
			// first request's is the line.
			if len(got) != 1 {
				t.Fatalf("audit log %+v, want one line", got)
			}
			e := got[0]
			if e.Endpoint != audit.EndpointControl || e.Status != 403 || e.UID != me || e.PID != os.Getpid() || !sameFile(e.Exe, exe) ||
				e.Listener != control.SocketPath(dir) || !strings.Contains(e.Reason, "allow_users") || e.Count < 1 {
				t.Errorf("audit line %+v, want the refusal of %s (pid %d, exe %s) on the control channel", e, me, os.Getpid(), exe)
			}
		})
	}
}

// countingResolver is the OS's resolver, counting its calls.
type countingResolver struct {
	peer.Resolver
	mu                 sync.Mutex
	lookups, processes int
}

func (c *countingResolver) Lookup(local, remote netip.AddrPort) (peer.Peer, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.Resolver.Lookup(local, remote)
}

func (c *countingResolver) Process(p peer.Peer) (peer.Process, error) {
	c.mu.Lock()
	c.processes++
	c.mu.Unlock()
	return c.Resolver.Process(p)
}

func (c *countingResolver) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookups, c.processes
}

// TestOwnerLookedUpOncePerConnection: a keep-alive connection's owner is
// looked up at its first request and its process at its first audited
// answer, once each however many requests follow; a new connection is
// looked up afresh.
func TestOwnerLookedUpOncePerConnection(t *testing.T) {
	sys, err := peer.New()
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingResolver{Resolver: sys}
	log, err := audit.Open(audit.Options{Path: filepath.Join(t.TempDir(), "audit.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	r := startWith(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"),
		func(d *Deps) { d.Peers, d.Audit = counting, log })
	host := strings.TrimPrefix(r.url, "http://")
	for conn := 1; conn <= 2; conn++ {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for i := range 3 {
			fmt.Fprintf(c, "GET /v1/credentials/dev HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", host, auth["Authorization"])
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("connection %d request %d: %d", conn, i+1, resp.StatusCode)
			}
		}
		c.Close()
		if l, p := counting.counts(); l != conn || p != conn {
			t.Errorf("after %d connections of 3 requests: %d lookups, %d process lookups; want %d each", conn, l, p, conn)
		}
	}
}

// TestExtraListenerHoldsLocalProcessesToAllowUsers: a local process that
// connects to an extra listener (its source address let in by
// allow_clients) is found, and held to allow_users like one on the
// loopback listener; naming its user in allow_users lets it in.
func TestExtraListenerHoldsLocalProcessesToAllowUsers(t *testing.T) {
	me, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, users string
		code        int
	}{
		{"not in allow_users", "", 403},
		{"in allow_users", "allow_users: [self, '" + me + "']\n", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := freePort(t, "127.0.0.2")
			yaml := "session_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n" + tc.users +
				fmt.Sprintf("extra_listen:\n  - {address: %q, allow_clients: [127.0.0.0/8]}\n", extra)
			r := startReloadable(t, yaml, processProfile(t, "dev", "ASIADEV", "s", "t"), func(d *Deps) { d.Self = "4242" })
			r.reload(t) // opens the extra listener
			req, _ := http.NewRequest(http.MethodPut, "http://"+extra+"/latest/api/token", nil)
			req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
			resp.Body.Close()
			if resp.StatusCode != tc.code || tc.code == 403 && !strings.Contains(b.String(), "user "+me+" may not use this credd") {
				t.Errorf("token on the extra listener: %d %s, want %d", resp.StatusCode, b.String(), tc.code)
			}
		})
	}
}

// TestClientTokenOthersMayWriteIsRefused: a client's token file that group
// or others may write is not served (anyone could have chosen that
// token): the error names the client, the file and the fix.
func TestClientTokenOthersMayWriteIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not apply on Windows")
	}
	cfg, err := config.Parse(strings.NewReader("clients:\n  ci: {profiles: [dev]}\nprofiles:\n  dev: {aws_profile: dev}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, _, err := ClientToken(dir, "ci", false)
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := loadClients(dir, cfg); err != nil || len(cs) != 1 {
		t.Fatalf("a private token file: %+v, %v", cs, err)
	}
	if err := os.Chmod(path, 0o620); err != nil {
		t.Fatal(err)
	}
	cs, err := loadClients(dir, cfg)
	if len(cs) != 0 || !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "clients.ci") || !strings.Contains(err.Error(), path) {
		t.Errorf("a token file others may write: %+v, %v; want it refused, naming the client and the file", cs, err)
	}
}

// TestReloadAppliesClients: a change to clients takes effect at the next
// reload: a client's profiles widen and narrow, a client removed from the
// configuration has its token refused (its file kept, served again if the
// client comes back), and a client added with a token on disk is served.
// The owner token serves every profile throughout.
func TestReloadAppliesClients(t *testing.T) {
	const profiles = "profiles:\n  dev: {aws_profile: dev}\n  ops: {aws_profile: ops}\n"
	r := startReloadable(t, profiles+"clients:\n  ci: {profiles: [dev]}\n",
		processProfile(t, "dev", "ASIADEV", "s", "t")+processProfile(t, "ops", "ASIAOPS", "s", "t"))
	ci, err := r.d.ClientToken("ci", false)
	if err != nil {
		t.Fatal(err)
	}
	_, tools, err := ClientToken(r.d.gen.Load().cfg.StateDir, "tools", false) // before the client exists
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]map[string]int) {
		t.Helper()
		for tok, byProfile := range want {
			for profile, code := range byProfile {
				got, body := r.get(t, "/v1/credentials/"+profile, map[string]string{"Authorization": tok})
				if got != code {
					t.Errorf("%s: %s with %s's token: %d %s, want %d", when, profile, map[string]string{ci.Token: "ci", string(tools): "tools", auth["Authorization"]: "the owner"}[tok], got, body, code)
				}
				if code == 403 && !strings.Contains(body, "may not take profile "+`\"`+profile+`\"`) {
					t.Errorf("%s: the 403 for %s does not name the profile: %s", when, profile, body)
				}
			}
		}
	}
	owner := auth["Authorization"]
	check("at start", map[string]map[string]int{ci.Token: {"dev": 200, "ops": 403}, string(tools): {"dev": 401}, owner: {"dev": 200, "ops": 200}})

	writeAtomic(t, r.cfgPath, profiles+"clients:\n  ci: {profiles: [ops]}\n  tools: {profiles: [dev, ops]}\n")
	r.reload(t)
	check("ci moved to ops, tools added", map[string]map[string]int{ci.Token: {"dev": 403, "ops": 200}, string(tools): {"dev": 200, "ops": 200}, owner: {"dev": 200, "ops": 200}})

	writeAtomic(t, r.cfgPath, profiles)
	r.reload(t)
	check("no clients", map[string]map[string]int{ci.Token: {"dev": 401, "ops": 401}, string(tools): {"dev": 401}, owner: {"dev": 200, "ops": 200}})

	writeAtomic(t, r.cfgPath, profiles+"clients:\n  ci: {profiles: [dev]}\n")
	r.reload(t)
	check("ci back", map[string]map[string]int{ci.Token: {"dev": 200, "ops": 403}, string(tools): {"dev": 401}, owner: {"dev": 200}})
}
