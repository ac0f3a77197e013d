//go:build unix

package awsfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the other user the tests give files to (needs root).
const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
}

// TestWhoCanChangeTheFile: a file, a link on the way to it or a directory
// it is looked up in that another user owns or may write is refused,
// naming it and what fixes it; what only this user (or root) can change
// is read.
func TestWhoCanChangeTheFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		root bool
		// setup makes the file and returns the path to read.
		setup func(t *testing.T, dir string) string
		want  string // in the error; "" for none
	}{
		{"0600", false, func(t *testing.T, dir string) string { return file(t, dir, "config", 0o600) }, ""},
		{"0644", false, func(t *testing.T, dir string) string { return file(t, dir, "config", 0o644) }, ""},
		{"world-writable", false, func(t *testing.T, dir string) string { return file(t, dir, "config", 0o666) },
			"it is writable by group or others (mode 0666): any of them could add a credential_process that credd would run as you: run `chmod go-w "},
		{"group-writable", false, func(t *testing.T, dir string) string { return file(t, dir, "config", 0o620) }, "(mode 0620)"},
		{"another user's", true, func(t *testing.T, dir string) string {
			p := file(t, dir, "config", 0o644)
			chown(t, p, nobody)
			return p
		}, "it belongs to user 65534 (nobody), not to you: that user could change what credd runs as you: replace it with a copy of your own"},
		{"root's", true, func(t *testing.T, dir string) string {
			p := file(t, dir, "config", 0o644)
			chown(t, p, 0)
			return p
		}, ""},
		{"a link to a world-writable file", false, func(t *testing.T, dir string) string {
			target := file(t, dir, "real", 0o666)
			return link(t, target, filepath.Join(dir, "config"))
		}, "real, the file it leads to, is writable by group or others (mode 0666)"},
		{"a link to another user's file", true, func(t *testing.T, dir string) string {
			target := file(t, dir, "real", 0o600)
			chown(t, target, nobody)
			return link(t, target, filepath.Join(dir, "config"))
		}, "real, the file it leads to, belongs to user 65534 (nobody)"},
		{"a link of another user", true, func(t *testing.T, dir string) string {
			p := link(t, file(t, dir, "real", 0o600), filepath.Join(dir, "config"))
			if err := os.Lchown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return p
		}, "config on the way to it belongs to user 65534 (nobody)"},
		{"a relative link to a private file", false, func(t *testing.T, dir string) string {
			file(t, dir, "real", 0o600)
			return link(t, "real", filepath.Join(dir, "config"))
		}, ""},
		{"a directory others may write", false, func(t *testing.T, dir string) string {
			sub := mkdir(t, dir, "aws", 0o777)
			return file(t, sub, "config", 0o600)
		}, "aws on the way to it is writable by group or others (mode 0777): any of them could put another file in its place: run `chmod go-w "},
		{"a directory of another user", true, func(t *testing.T, dir string) string {
			sub := mkdir(t, dir, "aws", 0o755)
			p := file(t, sub, "config", 0o600)
			chown(t, sub, nobody)
			return p
		}, "aws on the way to it belongs to user 65534 (nobody)"},
		{"a directory on the way through a link", false, func(t *testing.T, dir string) string {
			open := mkdir(t, dir, "open", 0o777)
			file(t, open, "config", 0o600)
			return filepath.Join(link(t, open, filepath.Join(dir, "aws")), "config")
		}, "open on the way to it is writable by group or others (mode 0777)"},
		{"a sticky directory, the file mine", false, func(t *testing.T, dir string) string {
			return file(t, mkdir(t, dir, "tmp", fs.ModeSticky|0o777), "config", 0o600)
		}, ""},
		{"a sticky directory, the file another's", true, func(t *testing.T, dir string) string {
			p := file(t, mkdir(t, dir, "tmp", fs.ModeSticky|0o777), "config", 0o600)
			chown(t, p, nobody)
			return p
		}, "belongs to user 65534 (nobody)"},
		{"missing from a sticky directory", false, func(t *testing.T, dir string) string {
			return filepath.Join(mkdir(t, dir, "tmp", fs.ModeSticky|0o777), "config")
		}, "config is missing from the directory "},
		{"a link loop", false, func(t *testing.T, dir string) string {
			link(t, filepath.Join(dir, "b"), filepath.Join(dir, "a"))
			return link(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
		}, "more than 40 symbolic links on the way to it"},
		{"a named pipe", false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "config")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return p // opened without blocking: no writer ever comes
		}, "is not a regular file (a named pipe)"},
		{"/dev/null, as AWS_SHARED_CREDENTIALS_FILE=/dev/null says no file", false, func(t *testing.T, dir string) string {
			return "/dev/null"
		}, ""},
		{"a device", false, func(t *testing.T, dir string) string {
			return link(t, "/dev/zero", filepath.Join(dir, "config"))
		}, "/dev/zero, the file it leads to, is writable by group or others"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				needRoot(t)
			}
			dir := t.TempDir()
			path := tc.setup(t, dir)
			f, err := ReadFile(path, Config)
			cerr := Check(path)
			if tc.want == "" {
				if err != nil || cerr != nil {
					t.Fatalf("ReadFile: %v; Check: %v", err, cerr)
				}
				if want := path != os.DevNull; (f.Profile("p") != nil) != want {
					t.Errorf("profile p read: %v, want %v", !want, want)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Path != path || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadFile(%s) = %v\nwant a refusal saying %q", path, err, tc.want)
			}
			if !errors.Is(cerr, ErrRefused) {
				t.Errorf("Check = %v, want the refusal", cerr)
			}
			if _, err := Read(Paths{Credentials: path}); !errors.Is(err, ErrRefused) {
				t.Errorf("Read = %v, want the refusal", err)
			}
		})
	}
}

