package cli

import (
	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/doctor"
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
			return doctor.Write(a.io.Out, doctor.Diagnose(cmd.Context(), l.Config, doctor.Env{Getenv: a.io.Getenv, AWSFiles: paths}))
		},
	}
}
