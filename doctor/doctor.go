// Package doctor diagnoses a credd setup, as `credd doctor` prints it:
// the daemon through its control socket, the listen port, environment
// variables and a default AWS profile that make SDKs skip credd, the clock
// against STS, the session store, whether the OS tells who is on the other
// end of a connection, the shared AWS files credd would refuse, and the
// client token's permissions. Each
// check is a Finding: ok, or a problem with its fix.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/login"
	"github.com/credd/credd/peer"
)

// Finding is one check: ok, or a problem with its fix.
type Finding struct {
	OK   bool
	Warn bool // a problem that does not stop credd from working
	What string
	Fix  string
	// NotRunning: the daemon does not answer.
	NotRunning bool
}

// Env is what the checks read of the user's environment: the variables,
// as cmd reads them, and where the shared AWS files are.
type Env struct {
	Getenv   func(string) string
	AWSFiles awsfile.Paths
	// LoginCacheDir is the AWS CLI's login cache (`aws login`):
	// AWS_LOGIN_CACHE_DIRECTORY, else ~/.aws/login/cache; "" for none.
	LoginCacheDir string
}

// Diagnose runs every check against cfg, in the order the user reads
// them: the daemon, the listen port, the environment, the clock, the
// session store and the token's permissions.
func Diagnose(ctx context.Context, cfg config.Config, env Env) []Finding {
	var fs []Finding
	// 1. The daemon, through its control socket.
	cl := control.NewClient(cfg.StateDir)
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := cl.Status(sctx)
	cancel()
	running := err == nil
	switch {
	case running:
		fs = append(fs, Finding{OK: true, What: fmt.Sprintf("daemon running (pid %d, %s), %d profile(s)", st.PID, st.Version, len(st.Profiles))})
	case errors.Is(err, control.ErrNotRunning):
		fs = append(fs, Finding{What: "daemon not running (no answer on " + control.SocketPath(cfg.StateDir) + ")", Fix: "start it: `credd serve`, or `credd service start`", NotRunning: true})
	default:
		fs = append(fs, Finding{What: "control socket error: " + err.Error(), Fix: "restart the daemon"})
	}
	// 2. The listen port: ours, or free, or taken by something else.
	fs = append(fs, checkPort(ctx, cfg.Listen, running))
	// 3. Environment that makes SDKs skip credd.
	fs = append(fs, checkEnv(cfg, env)...)
	// 4. Clock skew against STS, and what the daemon saw of its upstreams.
	fs = append(fs, checkSkew(ctx, cfg))
	if running {
		for _, p := range st.Problems {
			fs = append(fs, Finding{What: p, Fix: "enable time sync (timedatectl set-ntp true; or your OS's equivalent)"})
		}
	}
	// 5. The session store and file permissions.
	if running {
		if len(st.Store.Problems) == 0 {
			fs = append(fs, Finding{OK: true, What: fmt.Sprintf("session store %s: %d session(s) readable", st.Store.Kind, len(st.Sessions))})
		}
		for _, p := range st.Store.Problems {
			fs = append(fs, Finding{Warn: true, What: "session store: " + p, Fix: "`credd logout` forgets unreadable sessions; sign in again"})
		}
	}
	// 6. Whether this system tells credd who is on the other end of a
	// connection (where it cannot, credd refuses every loopback client),
	// and whether the daemon does.
	fs = append(fs, checkCallers()...)
	if running {
		fs = append(fs, checkControlCaller(st.Caller))
		fs = append(fs, checkListenerAdmits(ctx, cfg.Listen))
	}
	// 7. Shared AWS files credd would refuse to read.
	fs = append(fs, checkAWSFiles(env)...)
	if f, ok := checkLoginCache(cfg, env); ok {
		fs = append(fs, f)
	}
	for _, f := range []string{filepath.Join(cfg.StateDir, daemon.TokenFile)} {
		if _, err := os.Stat(f); err == nil {
			if err := daemon.CheckPrivate(f); err != nil {
				fs = append(fs, Finding{What: err.Error(), Fix: "chmod 600 " + f})
			}
		}
	}
	return fs
}

func checkPort(ctx context.Context, listen string, running bool) Finding {
	if running {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/healthz", nil)
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return Finding{OK: true, What: "endpoint answers on " + listen}
			}
		}
		return Finding{What: "daemon runs but " + listen + " does not answer /healthz", Fix: "check `listen` in the config and restart credd"}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return Finding{What: listen + " is taken by another program: " + err.Error(), Fix: "stop that program or set another `listen` port"}
	}
	ln.Close()
	return Finding{OK: true, What: listen + " is free for credd"}
}

