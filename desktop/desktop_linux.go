package desktop

import "os/exec"

func openCommand(u string) (string, []string) { return "xdg-open", []string{u} }

func hasDisplay(getenv func(string) string) bool {
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

func notifyCommand(title, msg string) (string, []string, bool) {
	p, err := exec.LookPath("notify-send")
	return p, []string{"--app-name=credd", title, msg}, err == nil
}
