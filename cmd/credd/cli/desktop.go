package cli

import (
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/desktop"
)

// openURL opens a URL in the user's browser, or hands it to the test hook.
func (a *app) openURL(u string) error {
	if a.io.OpenURL != nil {
		return a.io.OpenURL(u)
	}
	return desktop.Open(u)
}

// canOpenBrowser: a desktop session is there (not an SSH login without a
// display), or the test hook.
func (a *app) canOpenBrowser() bool {
	return a.io.OpenURL != nil || desktop.Available(a.io.Getenv)
}

// notifier is the desktop notifier, or the test hook.
func (a *app) notifier() daemon.Notifier {
	if a.io.Notify != nil {
		return notifyFunc(a.io.Notify)
	}
	return desktop.Notifier{}
}

type notifyFunc func(title, message string)

func (f notifyFunc) Notify(title, message string) { f(title, message) }
