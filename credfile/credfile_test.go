package credfile

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/cred"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	// session: temporary credentials with an account ID.
	session = cred.Credentials{
		AccessKeyID:     "ASIANEWDEVEXAMPLE001",
		SecretAccessKey: "newDevSecret/K7MDENG+bPxRfiCYEXAMPLEKEY",
		SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLE+new/token==",
		Expires:         time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		AccountID:       "123456789012",
	}
	// tokenOnly: temporary credentials without an account ID.
	tokenOnly = cred.Credentials{
		AccessKeyID:     "ASIANEWDEVEXAMPLE001",
		SecretAccessKey: "newDevSecret/K7MDENG+bPxRfiCYEXAMPLEKEY",
		SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLE+new/token==",
	}
	// longTerm: an access key pair alone.
	longTerm = cred.Credentials{
		AccessKeyID:     "AKIANEWDEVEXAMPLE001",
		SecretAccessKey: "newDevSecret/K7MDENG+bPxRfiCYEXAMPLEKEY",
	}
)

// updateCases are inputs in testdata/update/NAME.in (none: an empty file)
// and the expected files in NAME.golden.
var updateCases = []struct {
	name    string
	profile string
	c       cred.Credentials
}{
	{"new-file", "dev", session},
	{"blank-lines-only", "dev", tokenOnly},
	{"append", "dev", session},
	{"append-no-trailing-newline", "dev", tokenOnly},
	{"update-middle", "dev", tokenOnly},
	{"remove-stale-token", "dev", longTerm},
	{"add-token", "dev", session},
	{"section-at-eof-no-newline", "dev", session},
	{"crlf-update", "dev", session},
	{"crlf-append", "dev", tokenOnly},
	{"comments-in-section", "dev", tokenOnly},
	{"key-styles", "dev", tokenOnly},
	{"continuation", "dev", tokenOnly},
	{"duplicate-keys", "dev", tokenOnly},
	{"header-only", "dev", session},
	{"similar-names", "dev", tokenOnly},
}

func readInput(t *testing.T, name string) []byte {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", "update", name+".in"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestUpdate(t *testing.T) {
	for _, tc := range updateCases {
		t.Run(tc.name, func(t *testing.T) {
			in := readInput(t, tc.name)
			got, err := Update(in, tc.profile, tc.c)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			golden(t, filepath.Join("testdata", "update", tc.name+".golden"), got)

			// Writing the same credentials again changes nothing.
			again, err := Update(got, tc.profile, tc.c)
			if err != nil {
				t.Fatalf("second Update: %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("a second Update changed the file:\n%q\nthen\n%q", got, again)
			}
		})
	}
}

// TestUpdateKeepsOtherBytes checks the goldens themselves: every line of
// the input that is not a credential key of the profile's section is in
// the output, in order.
func TestUpdateKeepsOtherBytes(t *testing.T) {
	for _, tc := range updateCases {
		t.Run(tc.name, func(t *testing.T) {
			in := readInput(t, tc.name)
			got, err := Update(in, tc.profile, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			lines := awsfile.Parse(in, awsfile.Credentials).Lines
			out := awsfile.Parse(got, awsfile.Credentials).Lines
			j := 0
			inProfile := false
			for i, l := range lines {
				if l.Kind == awsfile.Header {
					inProfile = l.Name == tc.profile
				}
				owned := inProfile && (l.Kind == awsfile.Option && isManaged(l.Name) ||
					l.Kind == awsfile.Continuation && isManaged(lines[l.Owner].Name))
				if owned {
					continue
				}
				for j < len(out) && out[j].Text != l.Text {
					j++
				}
				if j == len(out) {
					t.Fatalf("input line %d %q is not in the output (in order)", i+1, l.Text)
				}
				if l.EOL != "" && out[j].EOL != l.EOL {
					t.Errorf("input line %d ended with %q, now %q", i+1, l.EOL, out[j].EOL)
				}
				j++
			}
		})
	}
}

// golden compares got with the file at path, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\ngot:\n%q\nwant:\n%q", path, got, want)
	}
}

func TestUpdateErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		profile string
		c       cred.Credentials
		wantIs  error
		wantIn  []string
	}{
		{"duplicate section", "[dev]\nregion = a\n\n[prod]\n[dev]\noutput = json\n", "dev", session, ErrDuplicateSection,
			[]string{"[dev] is on lines 1, 5", "merge them"}},
		{"duplicate section, CRLF", "[dev]\r\n[dev]\r\n", "dev", session, ErrDuplicateSection, nil},
		{"empty profile", "", "", session, nil, []string{"profile name is empty"}},
		{"DEFAULT", "", "DEFAULT", session, nil, []string{"reserved", `use "default"`}},
		{"bracket", "", "a]b", session, nil, []string{`"a]b"`}},
		{"open bracket", "", "a[b", session, nil, []string{`"a[b"`}},
		{"newline", "", "a\nb", session, nil, []string{`"a\nb"`}},
		{"space", "", "my profile", session, nil, []string{"whitespace"}},
		{"comment char", "", "a#b", session, nil, []string{`'#'`}},
		{"semicolon", "", "a;b", session, nil, []string{`';'`}},
		{"no secret", "", "dev", cred.Credentials{AccessKeyID: "AKID"}, nil, []string{"no access key ID or secret"}},
		{"space in token", "", "dev", cred.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", SessionToken: "a b"}, nil,
			[]string{"aws_session_token", "printable ASCII"}},
		{"newline in secret", "", "dev", cred.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s\n[x]"}, nil,
			[]string{"aws_secret_access_key"}},
		{"quoted key", "", "dev", cred.Credentials{AccessKeyID: `"AKID"`, SecretAccessKey: "s"}, nil, []string{"quote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Update([]byte(tc.in), tc.profile, tc.c)
			if err == nil {
				t.Fatalf("Update succeeded:\n%s", got)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			for _, want := range tc.wantIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestValidateProfile(t *testing.T) {
	for _, name := range []string{"default", "dev", "my-profile_1.2", "profile-prod", "Default", "ünïcode", "a=b", "a:b"} {
		if err := ValidateProfile(name); err != nil {
			t.Errorf("ValidateProfile(%q) = %v", name, err)
		}
	}
}

func TestSection(t *testing.T) {
	got, err := Section("dev", session)
	if err != nil {
		t.Fatal(err)
	}
	want := "[dev]\naws_access_key_id = ASIANEWDEVEXAMPLE001\naws_secret_access_key = newDevSecret/K7MDENG+bPxRfiCYEXAMPLEKEY\n" +
		"aws_session_token = IQoJb3JpZ2luX2VjEXAMPLE+new/token==\naws_account_id = 123456789012\n"
	if string(got) != want {
		t.Errorf("Section =\n%s\nwant\n%s", got, want)
	}
}

// dirEntries lists dir's names, to prove no temporary file is left.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteProfileCreates(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "home", ".aws", "credentials")
	if err := WriteProfile(path, "dev", session); err != nil {
		t.Fatalf("WriteProfile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Section("dev", session)
	if !bytes.Equal(got, want) {
		t.Errorf("new file =\n%s\nwant\n%s", got, want)
	}
	if names := dirEntries(t, filepath.Dir(path)); !slices.Equal(names, []string{"credentials"}) {
		t.Errorf("directory holds %v, want only credentials", names)
	}
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700, filepath.Join(root, "home"): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", p, got, want)
		}
	}
}

func TestWriteProfileUpdates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials")
	in := readInput(t, "update-middle")
	if err := os.WriteFile(path, in, 0o640); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o640); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	if err := WriteProfile(path, "dev", tokenOnly); err != nil {
		t.Fatalf("WriteProfile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Update(in, "dev", tokenOnly)
	if !bytes.Equal(got, want) {
		t.Errorf("file =\n%s\nwant\n%s", got, want)
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"credentials"}) {
		t.Errorf("directory holds %v, want only credentials", names)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("mode = %v, want the old 0640 kept", fi.Mode().Perm())
		}
	}
}

func TestWriteProfileSymlink(t *testing.T) {
	dir := t.TempDir()
	dotfiles := filepath.Join(dir, "dotfiles")
	aws := filepath.Join(dir, ".aws")
	for _, d := range []string{dotfiles, aws} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dotfiles, "aws-credentials")
	link := filepath.Join(aws, "credentials")
	if err := os.WriteFile(target, readInput(t, "append"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "dotfiles", "aws-credentials"), link); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
	// Windows without the right to make links fails above; wine makes
	// links that Lstat cannot find, or calls regular files.
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Skipf("this system's symlinks are not symlinks to Lstat (%v): nothing to test", lstatSays(fi, err))
	}
	if err := WriteProfile(link, "dev", session); err != nil {
		t.Fatalf("WriteProfile: %v", err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a %v", fi.Mode())
	}
	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Update(readInput(t, "append"), "dev", session)
	if !bytes.Equal(got, want) {
		t.Errorf("target =\n%s\nwant\n%s", got, want)
	}
	if names := dirEntries(t, dotfiles); !slices.Equal(names, []string{"aws-credentials"}) {
		t.Errorf("target directory holds %v", names)
	}
	if names := dirEntries(t, aws); !slices.Equal(names, []string{"credentials"}) {
		t.Errorf("link directory holds %v", names)
	}

	dangling := filepath.Join(aws, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteProfile(dangling, "dev", session); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("WriteProfile through a dangling symlink = %v, want an error naming the symlink", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file appeared where the dangling link points: %v", err)
	}
}

func TestWriteProfileErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("a directory", func(t *testing.T) {
		if err := WriteProfile(dir, "dev", session); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("WriteProfile(dir) = %v", err)
		}
	})
	t.Run("duplicate section leaves the file alone", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "credentials")
		in := []byte("[dev]\naws_access_key_id = A\n[dev]\nregion = x\n")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		err := WriteProfile(path, "dev", session)
		if !errors.Is(err, ErrDuplicateSection) || !strings.Contains(err.Error(), path) {
			t.Errorf("WriteProfile = %v, want ErrDuplicateSection naming the file", err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, in) {
			t.Errorf("file changed to %q", got)
		}
		if names := dirEntries(t, filepath.Dir(path)); !slices.Equal(names, []string{"credentials"}) {
			t.Errorf("directory holds %v", names)
		}
	})
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		t.Run("read-only directory leaves no temp file", func(t *testing.T) {
			d := t.TempDir()
			path := filepath.Join(d, "credentials")
			if err := os.WriteFile(path, []byte("[a]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(d, 0o700) })
			if err := WriteProfile(path, "dev", session); err == nil {
				t.Error("WriteProfile into a read-only directory succeeded")
			}
			if names := dirEntries(t, d); !slices.Equal(names, []string{"credentials"}) {
				t.Errorf("directory holds %v", names)
			}
		})
	}
	t.Run("the directory sync fails after the rename: the file holds the new keys and the error says so", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "credentials")
		if err := os.WriteFile(path, []byte("[dev]\naws_access_key_id = OLD\naws_secret_access_key = old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		w := Writer{File: atomicfile.Writer{SyncDir: func(string) error { return errors.New("input/output error") }}}
		err := w.WriteProfile(path, "dev", session)
		var nd *atomicfile.NotDurableError
		if !errors.As(err, &nd) || nd.Path != path {
			t.Fatalf("WriteProfile = %v, want a NotDurableError for %s", err, path)
		}
		if got, _ := os.ReadFile(path); !bytes.Contains(got, []byte("aws_access_key_id = "+session.AccessKeyID+"\n")) {
			t.Errorf("file holds %q, want the new keys", got)
		}
	})
}

// lstatSays is what Lstat made of a path: its error or its mode.
func lstatSays(fi fs.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return "a " + fi.Mode().String()
}
