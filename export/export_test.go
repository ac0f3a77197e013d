package export

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// exportCase is one set of credentials every format is tested with, and
// what the AWS CLI prints for its expiry.
type exportCase struct {
	name    string
	c       cred.Credentials
	profile string
	expiry  string // AWS_CREDENTIAL_EXPIRATION; empty: none
}

var cases = []exportCase{
	{
		name: "session",
		c: cred.Credentials{
			AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLE+session/token==",
			Expires:         time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
			AccountID:       "123456789012",
			Kind:            cred.KindRole,
		},
		profile: "dev",
		expiry:  "2099-01-01T00:00:00+00:00",
	},
	{
		name: "long-term",
		c: cred.Credentials{
			AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
		},
		profile: "default",
	},
	{
		// A session token without an expiry: the CLI prints the token and
		// no AWS_CREDENTIAL_EXPIRATION.
		name: "token-no-expiry",
		c: cred.Credentials{
			AccessKeyID:     "ASIAQNOEXPIRYEXAMPLE",
			SecretAccessKey: "noExpirySecret/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    "FwoGZXIvYXdzEXAMPLE//token",
		},
		profile: "no-expiry",
	},
	{
		// A MinIO-style JWT token (base64url) and an expiry with
		// nanoseconds in another zone: printed in UTC, to the microsecond.
		name: "fractional-expiry",
		c: cred.Credentials{
			AccessKeyID:     "Q3AM3UQ867SPQQA43P2F",
			SecretAccessKey: "zuf+tfteSlswRu7BJ86wekitnifILbZam1KYY3TG",
			SessionToken:    "eyJhbGciOiJIUzUxMiJ9.eyJhY2Nlc3NLZXkiOiJRM0FNMyJ9.a-b_c",
			Expires:         time.Date(2099, 1, 2, 5, 4, 5, 123456789, time.FixedZone("CEST", 2*3600)),
		},
		profile: "minio-ops",
		expiry:  "2099-01-02T03:04:05.123456+00:00",
	},
}

func TestGolden(t *testing.T) {
	for _, tc := range cases {
		for _, format := range Formats() {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, tc.c, tc.profile); err != nil {
					t.Fatalf("Write: %v", err)
				}
				golden(t, filepath.Join("testdata", tc.name+"."+format+".golden"), buf.Bytes())
			})
		}
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
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestExpiration(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"whole seconds", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "2099-01-01T00:00:00+00:00"},
		{"other zone shown in UTC", time.Date(2030, 6, 1, 14, 0, 0, 0, time.FixedZone("", -7*3600)), "2030-06-01T21:00:00+00:00"},
		{"milliseconds padded to six digits", time.UnixMilli(1900000000123).UTC(), "2030-03-17T17:46:40.123000+00:00"},
		{"nanoseconds truncated", time.Date(2099, 1, 1, 0, 0, 0, 999, time.UTC), "2099-01-01T00:00:00+00:00"},
		{"one microsecond", time.Date(2099, 1, 1, 0, 0, 0, 1000, time.UTC), "2099-01-01T00:00:00.000001+00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Expiration(tc.t); got != tc.want {
				t.Errorf("Expiration = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPyJSONString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain+/=", `"plain+/="`},
		{`q"b\`, `"q\"b\\"`},
		{"<>&", `"<>&"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f\u007f"`},
		{"é€", `"\u00e9\u20ac"`},
		{"😀", `"\ud83d\ude00"`},
	} {
		if got := pyJSONString(tc.in); got != tc.want {
			t.Errorf("pyJSONString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	got := Formats()
	want := []string{"process", "env", "env-no-export", "powershell", "windows-cmd", "fish", "ini"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Formats()[0] != "process" {
		t.Error("Formats returned its own slice")
	}
}

func TestWriteErrors(t *testing.T) {
	good := cases[0].c
	withToken := func(tok string) cred.Credentials { c := good; c.SessionToken = tok; return c }
	for _, tc := range []struct {
		name    string
		format  string
		c       cred.Credentials
		profile string
		wantIs  error
		wantIn  []string
	}{
		{"unknown format", "json", good, "", ErrUnknownFormat, []string{`"json"`, "process, env, env-no-export, powershell, windows-cmd, fish, ini"}},
		{"format names are exact", "ENV", good, "", ErrUnknownFormat, nil},
		{"no credentials", "process", cred.Credentials{}, "", nil, []string{"no access key ID"}},
		{"no secret", "env", cred.Credentials{AccessKeyID: "AKID"}, "", nil, []string{"no access key ID or secret"}},
		{"command substitution in env", "env", withToken("abc$(reboot)"), "", nil, []string{"AWS_SESSION_TOKEN", `'$'`, "use process, fish or ini"}},
		{"space in env-no-export", "env-no-export", withToken("a b"), "", nil, []string{"AWS_SESSION_TOKEN"}},
		{"quote in powershell", "powershell", withToken(`a"b`), "", nil, []string{"AWS_SESSION_TOKEN"}},
		{"backtick in powershell", "powershell", withToken("a`b"), "", nil, []string{"AWS_SESSION_TOKEN"}},
		{"ampersand in windows-cmd", "windows-cmd", withToken("a&b"), "", nil, []string{"AWS_SESSION_TOKEN"}},
		{"percent in windows-cmd", "windows-cmd", withToken("%PATH%"), "", nil, []string{"AWS_SESSION_TOKEN"}},
		{"ini needs a profile", "ini", good, "", nil, []string{"no profile name"}},
		{"ini profile with a bracket", "ini", good, "a]b", nil, []string{`"a]b"`}},
		{"ini value with a space", "ini", withToken("a b"), "dev", nil, []string{"aws_session_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.format, tc.c, tc.profile)
			if err == nil {
				t.Fatalf("Write succeeded:\n%s", buf.String())
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			for _, want := range tc.wantIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q before failing", buf.String())
			}
		})
	}
}

// TestQuotingFormatsTakeAnyValue: process and fish quote, so a value the
// line formats refuse is still written (and the peers read it back).
func TestQuotingFormatsTakeAnyValue(t *testing.T) {
	c := cases[0].c
	c.SessionToken = `it's a $(token) \ "x"`
	for _, format := range []string{"process", "fish"} {
		var buf bytes.Buffer
		if err := Write(&buf, format, c, ""); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, "fish", c, ""); err != nil {
		t.Fatal(err)
	}
	if want := `set -gx AWS_SESSION_TOKEN 'it\'s a $(token) \\ "x"'` + "\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("fish output\n%s\ndoes not contain\n%s", buf.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsWriterError(t *testing.T) {
	err := Write(failWriter{}, "process", cases[0].c, "")
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write = %v, want the writer's error", err)
	}
}
