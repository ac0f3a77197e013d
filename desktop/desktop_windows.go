package desktop

func openCommand(u string) (string, []string) {
	return "rundll32", []string{"url.dll,FileProtocolHandler", u}
}

func hasDisplay(getenv func(string) string) bool { return getenv("SSH_CONNECTION") == "" }

// notifyCommand: Windows has no notification command line tool worth
// depending on; status and the 503 messages say what to do.
func notifyCommand(string, string) (string, []string, bool) { return "", nil, false }
