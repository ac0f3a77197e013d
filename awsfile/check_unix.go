//go:build unix

package awsfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxLinks bounds the symbolic links followed on the way to a file, as
// the kernel's own limit (40 on Linux) does.
const maxLinks = 40

// openChecked opens the file at path for reading if no user but this one
// (and root) can change what is read there: the file, every symbolic link
// on the way to it and every directory in which a name on the way is
// looked up belong to this user or root; the file is not writable by
// group or others, and neither is any of those directories unless it is
// sticky (as /tmp). A missing file is an error that wraps
// fs.ErrNotExist, unless others could create it. The file is opened
// without blocking, so that a named pipe is refused rather than waited
// on.
func openChecked(path string) (*os.File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	real, err := walk(path, abs, runs)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if real == os.DevNull {
		return f, nil // everyone's to write, and empty to read: read takes it
	}
	if err := trusted(path, real, fi); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// walk resolves abs one name at a time, as the kernel does, checking the
// directories it looks names up in and the links it follows, and returns
// the path of the file without links. Errors name path, the file asked
// for. A missing name is an error that wraps fs.ErrNotExist, unless the
// directory it is missing from lets others create it.
func walk(path, abs, could string) (string, error) {
	cur, links := "/", 0
	fi, err := os.Lstat(cur)
	if err != nil {
		return "", err
	}
	if err := trustedDir(path, cur, fi, could); err != nil {
		return "", err
	}
	rest := strings.Split(abs, "/")
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			if dfi, derr := os.Lstat(cur); derr == nil && dfi.Mode().Perm()&0o022 != 0 {
				return "", &RefusedError{Path: path, Reason: fmt.Sprintf("%s is missing from the directory %s (mode %04o), where group or others could create it", next, cur, dfi.Mode().Perm()), Fix: "create it yourself (or keep it in a directory of your own)"}
			}
		}
		if err != nil {
			return "", err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if err := trustedOwner(path, fi, "the link "+next+" on the way to it", could); err != nil {
				return "", err
			}
			if links++; links > maxLinks {
				return "", &RefusedError{Path: path, Reason: fmt.Sprintf("more than %d symbolic links on the way to it", maxLinks), Fix: "point it at the file directly"}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		case fi.IsDir() && len(rest) > 0:
			if err := trustedDir(path, next, fi, could); err != nil {
				return "", err
			}
		}
		cur = next
	}
	return cur, nil
}

// trusted checks the file itself (real, where links led): this user's or
// root's, and not writable by group or others.
func trusted(path, real string, fi fs.FileInfo) error {
	what := "it"
	if abs, err := filepath.Abs(path); err != nil || abs != real {
		what = real + ", the file it leads to,"
	}
	if err := trustedOwner(path, fi, what, runs); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &RefusedError{Path: path, Reason: fmt.Sprintf("%s is writable by group or others (mode %04o): any of them could add a credential_process that credd would run as you", what, perm), Fix: "run `chmod go-w " + shellQuote(real) + "`, and check what it holds: others could have changed it"}
	}
	return nil
}

// trustedDir checks a directory in which a name on the way to the file
// is looked up: this user's or root's, and not writable by group or
// others unless it is sticky (as /tmp: others may not rename or remove
// what is not theirs; the links and the file found in it are checked
// for their owner).
func trustedDir(path, dir string, fi fs.FileInfo, could string) error {
	if err := trustedOwner(path, fi, "the directory "+dir+" on the way to it", could); err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 || fi.Mode()&fs.ModeSticky != 0 {
		return nil
	}
	return &RefusedError{Path: path, Reason: fmt.Sprintf("the directory %s on the way to it is writable by group or others (mode %04o): any of them could put another file in its place", dir, perm), Fix: "run `chmod go-w " + shellQuote(dir) + "`, or keep the file in a directory of your own"}
}

// What another user who owns a file, a link or a directory on the way
// could do (trustedOwner's could): to a shared AWS file, and to the login
// cache.
const (
	runs       = "change what credd runs as you"
	swapsLogin = "put a session of theirs in place of yours"
)

// trustedOwner refuses what belongs to neither this user nor root (who
// can change anything anyway). what names it in the reason, could what
// its owner could do.
func trustedOwner(path string, fi fs.FileInfo, what, could string) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 || int(st.Uid) == os.Geteuid() {
		return nil
	}
	owner := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(owner); err == nil && u.Username != "" {
		owner += " (" + u.Username + ")"
	}
	return &RefusedError{Path: path, Reason: fmt.Sprintf("%s belongs to user %s, not to you: that user could %s", what, owner, could), Fix: "replace it with a copy of your own"}
}

// checkDir is CheckDir but for the effect.
func checkDir(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real, err := walk(path, abs, swapsLogin)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return err
	}
	what := "it"
	if abs != real {
		what = real + ", the directory it leads to,"
	}
	if !fi.IsDir() {
		return &RefusedError{Path: path, Reason: what + " is not a directory (" + fileType(fi.Mode()) + ")", Fix: "remove it, or point AWS_LOGIN_CACHE_DIRECTORY at a directory of your own"}
	}
	if err := trustedOwner(path, fi, what, swapsLogin); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &RefusedError{Path: path, Reason: fmt.Sprintf("%s is writable by group or others (mode %04o): any of them could %s", what, perm, swapsLogin), Fix: "run `chmod 700 " + shellQuote(real) + "`, and check what it holds: others could have changed it"}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+~,@%:", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
