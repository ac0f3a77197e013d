package install

import (
	"encoding/json"
	"strings"

	"github.com/kardianos/service"
)

// WindowsService is the Windows service definition for d (the --system
// install on Windows): started automatically at boot by the service control
// manager, restarted 5 s after a failure. It runs as LocalSystem, outside
// any user's session, so d.Command should name the config, state
// directory and log file explicitly. The option keys are kardianos/service's
// (they are declared only in its Windows build).
func WindowsService(d Definition) *service.Config {
	c := &service.Config{
		Name:        Name,
		DisplayName: Name,
		Description: Description,
		Option: service.KeyValue{
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   60,
		},
	}
	if len(d.Command) > 0 {
		c.Executable = d.Command[0]
		c.Arguments = d.Command[1:]
	}
	return c
}

// windowsServiceText renders a WindowsService definition for review and
// golden tests: the configuration, plus the command line as the service
// control manager stores it.
func windowsServiceText(c *service.Config) []byte {
	words := []string{WindowsQuote(c.Executable)}
	for _, a := range c.Arguments {
		words = append(words, WindowsQuote(a))
	}
	b, _ := json.MarshalIndent(struct {
		*service.Config
		CommandLine string
	}{c, strings.Join(words, " ")}, "", "  ") // plain strings and maps: cannot fail
	return append(b, '\n')
}
