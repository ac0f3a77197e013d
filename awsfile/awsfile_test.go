package awsfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// parseCases are inputs in testdata/parse/NAME.config or NAME.credentials,
// with what Parse makes of them in NAME.golden. botocore says how botocore
// reads the same file (the peer test checks it): "same" (sections, values
// and profile names), "sections" (sections and values; the profile names
// differ where credd follows the Go SDK), or "refuses" (botocore refuses
// the file; credd reads it as the Go SDK does).
var parseCases = []struct {
	name     string
	kind     Kind
	botocore string
}{
	{"basic", Config, "same"},
	{"profile-default-wins", Config, "sections"},
	{"default-then-profile-default", Config, "same"},
	{"bare-default-only", Config, "same"},
	{"repeated-section", Config, "refuses"},
	{"syntax", Config, "sections"},
	{"nested", Config, "same"},
	{"refused-lines", Config, "refuses"},
	{"plain", Credentials, "sections"},
	{"crlf", Config, "same"},
	{"empty", Config, "same"},
}

func inputPath(name string, kind Kind) string {
	return filepath.Join("testdata", "parse", name+"."+kind.String())
}

// dump renders what a File holds: its sections in order, its profiles and
// sessions with their values, and the lines it refuses.
func dump(f *File) string {
	var b strings.Builder
	b.WriteString("sections:\n")
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "  line %d [%s]: type %q name %q\n", s.Line+1, s.Header, s.Type, s.Name)
	}
	section := func(kind, name string, s *Section) {
		fmt.Fprintf(&b, "%s %s ([%s], line %d)\n", kind, name, s.Header, s.Line+1)
		for _, k := range s.Keys() {
			fmt.Fprintf(&b, "  %s = %q\n", k, s.Value(k))
		}
	}
	for _, n := range f.Profiles() {
		section("profile", n, f.Profile(n))
	}
	for _, n := range f.SSOSessions() {
		section("sso-session", n, f.SSOSession(n))
	}
	for i, l := range f.Lines {
		if l.Kind == Other {
			fmt.Fprintf(&b, "refused line %d: %q\n", i+1, l.Text)
		}
	}
	return b.String()
}

func TestParseGolden(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(inputPath(tc.name, tc.kind))
			if err != nil {
				t.Fatal(err)
			}
			got := dump(Parse(in, tc.kind))
			golden := filepath.Join("testdata", "parse", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Parse(%s):\n%s\nwant:\n%s", tc.name, got, want)
			}
		})
	}
}

