package ondemand

import "golang.org/x/sys/windows"

var (
	user32           = windows.NewLazySystemDLL("user32.dll")
	openInputDesktop = user32.NewProc("OpenInputDesktop")
	switchDesktop    = user32.NewProc("SwitchDesktop")
	closeDesktop     = user32.NewProc("CloseDesktop")
)

// NewPresence is the OS's word on whether the screen is locked: on
// Windows, whether the user's desktop is the input desktop (a locked
// workstation shows the secure desktop instead, and switching fails).
func NewPresence() Presence { return inputDesktop{} }

type inputDesktop struct{}

const desktopSwitchDesktop = 0x0100

func (inputDesktop) Locked() (locked, known bool) {
	if openInputDesktop.Find() != nil || switchDesktop.Find() != nil || closeDesktop.Find() != nil {
		return false, false
	}
	h, _, _ := openInputDesktop.Call(0, 0, desktopSwitchDesktop)
	if h == 0 {
		return true, true
	}
	defer closeDesktop.Call(h)
	ok, _, _ := switchDesktop.Call(h)
	return ok == 0, true
}
