package cli

import "github.com/credd/credd/config"

// unknownEnv is unknownEnv of the process's environment.
func (a *app) unknownEnv() []config.UnknownVar {
	if a.io.Environ == nil {
		return nil
	}
	return config.UnknownEnv(a.io.Environ())
}
