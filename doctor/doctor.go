// Package doctor diagnoses a credd setup, as `credd doctor` prints it:
// the daemon through its control socket, the listen port, environment
// variables and a default AWS profile that make SDKs skip credd, the clock
// against STS, the session store, whether the OS tells who is on the other
// end of a connection, and the client token's permissions. Each
// check is a Finding: ok, or a problem with its fix.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
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
	// connection: where it cannot, credd refuses every loopback client.
	fs = append(fs, checkPeers())
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

// checkPeers attributes a loopback connection of its own, as the daemon
// does every client's, and says how and with what limits.
func checkPeers() Finding {
	fail := func(err error, how string) Finding {
		return Finding{What: "this system does not tell credd who opened a connection (" + err.Error() + "): credd refuses every client" + how,
			Fix: "see the peer attribution section of docs/security.md for what each OS offers"}
	}
	r, err := peer.New()
	if err != nil {
		return fail(err, "")
	}
	sup := r.Support()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Finding{Warn: true, What: "peer attribution not checked: " + err.Error()}
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return Finding{Warn: true, What: "peer attribution not checked: " + err.Error()}
	}
	defer c.Close()
	local := ln.Addr().(*net.TCPAddr).AddrPort()
	remote := c.LocalAddr().(*net.TCPAddr).AddrPort()
	p, err := r.Lookup(local, remote)
	if err != nil {
		return fail(err, " (owner via "+sup.Owner+")")
	}
	self, _ := peer.Self()
	if p.User != self {
		return Finding{What: fmt.Sprintf("peer attribution named user %s for credd's own connection, not %s", p.User, self), Fix: "report this: credd would refuse its own user"}
	}
	return Finding{OK: true, What: "peer attribution: the owner of each connection via " + sup.Owner + "; its program via " + sup.Process + ". Not known: " + sup.Limits}
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