func checkEnv(cfg config.Config, env Env) []Finding {
	var fs []Finding
	get := env.Getenv
	if get("AWS_ACCESS_KEY_ID") != "" || get("AWS_SECRET_ACCESS_KEY") != "" {
		fs = append(fs, Finding{What: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set: every SDK uses them before credd", Fix: "unset them, or `eval \"$(credd env)\"`"})
	}
	if p := get("AWS_PROFILE"); p != "" {
		fs = append(fs, Finding{Warn: true, What: "AWS_PROFILE=" + p + ": SDKs resolve that profile from ~/.aws/config before asking credd", Fix: "unset AWS_PROFILE and pick the profile with `credd env --profile " + p + "`"})
	}
	if v := strings.ToLower(get("AWS_EC2_METADATA_DISABLED")); v == "true" {
		fs = append(fs, Finding{What: "AWS_EC2_METADATA_DISABLED=true turns off the IMDS endpoint in SDKs", Fix: "unset AWS_EC2_METADATA_DISABLED"})
	}
	if u := get("AWS_CONTAINER_CREDENTIALS_FULL_URI"); u != "" {
		_, port, _ := net.SplitHostPort(cfg.Listen)
		if !strings.Contains(u, ":"+port+"/") {
			fs = append(fs, Finding{What: "AWS_CONTAINER_CREDENTIALS_FULL_URI points elsewhere: " + u, Fix: "`eval \"$(credd env)\"`"})
		}
	}
	if len(fs) == 0 {
		fs = append(fs, Finding{OK: true, What: "no environment variable shadows credd"})
	}
	if f, ok := checkDefaultProfile(env); ok {
		fs = append(fs, f)
	}
	return fs
}

// checkCallers asks this OS who is on the other end of connections of
// the doctor's own, each way credd asks it: the owner of a loopback
// connection (every way on its own: sock_diag and /proc/net/tcp on
// Linux), the program behind it, and the caller of a Unix socket (the
// control channel's; Windows' named pipe is checked through the daemon).
func checkCallers() []Finding {
	r, err := peer.New()
	if err != nil {
		return []Finding{ownersUnknown(err)}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return []Finding{{Warn: true, What: "caller identification not checked: " + err.Error()}}
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return []Finding{{Warn: true, What: "caller identification not checked: " + err.Error()}}
	}
	defer c.Close()
	local := ln.Addr().(*net.TCPAddr).AddrPort()
	remote := c.LocalAddr().(*net.TCPAddr).AddrPort()
	self, _ := peer.Self()
	sup := r.Support()
	fs := []Finding{ownerFinding(r.Probes(local, remote), self)}
	fs = append(fs, processFinding(r, local, remote, os.Getpid(), sup))
	if runtime.GOOS != "windows" {
		fs = append(fs, unixSocketFinding(self))
	}
	return fs
}

func ownersUnknown(err error) Finding {
	return Finding{What: "this system does not tell credd who opened a connection (" + err.Error() + "): credd refuses every loopback client",
		Fix: "see the peer attribution section of docs/security.md for what each OS offers"}
}

// ownerFinding judges the ways of finding a connection's owner, tried on
// a connection of user self's: the first that works is what the daemon
// uses; a failing first way with a working later one is a warning (slower,
// or less exact); none working is a failure.
func ownerFinding(probes []peer.Probe, self string) Finding {
	var works, fails []string
	for _, p := range probes {
		switch {
		case p.Err != nil:
			fails = append(fails, p.Way+" ("+p.Err.Error()+")")
		case p.User != self:
			return Finding{What: fmt.Sprintf("%s named user %s for credd's own connection, not %s", p.Way, p.User, self), Fix: "report this: credd would refuse its own user"}
		default:
			works = append(works, p.Way)
		}
	}
	switch {
	case len(works) == 0:
		return ownersUnknown(errors.New(strings.Join(fails, "; ")))
	case len(fails) > 0 && probes[0].Err != nil:
		return Finding{Warn: true, What: "caller identification: " + strings.Join(fails, "; ") + " does not work here; credd finds each connection's owner through " + works[0] + " instead, which costs more per connection",
			Fix: "let credd open netlink sockets (a systemd unit's RestrictAddressFamilies must list AF_NETLINK)"}
	}
	what := "caller identification: each connection's owner through " + works[0]
	if len(works) > 1 {
		what += " (also works: " + strings.Join(works[1:], ", ") + ")"
	}
	return Finding{OK: true, What: what}
}

// processFinding checks that the program behind a connection is found
// (the process pid holds its client end).
func processFinding(r peer.Resolver, local, remote netip.AddrPort, pid int, sup peer.Support) Finding {
	p, err := r.Lookup(local, remote)
	var proc peer.Process
	if err == nil {
		proc, err = r.Process(p)
	}
	switch {
	case err != nil:
		return Finding{Warn: true, What: "caller identification: the program behind a connection is not found (" + err.Error() + "): audit lines will lack its pid and executable"}
	case proc.PID != pid:
		return Finding{Warn: true, What: fmt.Sprintf("caller identification: the program behind credd's own connection was named pid %d, not %d", proc.PID, pid), Fix: "report this: audit lines would name the wrong program"}
	}
	return Finding{OK: true, What: "caller identification: each connection's program through " + sup.Process + ". Not known: " + sup.Limits}
}

// unixSocketFinding checks that the kernel names the caller of a Unix
// socket, as the daemon's control channel asks it.
func unixSocketFinding(self string) Finding {
	fail := func(err error) Finding {
		return Finding{What: "caller identification: the kernel does not name a Unix socket's caller (" + err.Error() + "): the daemon refuses every control request",
			Fix: "see the peer attribution section of docs/security.md"}
	}
	dir, err := os.MkdirTemp("", "credd-doctor-")
	if err != nil {
		return Finding{Warn: true, What: "control channel caller not checked: " + err.Error()}
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		return Finding{Warn: true, What: "control channel caller not checked: " + err.Error()}
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		ln.Close()
		<-accepted
		return Finding{Warn: true, What: "control channel caller not checked: " + err.Error()}
	}
	defer c.Close()
	sc := <-accepted
	if sc == nil {
		return Finding{Warn: true, What: "control channel caller not checked: accept failed"}
	}
	defer sc.Close()
	p, err := peer.Of(sc)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return Finding{Warn: true, What: "caller identification: this system does not name a Unix socket's caller: only the control socket's mode (0600) keeps other users out, and export and credential_process are audited without their program"}
	case err != nil:
		return fail(err)
	case p.User != self || p.PID != os.Getpid():
		return Finding{What: fmt.Sprintf("caller identification: the kernel named user %s, pid %d as a Unix socket's caller, not %s, %d", p.User, p.PID, self, os.Getpid()), Fix: "report this"}
	}
	return Finding{OK: true, What: "caller identification: the control channel's callers through the kernel's record of the socket (" + ofWay() + ")"}
}

func ofWay() string {
	if runtime.GOOS == "linux" {
		return "SO_PEERCRED"
	}
	return "LOCAL_PEERCRED"
}

// checkControlCaller checks what the daemon said of the doctor's own
// status request: its user and process, as the daemon's OS names them.
func checkControlCaller(c *control.StatusCaller) Finding {
	self, _ := peer.Self()
	switch {
	case c == nil:
		return Finding{Warn: true, What: "the daemon does not say who called its control channel (a credd older than this doctor)", Fix: "restart the daemon after upgrading"}
	case c.Error != "":
		return Finding{Warn: true, What: "the daemon cannot fully name its control channel's callers: " + c.Error}
	case c.User != self || c.PID != os.Getpid():
		return Finding{What: fmt.Sprintf("the daemon named user %s, pid %d as this doctor, which is user %s, pid %d", c.User, c.PID, self, os.Getpid()), Fix: "report this: the daemon's audit lines would name the wrong program"}
	}
	return Finding{OK: true, What: fmt.Sprintf("the daemon names its control channel's callers (this doctor: user %s, pid %d)", c.User, c.PID)}
}

// checkListenerAdmits asks the daemon's listener for an IMDS session token
// (lasting a second), the first request every SDK makes: the daemon
// answers it only once it has found who opened the connection and
// allow_users lets them in; its 403 says why not.
func checkListenerAdmits(ctx context.Context, listen string) Finding {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+listen+"/latest/api/token", nil)
	if err != nil {
		return Finding{Warn: true, What: "the daemon's caller identification not checked: " + err.Error()}
	}
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "1")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return Finding{Warn: true, What: "the daemon's caller identification not checked: " + err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusOK:
		return Finding{OK: true, What: "the daemon knows this user's connections on " + listen + " and serves them"}
	case http.StatusForbidden:
		msg := strings.TrimSpace(string(body))
		var e struct{ Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return Finding{What: "the daemon refuses this user's connections on " + listen + ": " + msg,
			Fix: "run tools as a user in allow_users (credd doctor as the user credd serves); where the daemon cannot tell who connects, see the caller identification lines above"}
	}
	return Finding{Warn: true, What: fmt.Sprintf("the daemon's caller identification not checked: %s answered %s", listen, resp.Status)}
}

