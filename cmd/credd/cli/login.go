package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/mfa"
)

func (a *app) loginCmd() *cobra.Command {
	var req control.LoginRequest
	var noBrowser bool
	var mfaCode string
	c := &cobra.Command{
		Use:   "login [--provider P | --sso-session S | --signin | --profile X [--mfa-code N]] [--device | --remote] [--no-browser]",
		Short: "Sign in through the daemon (browser with PKCE, or device code)",
		Long: `Ask the daemon to sign in to a session. The daemon runs the flow and keeps
the result (refreshing it in the background); this command opens the
browser, or prints the URL (and the code of a device sign-in), and waits.
Ctrl-C leaves the sign-in; the daemon cancels it unless another terminal
still waits for it. Without a browser (over SSH, say) use --device.

--signin signs in to AWS Sign-In as ` + "`aws login`" + ` does (the session a
profile's login_session names); --remote is its cross-device sign-in:
open the URL on any device, then paste the code the page shows.

For a profile on IAM user keys with an MFA device (mfa_serial), --profile X
asks for a code on the terminal (or takes --mfa-code) and starts the MFA
session every profile on those keys shares; with mfa_process the daemon
runs that command for the code instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mfaCode != "" && req.Profile == "" {
				return exitf(ExitUsage, "--mfa-code needs --profile: the profile whose MFA device the code is of")
			}
			cl, _, err := a.client()
			if err != nil {
				return err
			}
			if req.Profile != "" {
				if done, err := a.mfaLogin(cmd.Context(), cl, req.Profile, mfaCode); done || err != nil {
					return err
				}
			}
			if req.Remote && req.Device {
				return exitf(ExitUsage, "--remote and --device are two ways to sign in without a browser here: choose one (--remote for AWS Sign-In, --device for the others)")
			}
			if !req.Device && !req.Remote && !noBrowser && !a.canOpenBrowser() {
				if req.SignIn {
					req.Remote = true // AWS Sign-In has no device code flow
				} else {
					req.Device = true
				}
			}
			ctx := cmd.Context()
			start, err := cl.Login(ctx, req)
			if err != nil {
				return clientErr(err)
			}
			if start.Remote {
				return a.remoteLogin(ctx, cl, start)
			}
			if start.Device {
				fmt.Fprintf(a.io.Out, "To sign in to %s, open\n\n    %s\n\nand enter the code %s\n\n", start.Session, start.URL, start.UserCode)
			} else if noBrowser || a.openURL(start.URL) != nil {
				fmt.Fprintf(a.io.Out, "To sign in to %s, open this address in a browser on this machine:\n\n    %s\n\n", start.Session, start.URL)
			} else {
				fmt.Fprintf(a.io.Out, "Opened your browser to sign in to %s.\n", start.Session)
			}
			st, err := a.waitLogin(ctx, cl, start)
			if err != nil {
				return err
			}
			return a.loginEnded(start, st)
		},
	}
	f := c.Flags()
	f.StringVar(&req.Provider, "provider", "", "identity provider (identity_providers)")
	f.StringVar(&req.SSOSession, "sso-session", "", "IAM Identity Center session (sso_sessions)")
	f.StringVar(&req.Profile, "profile", "", "sign in to the session this profile uses")
	f.BoolVar(&req.Device, "device", false, "device code sign-in (for machines without a browser)")
	f.BoolVar(&req.SignIn, "signin", false, "AWS Sign-In, as `aws login` (the session of a profile's login_session)")
	f.BoolVar(&req.Remote, "remote", false, "AWS Sign-In's cross-device sign-in: open the URL on any device, paste the code it shows")
	f.BoolVar(&noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	f.StringVar(&mfaCode, "mfa-code", "", "with --profile: the 6-digit code of the profile's MFA device (for scripts)")
	return c
}

// loginEnded reports how a sign-in ended.
func (a *app) loginEnded(start control.LoginStart, st control.LoginState) error {
	if st.State != "done" {
		return exitf(ExitFailure, "sign-in to %s failed: %s", start.Session, st.Error)
	}
	fmt.Fprintf(a.io.Out, "Signed in to %s.\n", start.Session)
	a.printReady(st.Ready, st.NotReady)
	return nil
}

// printReady lists the profiles a sign-in made ready, and those it did not.
func (a *app) printReady(ready []string, notReady []control.ProfileError) {
	if len(ready) > 0 {
		fmt.Fprintf(a.io.Out, "Ready: %s\n", strings.Join(ready, ", "))
	}
	for _, p := range notReady {
		fmt.Fprintf(a.io.Out, "Not ready: %s: %s\n", p.Profile, p.Error)
	}
}

// waitLogin polls the daemon until the sign-in ends, with a spinner and
// the time left on a terminal. Cancelling ctx (Ctrl-C) leaves the flow,
// which the daemon cancels unless another client waits on it.
func (a *app) waitLogin(ctx context.Context, cl *control.Client, start control.LoginStart) (control.LoginState, error) {
	spin := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	for i := 0; ; i++ {
		poll := 25 * time.Second
		if a.io.OutIsTerminal {
			poll = 200 * time.Millisecond
			left := time.Until(start.Expires).Round(time.Second)
			fmt.Fprintf(a.io.Out, "\r%c waiting for the sign-in (%s left) ", spin[i%len(spin)], left)
		}
		st, err := cl.LoginStatus(ctx, start.ID, poll)
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_ = cl.CancelLogin(cctx, start.ID)
			cancel()
			a.clearLine()
			return st, exitf(ExitFailure, "sign-in cancelled")
		}
		if err != nil {
			a.clearLine()
			return st, clientErr(err)
		}
		if st.State != "pending" {
			a.clearLine()
			return st, nil
		}
	}
}

func (a *app) clearLine() {
	if a.io.OutIsTerminal {
		fmt.Fprint(a.io.Out, "\r\x1b[K")
	}
}

// mfaLogin starts the MFA session profile rests on, if it rests on one
// (done false otherwise: the profile signs in some other way). Without
// code, and without an mfa_process the daemon runs, it asks for one on
// the terminal. A code that is not six digits never reaches the daemon.
func (a *app) mfaLogin(ctx context.Context, cl *control.Client, profile, code string) (done bool, err error) {
	if code != "" {
		if err := mfa.CheckCode(code); err != nil {
			return true, exitf(ExitUsage, "--mfa-code: %w", err)
		}
	}
	res, err := cl.MFALogin(ctx, control.MFARequest{Profile: profile, Code: code})
	var ce *control.Error
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound && ce.Kind == "" && code == "" {
		return false, nil // a daemon that starts no MFA sessions
	}
	if err != nil {
		return true, mfaErr(profile, err)
	}
	if !res.MFA {
		if code != "" {
			return true, exitf(ExitUsage, "profile %s rests on no MFA device (no mfa_serial in its chain): --mfa-code is not used", profile)
		}
		return false, nil
	}
	if res.NeedCode {
		if code, err = a.askCode(res.Serial); err != nil {
			return true, err
		}
		if res, err = cl.MFALogin(ctx, control.MFARequest{Profile: profile, Code: code}); err != nil {
			return true, mfaErr(profile, err)
		}
	}
	end := "?"
	if res.Expires != nil {
		end = res.Expires.Local().Format("2006-01-02 15:04 MST")
	}
	fmt.Fprintf(a.io.Out, "MFA session for %s started (%s); it ends at %s.\n", res.Serial, res.Session, end)
	a.printReady(res.Ready, res.NotReady)
	return true, nil
}

// askCode reads a code of the MFA device serial from the terminal (or
// whatever stdin is): one line, six digits.
func (a *app) askCode(serial string) (string, error) {
	if a.io.In == nil {
		return "", exitf(ExitUsage, "an MFA code of %s is needed: pass --mfa-code", serial)
	}
	fmt.Fprintf(a.io.Out, "MFA code for %s: ", serial)
	line, err := bufio.NewReader(io.LimitReader(a.io.In, 256)).ReadString('\n')
	if err != nil && line == "" {
		return "", exitf(ExitUsage, "no MFA code read (%w): type it, or pass --mfa-code", err)
	}
	code := strings.TrimSpace(line)
	if err := mfa.CheckCode(code); err != nil {
		return "", exitf(ExitUsage, "%w: run `credd login` again with the code your device shows", err)
	}
	return code, nil
}

// mfaErr says what to do after the daemon refused a code.
func mfaErr(profile string, err error) error {
	if errors.Is(err, cred.ErrMFARequired) {
		return fmt.Errorf("%w\nNothing was served and the code is not tried again: run `credd login --profile %s` with the next code", err, profile)
	}
	return clientErr(err)
}
