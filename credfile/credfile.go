// Package credfile owns credd's writes to the shared AWS credentials file
// (~/.aws/credentials): one profile section is written or updated, every
// other byte of the file is kept, and the file is replaced atomically.
//
// The file is read line by line as botocore reads it (awsfile's Lines),
// because botocore is the strictest reader: it refuses a file with a
// section or a key twice, treats indented lines as continuations of the
// key above, and matches section names exactly.
//
// In the profile's section credd owns the credential keys:
// aws_access_key_id, aws_secret_access_key, aws_session_token and
// aws_account_id are written (the last two only when the credentials carry
// them, and removed otherwise so nothing stale survives), and
// aws_security_token, botocore's legacy name that it reads before
// aws_session_token, is always removed. Every other key in the section
// (region, output, ...) is kept, as are comments and blank lines. An
// existing key keeps its place and spelling; only its value changes.
package credfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/private"
)

// ErrDuplicateSection reports a file with the profile's section more than
// once. botocore (and so boto3 and the AWS CLI) refuses such a file and the
// Go SDK merges the sections, so credd will not guess which one to update.
var ErrDuplicateSection = errors.New("profile section appears more than once")

// The keys credd writes, in the order a new section lists them.
const (
	keyAccessKeyID     = "aws_access_key_id"
	keySecretAccessKey = "aws_secret_access_key"
	keySessionToken    = "aws_session_token"
	keyAccountID       = "aws_account_id"
	keySecurityToken   = "aws_security_token" // legacy; botocore prefers it to aws_session_token
)

// managed is every key credd writes or removes in the profile's section.
var managed = []string{keyAccessKeyID, keySecretAccessKey, keySessionToken, keyAccountID, keySecurityToken}

// ValidateProfile reports whether name can be a section of the credentials
// file that every SDK reads back as that profile: not empty, not DEFAULT
// (Python's configparser merges a [DEFAULT] section into every other one),
// and no whitespace, control characters, brackets, '#' or ';'.
func ValidateProfile(name string) error {
	if name == "" {
		return errors.New("profile name is empty")
	}
	if name == "DEFAULT" {
		return errors.New(`profile name "DEFAULT" is reserved: Python's configparser (boto3, the AWS CLI) copies a [DEFAULT] section into every profile; use "default"`)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("[]#;", r) {
			return fmt.Errorf("profile name %q has %q: use no whitespace, control characters, brackets, '#' or ';'", name, r)
		}
	}
	return nil
}

// checkValue reports whether v can be written as an INI value that botocore
// and the Go SDK both read back unchanged: printable ASCII without spaces,
// not wrapped in quotes (the Go SDK strips them).
func checkValue(key, v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return fmt.Errorf("%s has %q at byte %d: a credentials file value must be printable ASCII without spaces", key, v[i], i)
		}
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'") {
		return fmt.Errorf("%s starts with a quote, which the Go SDK would strip", key)
	}
	return nil
}

type keyValue struct{ key, value string }

// values is what the section should hold, in order.
func values(c cred.Credentials) ([]keyValue, error) {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, errors.New("credentials have no access key ID or secret access key")
	}
	kvs := []keyValue{{keyAccessKeyID, c.AccessKeyID}, {keySecretAccessKey, c.SecretAccessKey}}
	if c.SessionToken != "" {
		kvs = append(kvs, keyValue{keySessionToken, c.SessionToken})
	}
	if c.AccountID != "" {
		kvs = append(kvs, keyValue{keyAccountID, c.AccountID})
	}
	for _, kv := range kvs {
		if err := checkValue(kv.key, kv.value); err != nil {
			return nil, err
		}
	}
	return kvs, nil
}

// Section is the section a new profile gets: the header and the credential
// keys, one "key = value" line each, every line ending in "\n".
func Section(profile string, c cred.Credentials) ([]byte, error) {
	if err := ValidateProfile(profile); err != nil {
		return nil, err
	}
	kvs, err := values(c)
	if err != nil {
		return nil, err
	}
	return section(profile, kvs, "\n"), nil
}

func section(profile string, kvs []keyValue, eol string) []byte {
	var b bytes.Buffer
	b.WriteString("[" + profile + "]" + eol)
	for _, kv := range kvs {
		b.WriteString(kv.key + " = " + kv.value + eol)
	}
	return b.Bytes()
}

// lineEnding is the file's first line ending, "\n" if it has none.
func lineEnding(lines []awsfile.Line) string {
	for _, l := range lines {
		if l.EOL != "" {
			return l.EOL
		}
	}
	return "\n"
}