// credentialKeys make a shared-config profile a credential source of its
// own, which every SDK uses before the container and IMDS endpoints.
var credentialKeys = []string{"aws_access_key_id", "credential_process", "role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}

// checkDefaultProfile warns when the profile SDKs fall back to (AWS_PROFILE
// unset: "default") has credentials of its own in the shared AWS files:
// SDKs then never ask credd. Every section that defines it counts: the
// config file's [default] and [profile default] (botocore takes the later,
// the Go SDK [profile default]), and the credentials file's [default].
func checkDefaultProfile(env Env) (Finding, bool) {
	if env.Getenv("AWS_PROFILE") != "" {
		return Finding{}, false // reported above
	}
	files, err := awsfile.Read(env.AWSFiles)
	if err != nil {
		return Finding{}, false
	}
	for _, f := range []*awsfile.File{files.Config, files.Credentials} {
		for _, s := range f.Sections {
			if s.Name != "default" || !(s.Type == "" || f.Kind == awsfile.Config && s.Type == awsfile.TypeProfile) {
				continue
			}
			for _, key := range s.Keys() {
				if slices.Contains(credentialKeys, key) {
					return Finding{Warn: true,
						What: "the default profile of " + f.Path + " has credentials of its own (" + key + "): SDKs and the AWS CLI use them before credd's endpoints",
						Fix:  "move them into a named profile, e.g. [profile main]: credd serves it under that name, and `credd env --profile main` points tools at credd (`credd env` cannot override a default profile that has credentials)",
					}, true
				}
			}
		}
	}
	return Finding{}, false
}

// checkAWSFiles reports the shared AWS files credd refuses to read
// (awsfile.Check): another user could change them, or they are no sane
// text file.
func checkAWSFiles(env Env) []Finding {
	var fs []Finding
	for _, f := range []string{env.AWSFiles.Config, env.AWSFiles.Credentials} {
		var re *awsfile.RefusedError
		if f != "" && errors.As(awsfile.Check(f), &re) {
			fs = append(fs, Finding{What: re.Path + ": " + re.Reason, Fix: re.Fix})
		}
	}
	return fs
}

// checkLoginCache reports the `aws login` cache directory when credd
// would share no session through it (login.CheckCacheDir): another user
// could put a session of theirs there.
func checkLoginCache(cfg config.Config, env Env) (Finding, bool) {
	var re *awsfile.RefusedError
	if env.LoginCacheDir == "" || !cfg.SignIn.SharesAWSCLICache() || !errors.As(login.CheckCacheDir(env.LoginCacheDir), &re) {
		return Finding{}, false
	}
	return Finding{What: re.Path + ": " + re.Reason + "; " + re.Effect, Fix: re.Fix}, true
}

// checkSkew compares the local clock with the Date header of STS.
func checkSkew(ctx context.Context, cfg config.Config) Finding {
	endpoint := cfg.STS.Endpoint
	if endpoint == "" {
		endpoint = "https://sts." + cfg.STS.Region + ".amazonaws.com"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return Finding{Warn: true, What: "clock skew not checked: " + err.Error()}
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Finding{Warn: true, What: "clock skew not checked: STS at " + endpoint + " is unreachable (" + err.Error() + ")", Fix: "check the network or sts.endpoint"}
	}
	resp.Body.Close()
	remote, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return Finding{Warn: true, What: "clock skew not checked: STS sent no Date header"}
	}
	local := start.Add(time.Since(start) / 2)
	skew := local.Sub(remote)
	if skew < 0 {
		skew = -skew
	}
	if skew > daemon.MaxSkew {
		return Finding{What: fmt.Sprintf("clock is off by about %s against STS: AWS refuses signatures more than 15 minutes off", skew.Round(time.Minute)), Fix: "enable time sync (timedatectl set-ntp true; or your OS's equivalent)"}
	}
	return Finding{OK: true, What: fmt.Sprintf("clock within %s of STS", skew.Round(time.Second)+time.Second)}
}
