package source

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// sharedConfig exercises what the SDK follows and how it reads lines:
// source_profile chains, sso-session and services sections, [default]
// and [profile default], a section written twice, comments, quoting,
// continuation and sub-property lines, "key: value", CRLF, odd spacing,
// and keys in the credentials file.
const sharedConfig = "# leading comment\nregion = nowhere\n" + `
[default]
region = us-east-1
[profile default]
output = json

[profile app]
role_arn = arn:aws:iam::111122223333:role/app   # the role
source_profile = "base"
services = dev-s3
region: eu-west-1
[profile base]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
; comment
[ profile   spaced  ]
credential_process = /bin/echo spaced
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
[services dev-s3]
s3 =
  endpoint_url = http://127.0.0.1:9000
[profile twice]
region = us-west-1
[profile unrelated]
region = ap-south-1
[profile twice]
credential_process = /bin/true
[profile chained-keys]
role_arn = arn:aws:iam::111122223333:role/k
source_profile = keys
[profile loop]
role_arn = arn:aws:iam::111122223333:role/l
source_profile = loop2
[profile loop2]
role_arn = arn:aws:iam::111122223333:role/l2
source_profile = loop
[profile crlf]` + "\r\nregion = sa-east-1\r\ncredential_process = /bin/true\r\n" + `[profile missing-source]
role_arn = arn:aws:iam::111122223333:role/m
source_profile = nowhere
[profile secret]
aws_access_key_id = AKIAINCONFIG
aws_secret_access_key = config-secret
`

const sharedCredentials = "[keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n[app]\nregion = ca-central-1\n"

// The SDK resolves every profile from its view exactly as from the whole
// files: the SDK's own loader is the judge.
func TestSharedViewResolvesAsTheWholeFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	must(t, os.WriteFile(cfg, []byte(sharedConfig), 0o600))
	must(t, os.WriteFile(creds, []byte(sharedCredentials), 0o600))
	files := ReadSharedFiles([]string{cfg}, []string{creds})
	load := func(profile string, cfgFiles []string) string {
		t.Helper()
		sc, err := awsconfig.LoadSharedConfigProfile(t.Context(), profile, func(o *awsconfig.LoadSharedConfigOptions) {
			o.ConfigFiles, o.CredentialsFiles = cfgFiles, []string{creds}
		})
		if err != nil {
			return "error: " + err.Error()
		}
		b, err := json.Marshal(sc)
		must(t, err)
		return string(b)
	}
	for _, tc := range []struct {
		profile string
		secret  bool // the view names keys: the SDK reads the real files
	}{
		{profile: "default"}, {profile: "app"}, {profile: "base"}, {profile: "spaced"},
		{profile: "twice"}, {profile: "keys"}, {profile: "chained-keys"}, {profile: "loop"},
		{profile: "crlf"}, {profile: "missing-source"}, {profile: "absent"},
		{profile: "secret", secret: true},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			v := files.View(tc.profile)
			if tc.secret {
				if v.config != nil {
					t.Fatalf("a view with keys would be written to a file:\n%s", v.config)
				}
				return
			}
			if v.config == nil {
				t.Fatal("no view")
			}
			view := filepath.Join(t.TempDir(), "view")
			must(t, os.WriteFile(view, v.config, 0o600))
			want, got := load(tc.profile, []string{cfg}), load(tc.profile, []string{view})
			if got != want {
				t.Errorf("from the view:\n%s\nfrom the whole file:\n%s\nview:\n%s", got, want, v.config)
			}
		})
	}
}

func TestSharedViewKey(t *testing.T) {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	key := func(config, credentials, profile string) string {
		t.Helper()
		must(t, os.WriteFile(cfg, []byte(config), 0o600))
		must(t, os.WriteFile(creds, []byte(credentials), 0o600))
		return ReadSharedFiles([]string{cfg}, []string{creds}).View(profile).Key()
	}
	base := key(sharedConfig, sharedCredentials, "app")
	for _, tc := range []struct {
		name, config, creds string
		changed             bool
	}{
		{"same", sharedConfig, sharedCredentials, false},
		{"a comment in the profile", replace(sharedConfig, "[profile app]\n", "[profile app]\n# note\n\n"), sharedCredentials, false},
		{"an unrelated profile", replace(sharedConfig, "ap-south-1", "ap-south-2"), sharedCredentials, false},
		{"the services section", replace(sharedConfig, "9000", "9001"), sharedCredentials, true},
		{"the hop's sso-session", replace(sharedConfig, "corp.awsapps", "other.awsapps"), sharedCredentials, true},
		{"the hop itself", replace(sharedConfig, "sso_role_name = Dev", "sso_role_name = Admin"), sharedCredentials, true},
		{"its credentials-file section", sharedConfig, replace(sharedCredentials, "ca-central-1", "ca-west-1"), true},
		{"keys of another profile", sharedConfig, replace(sharedCredentials, "keys-secret", "other"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := key(tc.config, tc.creds, "app"); (got != base) != tc.changed {
				t.Errorf("key changed: %v, want %v", got != base, tc.changed)
			}
		})
	}
}

// With a view, the SDK reads a temporary file that is gone once the
// configuration is loaded, and resolves the profile's credential_process.
func TestAWSProfileLoadsItsView(t *testing.T) {
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("TMP", tmp) // Windows
	doc := filepath.Join(dir, "doc.json")
	must(t, os.WriteFile(doc, []byte(`{"Version":1,"AccessKeyId":"ASIAVIEW","SecretAccessKey":"s","SessionToken":"t","Expiration":"2100-01-01T00:00:00Z"}`), 0o600))
	cfg := filepath.Join(dir, "config")
	must(t, os.WriteFile(cfg, []byte("[profile other]\nregion = us-east-1\n[profile p]\nregion = eu-north-1\ncredential_process = "+printFile(doc)+"\n"), 0o600))
	creds := filepath.Join(dir, "none")
	p := &AWSProfile{Name: "p", ConfigFiles: []string{cfg}, CredentialFiles: []string{creds}, View: ReadSharedFiles([]string{cfg}, []string{creds}).View("p")}
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg != nil {
		t.Error("Retrieve kept the SDK configuration: every profile ever fetched would hold one")
	}
	ac, err := p.Config(t.Context())
	if err != nil || c.AccessKeyID != "ASIAVIEW" || ac.Region != "eu-north-1" {
		t.Fatalf("got %s in %s (%v)", c.AccessKeyID, ac.Region, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in the temporary directory: %v", left)
	}
}

// replace replaces the first old, which must be there.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
