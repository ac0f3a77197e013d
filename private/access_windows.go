//go:build windows

package private

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Access is who a file's DACL lets in.
type Access struct {
	// Protected: the DACL inherits nothing from the directory.
	Protected bool
	// Allowed are the SIDs the DACL's access-allowed entries name (those
	// that apply to the file itself, not only to what is created in it),
	// in order. A file without a DACL admits everyone: "S-1-1-0".
	Allowed []string
}

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
	}
	return a, nil
}