// TestLinesRoundTrip: the lines are the file, byte for byte, so an editor
// (credfile) can write back what it does not change.
func TestLinesRoundTrip(t *testing.T) {
	for _, tc := range parseCases {
		in, err := os.ReadFile(inputPath(tc.name, tc.kind))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, l := range Parse(in, tc.kind).Lines {
			b.WriteString(l.Text + l.EOL)
		}
		if b.String() != string(in) {
			t.Errorf("%s: lines give %q, want %q", tc.name, b.String(), in)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, "[default]\nregion = us-east-1\n[profile dev]\nrole_arn = x\nregion = eu-west-1\n[sso-session corp]\nsso_region = us-east-1\n[services s]\n[profile  spaced ]\n")
	write(creds, "[legacy]\naws_access_key_id = AKIALEGACY\n[dev]\naws_access_key_id = AKIADEV\nregion = us-west-2\n")
	files, err := Read(Paths{Config: cfg, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := files.Profiles(), []string{"default", "dev", "legacy", "spaced"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Profiles() = %q, want %q", got, want)
	}
	dev, ok := files.Profile("dev")
	if !ok || dev.Config == nil || dev.Credentials == nil {
		t.Fatalf("Profile(dev) = %+v, %v", dev, ok)
	}
	for key, want := range map[string]string{"role_arn": "x", "aws_access_key_id": "AKIADEV", "region": "us-west-2"} {
		if got, _ := dev.Get(key); got != want {
			t.Errorf("dev %s = %q, want %q (the credentials file first)", key, got, want)
		}
	}
	if _, ok := files.Profile("nope"); ok {
		t.Error("Profile(nope) found")
	}
	if files.Config.SSOSession("corp").Value("sso_region") != "us-east-1" {
		t.Errorf("sso-session corp: %+v", files.Config.SSOSession("corp"))
	}

	none, err := Read(Paths{Config: filepath.Join(dir, "missing"), Credentials: ""})
	if err != nil || len(none.Profiles()) != 0 {
		t.Errorf("missing files: %v, %v", none.Profiles(), err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), Config); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	if _, err := Read(Paths{Config: dir}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory as the config file: %v", err)
	}
}

// FuzzParse: any input parses, the lines give the input back, and every
// profile and session found is one of the sections; the content checks of
// ReadFile refuse exactly the input with a NUL byte, too many lines or a
// value continued too long, naming the file and the line. Seeds: the
// golden inputs, and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		in, err := os.ReadFile(inputPath(tc.name, tc.kind))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in, tc.kind == Credentials)
	}
	f.Fuzz(func(t *testing.T, data []byte, credentials bool) {
		kind := Config
		if credentials {
			kind = Credentials
		}
		p := Parse(data, kind)
		var b strings.Builder
		for _, l := range p.Lines {
			b.WriteString(l.Text + l.EOL)
			if l.Kind == Option && (l.ValueStart > l.ValueEnd || l.ValueEnd > len(l.Text) || l.Delim >= l.ValueStart) {
				t.Fatalf("option %q: delim %d value %d:%d", l.Text, l.Delim, l.ValueStart, l.ValueEnd)
			}
		}
		if b.String() != string(data) {
			t.Fatalf("lines give %q, want %q", b.String(), data)
		}
		longest, run, owner := 0, 0, -1
		for _, l := range p.Lines {
			if l.Kind == Continuation {
				if l.Owner != owner {
					run, owner = 0, l.Owner
				}
				run++
				longest = max(longest, run)
			}
		}
		err := checkContent("/some/config", data)
		refuse := bytes.IndexByte(data, 0) >= 0 || bytes.Count(data, []byte{'\n'}) >= MaxLines || longest > MaxContinuations
		var re *RefusedError
		switch {
		case refuse && !errors.As(err, &re):
			t.Fatalf("checkContent = %v, want a refusal (longest continuation %d)", err, longest)
		case refuse && (re.Path != "/some/config" || !strings.HasPrefix(err.Error(), "/some/config: ")):
			t.Fatalf("the refusal does not name the file: %v", err)
		case !refuse && err != nil:
			t.Fatalf("checkContent refuses a sane file: %v", err)
		}
		for _, n := range p.Profiles() {
			if s := p.Profile(n); s == nil || s.Name != n || p.Lines[s.Line].Kind != Header {
				t.Fatalf("profile %q: %+v", n, s)
			}
		}
		for i, s := range p.Sections {
			next := len(p.Lines)
			if i+1 < len(p.Sections) {
				next = p.Sections[i+1].Line
			}
			if s.End != next {
				t.Fatalf("section %q ends at %d, want %d", s.Header, s.End, next)
			}
		}
	})
}

// BenchmarkRead5000 reads files with 5,000 profiles and looks each up: one
// parse of each file, whatever the number of profiles.
func BenchmarkRead5000(b *testing.B) {
	dir := b.TempDir()
	var cfg, creds strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&cfg, "[profile p%d]\nregion = eu-west-1\nrole_arn = arn:aws:iam::111122223333:role/r%d\nsource_profile = base\n\n", i, i)
		fmt.Fprintf(&creds, "[k%d]\naws_access_key_id = AKIA%016d\naws_secret_access_key = secret%d\n", i, i, i)
	}
	paths := Paths{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	os.WriteFile(paths.Config, []byte(cfg.String()), 0o600)
	os.WriteFile(paths.Credentials, []byte(creds.String()), 0o600)
	b.ReportAllocs()
	for b.Loop() {
		files, err := Read(paths)
		if err != nil {
			b.Fatal(err)
		}
		names := files.Profiles()
		if len(names) != 10000 {
			b.Fatalf("%d profiles", len(names))
		}
		for _, n := range names {
			if _, ok := files.Profile(n); !ok {
				b.Fatal(n)
			}
		}
	}
}
