//go:build windows

package private

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The security descriptors of what credd creates private: a protected
// DACL (nothing inherited from the directory) with one entry, full access
// for the user credd runs as. A directory's entry is inherited by what is
// created in it (OI: files, CI: directories).
const (
	fileSDDL = "D:P(A;;FA;;;%s)"
	dirSDDL  = "D:P(A;OICI;FA;;;%s)"
)

// attributes are the security attributes that create with sddl for this
// process's user.
func attributes(sddl string) (*windows.SecurityAttributes, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading this process's user: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(fmt.Sprintf(sddl, u.User.Sid.String()))
	if err != nil {
		return nil, fmt.Errorf("security descriptor: %w", err)
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

// MkdirAll creates path and any missing parents, each it creates with a
// DACL that admits the user alone. Directories that exist are left as
// they are.
func MkdirAll(path string) error {
	if fi, err := os.Stat(path); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: path, Err: windows.ERROR_ALREADY_EXISTS}
		}
		return nil
	}
	if parent := filepath.Dir(path); parent != path {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	sa, err := attributes(dirSDDL)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	if err := windows.CreateDirectory(p, sa); err != nil {
		// Made meanwhile (by another MkdirAll), as os.MkdirAll accepts.
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// CreateTemp is os.CreateTemp (the last "*" of pattern becomes a random
// string; dir "" is os.TempDir()), but the file is created with a DACL
// that admits the user alone: no other account can open it, not even
// between its creation and a later change of its ACL.
func CreateTemp(dir, pattern string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	if strings.ContainsRune(pattern, filepath.Separator) || strings.ContainsRune(pattern, '/') {
		return nil, &fs.PathError{Op: "createtemp", Path: pattern, Err: errors.New("pattern contains path separator")}
	}
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	sa, err := attributes(fileSDDL)
	if err != nil {
		return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, pattern), Err: err}
	}
	for try := 0; ; try++ {
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, prefix+strconv.FormatUint(leUint64(r), 36)+suffix)
		f, err := create(name, sa)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) && try < 10000 {
			continue
		}
		return f, err
	}
}

// CreateIfMissing creates path as an empty file with a DACL that admits
// the user alone, unless it exists (then it is left as it is). Callers
// then open it as usual: an existing file opened with os.O_CREATE keeps
// its ACL.
func CreateIfMissing(path string) error {
	sa, err := attributes(fileSDDL)
	if err != nil {
		return &fs.PathError{Op: "create", Path: path, Err: err}
	}
	f, err := create(path, sa)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func create(name string, sa *windows.SecurityAttributes) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, sa,
		windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}

func leUint64(b [8]byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
