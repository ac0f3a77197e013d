//go:build !linux && !darwin && !windows

package desktop

func openCommand(u string) (string, []string) { return "xdg-open", []string{u} }

func hasDisplay(getenv func(string) string) bool { return getenv("DISPLAY") != "" }

func notifyCommand(string, string) (string, []string, bool) { return "", nil, false }
