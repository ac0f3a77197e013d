package cli

import (
	"os/exec"
	"time"

	"github.com/credd/credd/daemon"
)

// openURL opens a URL in the user's browser (openCommand is per OS).
func (a *app) openURL(u string) error {
	if a.io.OpenURL != nil {
		return a.io.OpenURL(u)
	}
	name, args := openCommand(u)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it; browsers may outlive us
	return nil
}

// canOpenBrowser: a desktop session is there (not an SSH login without a
// display).
func (a *app) canOpenBrowser() bool {
	if a.io.OpenURL != nil {
		return true
	}
	return hasDisplay(a.io.Getenv)
}

// notifier is the desktop notifier, or the test hook.
func (a *app) notifier() daemon.Notifier {
	if a.io.Notify != nil {
		return notifyFunc(a.io.Notify)
	}
	return desktopNotifier{}
}

type notifyFunc func(title, message string)

func (f notifyFunc) Notify(title, message string) { f(title, message) }

// desktopNotifier shows notifications with the OS's own tool.
type desktopNotifier struct{}

func (desktopNotifier) Notify(title, message string) {
	name, args, ok := notifyCommand(title, message)
	if !ok {
		return
	}
	cmd := exec.Command(name, args...)
	if cmd.Start() == nil {
		go func() {
			t := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
			_ = cmd.Wait()
			t.Stop()
		}()
	}
}
