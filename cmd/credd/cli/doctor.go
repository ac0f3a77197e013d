package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/peer"
)

// finding is one doctor check: ok, or a problem with its fix.
type finding struct {
	ok   bool
	warn bool // a problem that does not stop credd from working
	what string
	fix  string
	// exit is the exit code when this is the first failure; 0 means
	// ExitFailure.
	exit int
}

func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose: daemon, port, shadowing environment, clock skew, session store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.load()
			if err != nil {
				return err
			}
			fs := a.diagnose(cmd.Context(), l.cfg)
			failed, code := 0, ExitFailure
			for _, f := range fs {
				mark := "ok  "
				switch {
				case !f.ok && f.warn:
					mark = "warn"
				case !f.ok:
					mark = "FAIL"
					if failed == 0 && f.exit != 0 {
						code = f.exit
					}
					failed++
				}
				fmt.Fprintf(a.io.Out, "[%s] %s\n", mark, f.what)
				if f.fix != "" {
					fmt.Fprintf(a.io.Out, "       fix: %s\n", f.fix)
				}
			}
			switch {
			case failed > 0 && code == ExitNotRunning:
				// As every client command does when no daemon answers.
				return exitf(code, "%d check(s) failed; credd is not running: start it with `credd serve` (or `credd service start`)", failed)
			case failed > 0:
				return exitf(code, "%d check(s) failed", failed)
			}
			return nil
		},
	}
}

func (a *app) diagnose(ctx context.Context, cfg config.Config) []finding {
	var fs []finding
	// 1. The daemon, through its control socket.
	cl := control.NewClient(cfg.StateDir)
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := cl.Status(sctx)
	cancel()
	running := err == nil
	switch {
	case running:
		fs = append(fs, finding{ok: true, what: fmt.Sprintf("daemon running (pid %d, %s), %d profile(s)", st.PID, st.Version, len(st.Profiles))})
	case errors.Is(err, control.ErrNotRunning):
		fs = append(fs, finding{what: "daemon not running (no answer on " + control.SocketPath(cfg.StateDir) + ")", fix: "start it: `credd serve`, or `credd service start`", exit: ExitNotRunning})
	default:
		fs = append(fs, finding{what: "control socket error: " + err.Error(), fix: "restart the daemon"})
	}
	// 2. The listen port: ours, or free, or taken by something else.
	fs = append(fs, checkPort(ctx, cfg.Listen, running))
	// 3. Environment that makes SDKs skip credd.
	fs = append(fs, a.checkEnv(cfg)...)
	// 4. Clock skew against STS, and what the daemon saw of its upstreams.
	fs = append(fs, checkSkew(ctx, cfg))
	if running {
		for _, p := range st.Problems {
			fs = append(fs, finding{what: p, fix: "enable time sync (timedatectl set-ntp true; or your OS's equivalent)"})
		}
	}
	// 5. The session store and file permissions.
	if running {
		if len(st.Store.Problems) == 0 {
			fs = append(fs, finding{ok: true, what: fmt.Sprintf("session store %s: %d session(s) readable", st.Store.Kind, len(st.Sessions))})
		}
		for _, p := range st.Store.Problems {
			fs = append(fs, finding{warn: true, what: "session store: " + p, fix: "`credd logout` forgets unreadable sessions; sign in again"})
		}
	}
	// 6. Whether this system tells credd who is on the other end of a
	// connection: where it cannot, credd refuses every loopback client.
	fs = append(fs, checkPeers())
	for _, f := range []string{filepath.Join(cfg.StateDir, daemon.TokenFile)} {
		if _, err := os.Stat(f); err == nil {
			if err := daemon.CheckPrivate(f); err != nil {
				fs = append(fs, finding{what: err.Error(), fix: "chmod 600 " + f})
			}
		}
	}
	return fs
}

func checkPort(ctx context.Context, listen string, running bool) finding {
	if running {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/healthz", nil)
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return finding{ok: true, what: "endpoint answers on " + listen}
			}
		}
		return finding{what: "daemon runs but " + listen + " does not answer /healthz", fix: "check `listen` in the config and restart credd"}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return finding{what: listen + " is taken by another program: " + err.Error(), fix: "stop that program or set another `listen` port"}
	}
	ln.Close()
	return finding{ok: true, what: listen + " is free for credd"}
}

