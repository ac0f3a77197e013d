package cli

import (
	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/doctor"
	"github.com/credd/credd/login"
)

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
			paths, err := config.AWSFiles(a.io.Getenv)
			if err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			env := doctor.Env{Getenv: a.io.Getenv, AWSFiles: paths}
			// The login cache the daemon shares, as serve finds it.
			if home, _ := config.HomeDir(a.io.Getenv); home != "" || a.io.Getenv("AWS_LOGIN_CACHE_DIRECTORY") != "" {
				env.LoginCacheDir = login.LoginCacheDir(home, a.io.Getenv("AWS_LOGIN_CACHE_DIRECTORY"))
			}
			return doctor.Write(a.io.Out, doctor.Diagnose(cmd.Context(), l.Config, env))
		},
	}
}
