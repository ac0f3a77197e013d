package awsfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits on what credd reads. Real files are far smaller (5,000 profiles
// of four lines take 640 KB); the limits are there because the AWS SDK
// reads the same file after credd, and its parser pays dearly for some
// shapes: 4 MiB of one key repeated cost it 400 MB of allocations, and
// 100,000 continuation lines of one value 18 GB (it copies the value once
// per line). At these limits it allocates at most about 100 MB for a
// file (TestLimitsKeepTheSDKAffordable).
const (
	// MaxSize is the largest file credd reads, in bytes.
	MaxSize = 4 << 20
	// MaxLines is the most lines a file may have: 20,000 profiles of
	// five lines.
	MaxLines = 100_000
	// MaxContinuations is the most continuation lines one value may have
	// (a nested block such as s3's has a handful).
	MaxContinuations = 16
)

// ErrRefused marks a shared AWS file that credd will not read: another
// user could change it, or it is not a text file of sane size and shape.
// Errors wrap it as a *RefusedError.
var ErrRefused = errors.New("refused AWS file")

// RefusedError says why credd does not read a shared AWS file and what
// fixes it. errors.Is(err, ErrRefused) holds for it.
type RefusedError struct {
	// Path is the file as it was named (~/.aws/config, AWS_CONFIG_FILE).
	Path string
	// Reason says what is wrong, naming the file, link or directory at
	// fault when it is not Path itself.
	Reason string
	// Fix says what to do about it.
	Fix string
	// Effect says what credd does without it until then; "" for a shared
	// AWS file: it reads no profile from it.
	Effect string
}

func (e *RefusedError) Error() string {
	effect := e.Effect
	if effect == "" {
		effect = "credd reads no profile from it until then"
	}
	return fmt.Sprintf("%s: %s: %s; %s", e.Path, e.Reason, e.Fix, effect)
}

// Is reports whether target is ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Check tells whether credd would read the file at path: the checks of
// ReadFile without parsing. It is for code that lets the AWS SDK read the
// file itself: Check first, and the SDK reads what was checked (another
// user cannot change the file, nor a directory on the way to it, once
// Check passed). A missing file is an error that wraps fs.ErrNotExist.
func Check(path string) error {
	_, err := read(path)
	return err
}

// CheckDir tells whether credd may keep sessions in the directory at path
// and take those it finds there (the AWS CLI's login cache,
// ~/.aws/login/cache or AWS_LOGIN_CACHE_DIRECTORY): the checks of read
// for every directory and link on the way to it, and the directory itself
// this user's or root's and writable by no group or others, sticky or not
// (each file in it is a session of the user's). A missing directory is an
// error that wraps fs.ErrNotExist, unless others could create it; then,
// and for what it refuses, a *RefusedError whose Effect is effect. On
// Windows only that it is a directory is checked (see openChecked).
func CheckDir(path, effect string) error {
	err := checkDir(path)
	var re *RefusedError
	if errors.As(err, &re) {
		re.Effect = effect
	}
	return err
}

// read is where credd reads a shared AWS file: every reader goes through
// it. It opens the file only if no other user can change it (see
// openChecked; not on Windows), and refuses one that is not a regular
// file, larger than MaxSize, or whose content fails checkContent. Its
// errors name the path.
func read(path string) ([]byte, error) {
	f, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
			return nil, nil // AWS_SHARED_CREDENTIALS_FILE=/dev/null: no file
		}
		return nil, &RefusedError{Path: path, Reason: "is not a regular file (" + fileType(fi.Mode()) + ")", Fix: "make it a file, or point AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE at one"}
	}
	if fi.Size() > MaxSize {
		return nil, tooLarge(path, fi.Size())
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead)) // one allocation
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxSize+1)); err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	data := buf.Bytes()
	if len(data) > MaxSize { // it grew while read
		return nil, tooLarge(path, int64(len(data)))
	}
	if err := checkContent(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	return &RefusedError{Path: path, Reason: fmt.Sprintf("is %d bytes, more than the %d (%d MiB) credd reads", size, MaxSize, MaxSize>>20), Fix: "shorten it"}
}

func fileType(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// checkContent refuses what no text editor or AWS tool writes and what
// the AWS SDK's parser cannot afford: a NUL byte (a file damaged by a
// crash, or not a text file), more than MaxLines lines, a value continued
// over more than MaxContinuations lines.
func checkContent(path string, data []byte) error {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return &RefusedError{Path: path, Reason: fmt.Sprintf("has a NUL byte on line %d: it is not a text file (damaged?)", bytes.Count(data[:i], []byte{'\n'})+1), Fix: "repair it or restore it from a copy"}
	}
	if n := bytes.Count(data, []byte{'\n'}); n >= MaxLines {
		return &RefusedError{Path: path, Reason: fmt.Sprintf("has more than %d lines", MaxLines), Fix: "shorten it"}
	}
	if indented(data) <= MaxContinuations {
		return nil // no value can be continued that far: spare classifying every line
	}
	lines := classify(splitLines(data))
	run, owner := 0, -1
	for i, l := range lines {
		if l.Kind != Continuation {
			continue
		}
		if l.Owner != owner {
			run, owner = 0, l.Owner
		}
		if run++; run > MaxContinuations {
			return &RefusedError{Path: path, Reason: fmt.Sprintf("line %d: the value of %s (line %d) goes on for more than %d lines", i+1, lines[l.Owner].Name, l.Owner+1, MaxContinuations), Fix: "shorten the value"}
		}
	}
	return nil
}

// indented counts the lines that may start with a space (as IsSpace has
// it, so any byte of a multi-byte character too): the most continuation
// lines a file can have.
func indented(data []byte) int {
	n := 0
	for start := 0; start < len(data); {
		if c := data[start]; c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c >= 0x1c && c <= 0x1f || c >= 0x80 {
			n++
		}
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			break
		}
		start += i + 1
	}
	return n
}
