// Package desktop reaches the user's desktop session with the OS's own
// tools: it opens a URL in the default browser (xdg-open, open, rundll32)
// and shows notifications (notify-send, osascript). Nothing here reads the
// environment: cmd passes its getenv.
package desktop

import (
	"os/exec"
	"time"
)

// Available reports whether there is a desktop to open a browser on: not
// an SSH login without a display.
func Available(getenv func(string) string) bool { return hasDisplay(getenv) }

// Open opens u in the default browser. It does not wait for the browser,
// which may outlive credd.
func Open(u string) error {
	name, args := openCommand(u)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it
	return nil
}

// Notifier shows notifications on the desktop, where the OS has a tool for
// it; elsewhere it shows none.
type Notifier struct{}

// notifyTimeout bounds the notification tool.
const notifyTimeout = 10 * time.Second

// Notify shows a notification without waiting for it.
func (Notifier) Notify(title, message string) {
	name, args, ok := notifyCommand(title, message)
	if !ok {
		return
	}
	cmd := exec.Command(name, args...)
	if cmd.Start() == nil {
		go func() {
			t := time.AfterFunc(notifyTimeout, func() { _ = cmd.Process.Kill() })
			_ = cmd.Wait()
			t.Stop()
		}()
	}
}
