// Package store owns where credd keeps sign-in sessions and refresh tokens
// between restarts: the OS keyring (macOS Keychain, Windows Credential
// Manager, Secret Service over D-Bus), 0600 files under
// <state_dir>/sessions/, or memory. It stores opaque bytes under session
// names such as "sso/corp" or "oidc/okta"; what the bytes mean (the JSON of
// a session) is the daemon's business.
//
// Every write is all-or-nothing: a crash, even kill -9, in the middle of
// Put leaves the previous value readable. A damaged, insecure or unreadable
// entry is reported per key by LoadAll and never stops the others loading.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Store keeps values by key. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value under key, replacing any previous value atomically.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the stored keys, sorted.
	List(ctx context.Context) ([]string, error)
	// Kind names the implementation: "keyring", "file" or "memory".
	Kind() string
}

// Kinds accepted by Open (the session_store setting).
const (
	KindAuto    = "auto"
	KindKeyring = "keyring"
	KindFile    = "file"
	KindMemory  = "memory"
)

// MaxKeyLen is the longest key accepted, in bytes. It keeps the escaped
// file name of any key under the 255-byte limit of common file systems.
const MaxKeyLen = 80

var (
	// ErrNotFound is returned (wrapped) by Get for a key that holds no value.
	ErrNotFound = errors.New("not found")
	// ErrBadKey is returned (wrapped) for a key outside the allowed form.
	ErrBadKey = errors.New("bad key")
	// ErrTooLarge is returned (wrapped) by Put for a value larger than the
	// store holds.
	ErrTooLarge = errors.New("value too large")
	// ErrInsecureFile is returned (wrapped, as an *InsecureFileError) for a
	// session file or directory that group or others may write, or that
	// another user owns.
	ErrInsecureFile = errors.New("file is writable by group or others, or another user's")
)

// InsecureFileError names a session file or directory that group or others
// may write, or that another user owns, and what fixes it.
// errors.Is(err, ErrInsecureFile) holds for it.
type InsecureFileError struct {
	Path string
	Mode uint32 // permission bits found
	// Owner names the user who owns the file ("UID (name)") when it is
	// not the user credd runs as; "" when the mode is the problem.
	Owner string
	// Writers are, on Windows, the accounts (SIDs) other than the user,
	// SYSTEM and Administrators that the file's DACL lets write it.
	Writers []string
	Fix     string // shell command that makes the file private; with Owner, what to do
}

func (e *InsecureFileError) Error() string {
	if len(e.Writers) > 0 {
		return fmt.Sprintf("%s lets %s write it (its ACL): run `%s`", e.Path, strings.Join(e.Writers, ", "), e.Fix)
	}
	if e.Owner != "" {
		return fmt.Sprintf("%s belongs to user %s, not to this one: %s", e.Path, e.Owner, e.Fix)
	}
	return fmt.Sprintf("%s (mode %04o) is writable by group or others: run `%s`", e.Path, e.Mode, e.Fix)
}

// Is reports whether target is ErrInsecureFile.
func (e *InsecureFileError) Is(target error) bool { return target == ErrInsecureFile }

// ValidateKey reports whether key may name a stored value: 1 to MaxKeyLen
// bytes of ASCII letters, digits and _ . @ + - in segments separated by
// single slashes, starting with a letter or digit, with no "." or ".."
// segment (so no key can be read as a path that leaves its directory).
func ValidateKey(key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("%w %q: %s", ErrBadKey, key, err)
	}
	return nil
}

func validateKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	case !isAlnum(key[0]):
		return errors.New("must start with a letter or digit")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !isAlnum(c) && !strings.ContainsRune("_.@+-/", rune(c)) {
			return fmt.Errorf("character %q not allowed (letters, digits and _ . @ + - /)", c)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return errors.New("empty segment (leading, trailing or double slash)")
		case ".", "..":
			return fmt.Errorf("segment %q not allowed", seg)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// escapeKey maps a valid key to a name that is safe as a file name on
// Linux, macOS and Windows and as a keyring account name: lower-case
// letters, digits, '.', '_' and '-' stay; every other byte becomes %XX
// (upper-case hex). Two different keys never map to names that differ only
// in case, so case-insensitive file systems and Windows Credential Manager
// cannot confuse them. A name that Windows reserves for a device (con,
// nul, com1, ...) gets its first letter escaped too.
func escapeKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	s := b.String()
	base, _, _ := strings.Cut(s, ".")
	if windowsReserved(base) {
		s = fmt.Sprintf("%%%02X", s[0]) + s[1:]
	}
	return s
}

func windowsReserved(base string) bool {
	switch base {
	case "con", "prn", "aux", "nul":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "com") || strings.HasPrefix(base, "lpt")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}

// unescapeKey reverses escapeKey. It accepts only names escapeKey produces
// for a valid key, so a stray file can never alias a key.
func unescapeKey(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		hi, ok1 := unhex(name[i+1])
		lo, ok2 := unhex(name[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	key := b.String()
	if validateKey(key) != nil || escapeKey(key) != name {
		return "", false
	}
	return key, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// LoadAll reads every entry of s. An entry that cannot be read (insecure
// permissions, an unreadable file, a keyring error) is reported in problems,
// each naming its key, and skipped; the rest still load. A key listed but
// gone by the time it is read is skipped silently.
func LoadAll(ctx context.Context, s Store) (entries map[string][]byte, problems []error) {
	entries = make(map[string][]byte)
	keys, err := s.List(ctx)
	if err != nil {
		return entries, []error{fmt.Errorf("listing %s store: %w", s.Kind(), err)}
	}
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return entries, append(problems, fmt.Errorf("loading %s store: %w", s.Kind(), err))
		}
		v, err := s.Get(ctx, key)
		switch {
		case err == nil:
			entries[key] = v
		case errors.Is(err, ErrNotFound):
		default:
			problems = append(problems, fmt.Errorf("loading session %q from %s store: %w", key, s.Kind(), err))
		}
	}
	return entries, problems
}