// Update returns data with profile's section holding c, as WriteProfile
// writes it. data may be empty (a new file). Lines credd adds use the file's
// line ending (CRLF if its first line ends so); a new section is appended
// after a blank line. Everything outside the credential keys of that one
// section is returned byte for byte.
func Update(data []byte, profile string, c cred.Credentials) ([]byte, error) {
	if err := ValidateProfile(profile); err != nil {
		return nil, err
	}
	kvs, err := values(c)
	if err != nil {
		return nil, err
	}
	lines := awsfile.Parse(data, awsfile.Credentials).Lines
	eol := lineEnding(lines)

	var headers []int
	for i, l := range lines {
		if l.Kind == awsfile.Header && l.Name == profile {
			headers = append(headers, i)
		}
	}
	switch len(headers) {
	case 0:
		return appendSection(data, lines, profile, kvs, eol), nil
	case 1:
	default:
		nums := make([]string, len(headers))
		for i, h := range headers {
			nums[i] = strconv.Itoa(h + 1)
		}
		return nil, fmt.Errorf("[%s] is on lines %s (botocore refuses such a file and the Go SDK merges the sections): merge them into one and try again: %w",
			profile, strings.Join(nums, ", "), ErrDuplicateSection)
	}

	header := headers[0]
	end := len(lines)
	for i := header + 1; i < len(lines); i++ {
		if lines[i].Kind == awsfile.Header {
			end = i
			break
		}
	}

	first := map[string]int{} // managed key -> its first line in the section
	drop := map[int]bool{}
	for i := header + 1; i < end; i++ {
		switch l := lines[i]; l.Kind {
		case awsfile.Option:
			if !isManaged(l.Name) {
				continue
			}
			if _, seen := first[l.Name]; seen {
				drop[i] = true // botocore refuses a key twice: keep one
			} else {
				first[l.Name] = i
			}
		case awsfile.Continuation:
			if isManaged(lines[l.Owner].Name) {
				drop[i] = true // the new value is one line
			}
		}
	}

	rewrite := map[int]string{}
	wanted := map[string]bool{}
	inserts := map[int][]string{} // line index -> new lines that follow it
	anchor := header
	for _, kv := range kvs {
		wanted[kv.key] = true
		if i, ok := first[kv.key]; ok {
			rewrite[i] = setValue(lines[i], kv.value)
			anchor = i
			continue
		}
		inserts[anchor] = append(inserts[anchor], kv.key+" = "+kv.value)
	}
	for key, i := range first {
		if !wanted[key] {
			drop[i] = true
		}
	}

	var out []awsfile.Line
	for i, l := range lines {
		if !drop[i] {
			if t, ok := rewrite[i]; ok {
				l.Text = t
			}
			out = append(out, l)
		}
		for _, t := range inserts[i] {
			out = append(out, awsfile.Line{Text: t, EOL: eol})
		}
	}
	var b bytes.Buffer
	for i, l := range out {
		if l.EOL == "" && i < len(out)-1 {
			l.EOL = eol // a last line without a newline that is no longer last
		}
		b.WriteString(l.Text + l.EOL)
	}
	return b.Bytes(), nil
}

// setValue replaces the value on an option line, keeping the key's
// spelling, the delimiter and the spaces around it. An empty value (one
// continued on the next lines) gets the space the key has before the
// delimiter, so "key =" becomes "key = value".
func setValue(l awsfile.Line, value string) string {
	prefix := l.Text[:l.ValueStart]
	if l.ValueStart == l.ValueEnd && l.Delim > 0 && awsfile.IsSpace(rune(l.Text[l.Delim-1])) && !strings.HasSuffix(prefix, " ") {
		prefix += " "
	}
	return prefix + value + l.Text[l.ValueEnd:]
}

func isManaged(key string) bool {
	for _, k := range managed {
		if k == key {
			return true
		}
	}
	return false
}

func appendSection(data []byte, lines []awsfile.Line, profile string, kvs []keyValue, eol string) []byte {
	out := bytes.Clone(data)
	if n := len(lines); n > 0 {
		last := lines[n-1]
		if last.EOL == "" {
			out = append(out, eol...)
		}
		if strings.TrimSpace(last.Text) != "" {
			out = append(out, eol...)
		}
	}
	return append(out, section(profile, kvs, eol)...)
}

// WriteProfile writes c into profile's section of the credentials file at
// path (see Update), creating the file (0600) and its directory (0700) if
// missing. The file is replaced atomically: a temporary file in the same
// directory is written, synced and renamed over it, and it keeps the old
// file's permission bits. If path is a symlink, the file it points to is
// updated and the link is kept.
//
// An error wrapping *atomicfile.NotDurableError means the file already
// holds c (only the directory sync after the rename failed); any other
// error leaves the file as it was.
func WriteProfile(path, profile string, c cred.Credentials) error {
	return Writer{}.WriteProfile(path, profile, c)
}

// Writer writes credentials files. The zero value is what WriteProfile
// uses.
type Writer struct {
	// File replaces the file (tests inject failures through it).
	File atomicfile.Writer
}

// WriteProfile writes c into profile's section of the file at path, as the
// package's WriteProfile does.
func (w Writer) WriteProfile(path, profile string, c cred.Credentials) error {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o600)
	data, err := os.ReadFile(target)
	switch {
	case err == nil:
		fi, err := os.Stat(target)
		if err != nil {
			return fmt.Errorf("reading credentials file: %w", err)
		}
		mode = fi.Mode().Perm()
	case errors.Is(err, fs.ErrNotExist):
		if err := private.MkdirAll(filepath.Dir(target)); err != nil {
			return fmt.Errorf("creating the credentials file's directory: %w", err)
		}
	default:
		return fmt.Errorf("reading credentials file: %w", err)
	}
	out, err := Update(data, profile, c)
	if err != nil {
		return fmt.Errorf("updating %s: %w", target, err)
	}
	if err := w.File.Write(target, out, mode); err != nil {
		return fmt.Errorf("writing credentials file: %w", err)
	}
	return nil
}

// resolve follows a symlink at path to the file it names, so the link
// survives the rename. A link to nothing is an error: credd will not guess
// where the user meant the file to live.
func resolve(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading credentials file: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return "", fmt.Errorf("credentials file %s is a symlink that cannot be followed (fix or remove it): %w", path, err)
		}
		path = target
		if fi, err = os.Stat(path); err != nil {
			return "", fmt.Errorf("reading credentials file: %w", err)
		}
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("credentials file %s is not a regular file", path)
	}
	return path, nil
}
