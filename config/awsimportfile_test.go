package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
)

// TestPlanImportFileAndApplyFile: the import of a shared AWS config into a
// config file, from the files on disk, and writing a plan into one.
func TestPlanImportFileAndApplyFile(t *testing.T) {
	const awsConfig = `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
`
	for _, tc := range []struct {
		name     string
		aws      string // "" is no file
		existing string // the config file; "" is none
		wantErr  error
		want     []string // in the planned file
		noChange bool
	}{
		{name: "into no file", aws: awsConfig, want: []string{"sso_sessions:", "corp:", "dev: {sso_session: corp"}},
		{name: "into a file, keeping it", aws: awsConfig, existing: "# mine\nlisten: 127.0.0.1:9955\n", want: []string{"# mine\nlisten: 127.0.0.1:9955\n", "dev: {sso_session: corp"}},
		{name: "nothing new", aws: "[profile keys]\nregion = eu-west-1\n", noChange: true},
		{name: "no AWS config", wantErr: cred.ErrInvalid},
		{name: "a config file that is not a mapping", aws: awsConfig, existing: "- a list\n", wantErr: cred.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			awsPath, cfgPath := filepath.Join(dir, "aws-config"), filepath.Join(dir, "config.yaml")
			if tc.aws != "" {
				if err := os.WriteFile(awsPath, []byte(tc.aws), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l := Loaded{Path: cfgPath}
			if tc.existing != "" {
				if err := os.WriteFile(cfgPath, []byte(tc.existing), 0o600); err != nil {
					t.Fatal(err)
				}
				l.FromFile = true
			}
			plan, out, err := PlanImportFile(awsPath, l)
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if tc.noChange {
				if out != nil || len(plan.Added()) != 0 {
					t.Errorf("planned %v:\n%s", plan.Added(), out)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("planned file lacks %q:\n%s", w, out)
				}
			}
			if err := plan.ApplyFile(cfgPath); err != nil {
				t.Fatal(err)
			}
			if written, _ := os.ReadFile(cfgPath); string(written) != string(out) {
				t.Errorf("ApplyFile wrote\n%s\nwant what was planned\n%s", written, out)
			}
		})
	}
}
