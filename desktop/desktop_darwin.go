package desktop

import "strconv"

func openCommand(u string) (string, []string) { return "open", []string{u} }

// hasDisplay: a Mac has a browser unless this is an SSH login.
func hasDisplay(getenv func(string) string) bool {
	return getenv("SSH_CONNECTION") == "" && getenv("SSH_TTY") == ""
}

func notifyCommand(title, msg string) (string, []string, bool) {
	script := "display notification " + strconv.Quote(msg) + " with title " + strconv.Quote(title)
	return "osascript", []string{"-e", script}, true
}
