package cli

import (
	"fmt"

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
			failed, code := 0, ExitFailure
			for _, f := range doctor.Diagnose(cmd.Context(), l.Config, doctor.Env{Getenv: a.io.Getenv, AWSFiles: paths}) {
				mark := "ok  "
				switch {
				case !f.OK && f.Warn:
					mark = "warn"
				case !f.OK:
					mark = "FAIL"
					if failed == 0 && f.NotRunning {
						code = ExitNotRunning
					}
					failed++
				}
				fmt.Fprintf(a.io.Out, "[%s] %s\n", mark, f.What)
				if f.Fix != "" {
					fmt.Fprintf(a.io.Out, "       fix: %s\n", f.Fix)
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
