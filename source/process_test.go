package source

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// secretMark in a fuzzed or test process output is replaced by a secret
// key that must never reach an error message.
const secretMark = "@SECRET@"

// processSecret looks like a secret access key: base64-ish, with / and +.
const processSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"

// processOutput is a profile whose credential_process prints what
// write(out) last wrote.
type processOutput struct {
	profile *AWSProfile
	file    string
}

func newProcessOutput(t testing.TB) *processOutput {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the helper is a POSIX shell command")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[profile proc]\ncredential_process = cat "+out+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &processOutput{
		profile: &AWSProfile{Name: "proc", ConfigFiles: []string{cfg}, CredentialFiles: []string{filepath.Join(dir, "none")}},
		file:    out,
	}
}

func (p *processOutput) write(t testing.TB, out string) {
	t.Helper()
	if err := os.WriteFile(p.file, []byte(strings.ReplaceAll(out, secretMark, processSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// leaks reports whether msg carries the secret, or any 12 characters of
// it.
func leaks(msg string) bool {
	for i := 0; i+12 <= len(processSecret); i++ {
		if strings.Contains(msg, processSecret[i:i+12]) {
			return true
		}
	}
	return false
}

// TestProcessOutputIsNeverRepeated: the AWS SDK quotes a
// credential_process's whole output when it does not parse, and that
// output is the secret key more often than not. credd's error says what is
// wrong with the output, never what it was.
func TestProcessOutputIsNeverRepeated(t *testing.T) {
	p := newProcessOutput(t)
	doc := `{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"@SECRET@","SessionToken":"tok","Expiration":"2099-01-01T00:00:00Z"}`
	for _, tc := range []struct {
		name, out, want string
	}{
		{"a warning after the JSON", doc + "\nwarning: cache is stale\n", "invalid at byte"},
		{"a warning before the JSON", "Using cached credentials\n" + doc, "invalid at byte"},
		{"cut short", doc[:70], "invalid at byte"},
		{"a field of the wrong kind", `{"Version":"1","SecretAccessKey":"@SECRET@"}`, "Version must be a JSON number"},
		{"an array", `["@SECRET@"]`, "the output must be a JSON object"},
		{"a bad expiration", `{"Version":1,"AccessKeyId":"A","SecretAccessKey":"@SECRET@","Expiration":"tomorrow @SECRET@"}`, "Expiration is not an RFC 3339 time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.write(t, tc.out)
			_, err := p.profile.Retrieve(t.Context())
			if err == nil {
				t.Fatal("Retrieve succeeded")
			}
			if leaks(err.Error()) {
				t.Errorf("the error repeats the secret key: %v", err)
			}
			if !errors.Is(err, ErrProcessOutput) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"proc"`) {
				t.Errorf("error %q: want ErrProcessOutput, the profile and %q", err, tc.want)
			}
		})
	}
	// For contrast: a good document is read, and other failures keep
	// the SDK's words.
	p.write(t, doc)
	if c, err := p.profile.Retrieve(t.Context()); err != nil || c.SecretAccessKey != processSecret {
		t.Fatalf("a good document: %v, %v", c, err)
	}
	p.write(t, `{"Version":2,"AccessKeyId":"A","SecretAccessKey":"@SECRET@"}`)
	if _, err := p.profile.Retrieve(t.Context()); err == nil || errors.Is(err, ErrProcessOutput) || !strings.Contains(err.Error(), "wrong version") {
		t.Errorf("version 2: %v, want the SDK's wrong version error", err)
	}
}

// FuzzCredentialProcess runs a real credential_process (`cat` of the
// fuzzed output) through the AWS SDK's provider, as credd runs every
// aws_profile source, and checks: no panic; no error carries the secret
// key (placed with @SECRET@), whatever surrounds it; credentials come back
// only with an access key and a secret key.
//
// Seeds: testdata/fuzz/FuzzCredentialProcess.
func FuzzCredentialProcess(f *testing.F) {
	p := newProcessOutput(f)
	f.Fuzz(func(t *testing.T, out string) {
		p.write(t, out)
		c, err := p.profile.Retrieve(t.Context())
		if err != nil {
			if leaks(err.Error()) {
				t.Fatalf("the error repeats the secret key: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			t.Fatalf("credentials without a key: %q / %d bytes of secret", c.AccessKeyID, len(c.SecretAccessKey))
		}
	})
}