func file(t *testing.T, dir, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("[profile p]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func mkdir(t *testing.T, dir, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func link(t *testing.T, target, name string) string {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
	return name
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// TestCheckDir: the login cache directory is refused, naming it, what
// fixes it and what credd does meanwhile, when another user owns it or a
// directory or link on the way to it, or when group or others may write
// it (sticky or not) or one on the way (unless sticky); a private
// directory, root's, or a link of the user's to one is taken.
func TestCheckDir(t *testing.T) {
	const effect = "credd shares no session through it until then"
	for _, tc := range []struct {
		name  string
		root  bool
		setup func(t *testing.T, dir string) string
		want  string // in the error; "" for none
	}{
		{"0700", false, func(t *testing.T, dir string) string { return mkdir(t, dir, "cache", 0o700) }, ""},
		{"0755", false, func(t *testing.T, dir string) string { return mkdir(t, dir, "cache", 0o755) }, ""},
		{"world-writable", false, func(t *testing.T, dir string) string { return mkdir(t, dir, "cache", 0o777) },
			"it is writable by group or others (mode 0777): any of them could put a session of theirs in place of yours: run `chmod 700 "},
		{"group-writable", false, func(t *testing.T, dir string) string { return mkdir(t, dir, "cache", 0o770) }, "(mode 0770)"},
		{"sticky and world-writable", false, func(t *testing.T, dir string) string { return mkdir(t, dir, "cache", fs.ModeSticky|0o777) }, "(mode 0777)"},
		{"another user's", true, func(t *testing.T, dir string) string {
			p := mkdir(t, dir, "cache", 0o700)
			chown(t, p, nobody)
			return p
		}, "it belongs to user 65534 (nobody), not to you: that user could put a session of theirs in place of yours"},
		{"root's", true, func(t *testing.T, dir string) string {
			p := mkdir(t, dir, "cache", 0o755)
			chown(t, p, 0)
			return p
		}, ""},
		{"a link to a private directory", false, func(t *testing.T, dir string) string {
			return link(t, mkdir(t, dir, "real", 0o700), filepath.Join(dir, "cache"))
		}, ""},
		{"a link to a world-writable directory", false, func(t *testing.T, dir string) string {
			return link(t, mkdir(t, dir, "real", 0o777), filepath.Join(dir, "cache"))
		}, "real, the directory it leads to, is writable by group or others (mode 0777)"},
		{"a link of another user", true, func(t *testing.T, dir string) string {
			p := link(t, mkdir(t, dir, "real", 0o700), filepath.Join(dir, "cache"))
			if err := os.Lchown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return p
		}, "cache on the way to it belongs to user 65534 (nobody), not to you: that user could put a session of theirs in place of yours"},
		{"in a directory others may write", false, func(t *testing.T, dir string) string {
			return mkdir(t, mkdir(t, dir, "login", 0o777), "cache", 0o700)
		}, "login on the way to it is writable by group or others (mode 0777)"},
		{"in a directory of another user", true, func(t *testing.T, dir string) string {
			login := mkdir(t, dir, "login", 0o755)
			p := mkdir(t, login, "cache", 0o700)
			chown(t, login, nobody)
			return p
		}, "login on the way to it belongs to user 65534 (nobody)"},
		{"missing where others could make it", false, func(t *testing.T, dir string) string {
			return filepath.Join(mkdir(t, dir, "tmp", fs.ModeSticky|0o777), "cache")
		}, "cache is missing from the directory "},
		{"a file", false, func(t *testing.T, dir string) string { return file(t, dir, "cache", 0o600) }, "it is not a directory (mode -rw-------)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				needRoot(t)
			}
			path := tc.setup(t, t.TempDir())
			err := CheckDir(path, effect)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckDir: %v", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Path != path || !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "; "+effect) {
				t.Fatalf("CheckDir(%s) = %v\nwant a refusal saying %q, then %q", path, err, tc.want, effect)
			}
		})
	}
	// Missing from a private directory: not a refusal, but not there.
	if err := CheckDir(filepath.Join(t.TempDir(), "cache"), effect); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrRefused) {
		t.Errorf("a missing directory: %v, want fs.ErrNotExist", err)
	}
}
