package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

func (a *app) consoleCmd() *cobra.Command {
	var req control.ConsoleRequest
	var printOnly bool
	c := &cobra.Command{
		Use:   "console [--profile X] [--destination D] [--region R] [--print]",
		Short: "Open the AWS Management Console signed in as a profile (or print the link)",
		Long: `Ask the daemon for a console sign-in link and open it in the default
browser. With --print, or when no browser can be opened (no display, over
SSH), the link is printed on standard output instead.

The link signs in whoever opens it, for 15 minutes: do not paste it where
others can see it.

--destination is a console URL, a path such as ec2/home#Instances:, or a
short name: s3, ec2, iam, cloudwatch, lambda, logs, ... (an unknown name
lists them all). Default: the profile's console.destination, else the
console home. --region picks the region of the console (default: the
profile's region).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, _, err := a.client()
			if err != nil {
				return err
			}
			link, err := cl.Console(cmd.Context(), req)
			if err != nil {
				return clientErr(err)
			}
			if !printOnly && a.canOpenBrowser() {
				oerr := a.openURL(link.URL)
				if oerr == nil {
					fmt.Fprintf(a.io.Out, "Opened the AWS console for profile %s in your browser: %s\n", link.Profile, link.Destination)
					describeConsole(a.io.Out, link, time.Now())
					return nil
				}
				fmt.Fprintf(a.io.Err, "credd: could not open a browser (%v): open this link yourself\n", oerr)
			}
			fmt.Fprintln(a.io.Out, link.URL)
			fmt.Fprintf(a.io.Err, "Console sign-in link for profile %s, to %s.\n", link.Profile, link.Destination)
			describeConsole(a.io.Err, link, time.Now())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&req.Profile, "profile", "", "profile (default: default_profile)")
	f.StringVar(&req.Destination, "destination", "", "console URL, path or service name (s3, ec2, iam, ...)")
	f.StringVar(&req.Region, "region", "", "console region (default: the profile's)")
	f.BoolVar(&printOnly, "print", false, "print the link instead of opening a browser")
	return c
}

// describeConsole says how long the link and the session last.
func describeConsole(w io.Writer, link control.ConsoleLink, now time.Time) {
	fmt.Fprintf(w, "The link works for 15 minutes (until %s) and signs in whoever opens it.\n", clockTime(link.Expires))
	if link.Credentials == string(cred.KindFederation) {
		fmt.Fprintln(w, "IAM user keys cannot sign in themselves: this is a federation session (sts:GetFederationToken) with the user's own permissions, or those the profile's console.policy and console.policy_arns allow.")
	}
	switch {
	case link.SessionSeconds > 0:
		fmt.Fprintf(w, "The console session will last %s (console.session_duration).\n", config.Dur(time.Duration(link.SessionSeconds)*time.Second))
	case link.SessionExpires != nil:
		fmt.Fprintf(w, "The console session will last as long as the credentials: %s (until %s).\n",
			config.Dur(link.SessionExpires.Sub(now).Round(time.Minute)), clockTime(*link.SessionExpires))
	}
	if link.Note != "" {
		fmt.Fprintf(w, "Note: %s.\n", link.Note)
	}
}

func clockTime(t time.Time) string { return t.Local().Format("15:04 MST") }
