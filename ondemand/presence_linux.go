package ondemand

import (
	"context"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// NewPresence is the OS's word on whether the screen is locked: on Linux,
// systemd-logind's LockedHint of the user's graphical session (set by
// GNOME, KDE and the screen lockers that follow logind). Without logind or
// a graphical session, it cannot tell.
func NewPresence() Presence { return &logind{} }

type logind struct {
	mu   sync.Mutex
	conn *dbus.Conn
}

func (l *logind) Locked() (locked, known bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		c, err := dbus.ConnectSystemBus()
		if err != nil {
			return false, false
		}
		l.conn = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var display []any // (so): the session's ID and object path
	if err := l.get(ctx, "/org/freedesktop/login1/user/self", "org.freedesktop.login1.User", "Display", &display); err != nil {
		l.drop(err)
		return false, false
	}
	if len(display) != 2 {
		return false, false
	}
	path, ok := display[1].(dbus.ObjectPath)
	if !ok || path == "/" {
		return false, false // no graphical session
	}
	var hint bool
	if err := l.get(ctx, path, "org.freedesktop.login1.Session", "LockedHint", &hint); err != nil {
		l.drop(err)
		return false, false
	}
	return hint, true
}

func (l *logind) get(ctx context.Context, path dbus.ObjectPath, iface, prop string, out any) error {
	var v dbus.Variant
	err := l.conn.Object("org.freedesktop.login1", path).
		CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, prop).Store(&v)
	if err != nil {
		return err
	}
	return dbus.Store([]any{v.Value()}, out)
}

// drop forgets a connection that broke, so the next call reconnects.
func (l *logind) drop(err error) {
	if l.conn != nil && !l.conn.Connected() {
		l.conn.Close()
		l.conn = nil
	}
}