func (a *app) checkEnv(cfg config.Config) []finding {
	var fs []finding
	get := a.io.Getenv
	if get("AWS_ACCESS_KEY_ID") != "" || get("AWS_SECRET_ACCESS_KEY") != "" {
		fs = append(fs, finding{what: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set: every SDK uses them before credd", fix: "unset them, or `eval \"$(credd env)\"`"})
	}
	if p := get("AWS_PROFILE"); p != "" {
		fs = append(fs, finding{warn: true, what: "AWS_PROFILE=" + p + ": SDKs resolve that profile from ~/.aws/config before asking credd", fix: "unset AWS_PROFILE and pick the profile with `credd env --profile " + p + "`"})
	}
	if v := strings.ToLower(get("AWS_EC2_METADATA_DISABLED")); v == "true" {
		fs = append(fs, finding{what: "AWS_EC2_METADATA_DISABLED=true turns off the IMDS endpoint in SDKs", fix: "unset AWS_EC2_METADATA_DISABLED"})
	}
	if u := get("AWS_CONTAINER_CREDENTIALS_FULL_URI"); u != "" {
		_, port, _ := net.SplitHostPort(cfg.Listen)
		if !strings.Contains(u, ":"+port+"/") {
			fs = append(fs, finding{what: "AWS_CONTAINER_CREDENTIALS_FULL_URI points elsewhere: " + u, fix: "`eval \"$(credd env)\"`"})
		}
	}
	if len(fs) == 0 {
		fs = append(fs, finding{ok: true, what: "no environment variable shadows credd"})
	}
	if f, ok := a.checkDefaultProfile(); ok {
		fs = append(fs, f)
	}
	return fs
}

// credentialKeys make a shared-config profile a credential source of its
// own, which every SDK uses before the container and IMDS endpoints.
var credentialKeys = []string{"aws_access_key_id", "credential_process", "role_arn", "sso_session", "sso_start_url", "web_identity_token_file"}

// checkDefaultProfile warns when the profile SDKs fall back to (AWS_PROFILE
// unset: "default") has credentials of its own in the shared AWS files:
// SDKs then never ask credd. Every section that defines it counts: the
// config file's [default] and [profile default] (botocore takes the later,
// the Go SDK [profile default]), and the credentials file's [default].
func (a *app) checkDefaultProfile() (finding, bool) {
	if a.io.Getenv("AWS_PROFILE") != "" {
		return finding{}, false // reported above
	}
	paths, err := a.awsFiles()
	if err != nil {
		return finding{}, false
	}
	files, err := awsfile.Read(paths)
	if err != nil {
		return finding{}, false
	}
	for _, f := range []*awsfile.File{files.Config, files.Credentials} {
		for _, s := range f.Sections {
			if s.Name != "default" || !(s.Type == "" || f.Kind == awsfile.Config && s.Type == awsfile.TypeProfile) {
				continue
			}
			for _, key := range s.Keys() {
				if contains(credentialKeys, key) {
					return finding{warn: true,
						what: "the default profile of " + f.Path + " has credentials of its own (" + key + "): SDKs and the AWS CLI use them before credd's endpoints",
						fix:  "move them into a named profile, e.g. [profile main]: credd serves it under that name, and `credd env --profile main` points tools at credd (`credd env` cannot override a default profile that has credentials)",
					}, true
				}
			}
		}
	}
	return finding{}, false
}

// checkSkew compares the local clock with the Date header of STS.
func checkSkew(ctx context.Context, cfg config.Config) finding {
	endpoint := cfg.STS.Endpoint
	if endpoint == "" {
		endpoint = "https://sts." + cfg.STS.Region + ".amazonaws.com"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return finding{warn: true, what: "clock skew not checked: " + err.Error()}
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return finding{warn: true, what: "clock skew not checked: STS at " + endpoint + " is unreachable (" + err.Error() + ")", fix: "check the network or sts.endpoint"}
	}
	resp.Body.Close()
	remote, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return finding{warn: true, what: "clock skew not checked: STS sent no Date header"}
	}
	local := start.Add(time.Since(start) / 2)
	skew := local.Sub(remote)
	if skew < 0 {
		skew = -skew
	}
	if skew > daemon.MaxSkew {
		return finding{what: fmt.Sprintf("clock is off by about %s against STS: AWS refuses signatures more than 15 minutes off", skew.Round(time.Minute)), fix: "enable time sync (timedatectl set-ntp true; or your OS's equivalent)"}
	}
	return finding{ok: true, what: fmt.Sprintf("clock within %s of STS", skew.Round(time.Second)+time.Second)}
}

// checkPeers attributes a loopback connection of its own, as the daemon
// does every client's, and says how and with what limits.
func checkPeers() finding {
	fail := func(err error, how string) finding {
		return finding{what: "this system does not tell credd who opened a connection (" + err.Error() + "): credd refuses every client" + how,
			fix: "see the peer attribution section of docs/security.md for what each OS offers"}
	}
	r, err := peer.New()
	if err != nil {
		return fail(err, "")
	}
	sup := r.Support()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return finding{warn: true, what: "peer attribution not checked: " + err.Error()}
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return finding{warn: true, what: "peer attribution not checked: " + err.Error()}
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
		return finding{what: fmt.Sprintf("peer attribution named user %s for credd's own connection, not %s", p.User, self), fix: "report this: credd would refuse its own user"}
	}
	return finding{ok: true, what: "peer attribution: the owner of each connection via " + sup.Owner + "; its program via " + sup.Process + ". Not known: " + sup.Limits}
}
