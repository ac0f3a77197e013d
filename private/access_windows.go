//go:build windows

package private

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// writeRights are the rights that let an account change a file: its data,
// its ACL or owner, or delete it (generic rights included, unmapped).
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.DELETE |
	windows.WRITE_DAC | windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// ReadAccess reads path's DACL.
func ReadAccess(path string) (Access, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return Access{}, fmt.Errorf("reading the ACL of %s: %w", path, err)
	}
	control, _, err := sd.Control()
	if err != nil {
		return Access{}, fmt.Errorf("reading the ACL of %s: %w", path, err)
	}
	a := Access{Protected: control&windows.SE_DACL_PROTECTED != 0}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		// No DACL (ERROR_OBJECT_NOT_FOUND) is full access for everyone.
		a.Allowed = []string{"S-1-1-0"}
		a.Writers = a.Allowed
		return a, nil
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return Access{}, fmt.Errorf("reading the ACL of %s: entry %d: %w", path, i, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		a.Allowed = append(a.Allowed, sid.String())
		if ace.Mask&writeRights != 0 {
			a.Writers = append(a.Writers, sid.String())
		}
	}
	return a, nil
}

// OtherWriters returns the accounts (SIDs) other than the user, SYSTEM and
// Administrators that path's DACL lets change it.
func OtherWriters(path string) ([]string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading this process's user: %w", err)
	}
	a, err := ReadAccess(path)
	if err != nil {
		return nil, err
	}
	return a.OtherWriters(u.User.Sid.String()), nil
}
