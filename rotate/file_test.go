package rotate

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	const keys = "aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret-DO-NOT-LEAK\n"
	for _, tc := range []struct {
		name, profile, config, credentials string
		want                               string // the key ID found, or "" for an error
		errHas                             []string
	}{
		{"keys in the credentials file", "legacy", "[profile legacy]\nregion = eu-west-1\n", "[legacy]\n" + keys, "AKIAEXAMPLE", nil},
		{"default profile", "default", "", "[default]\n" + keys, "AKIAEXAMPLE", nil},
		{"no such profile", "nope", "", "[legacy]\n" + keys, "", []string{"AWS profile nope is in neither"}},
		{"role chain", "ops", "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/ops\nsource_profile = legacy\n", "[legacy]\n" + keys, "",
			[]string{"assumes the role arn:aws:iam::111122223333:role/ops with the credentials of AWS profile legacy", "rotate the keys of legacy"}},
		{"Identity Center", "sso", "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n", "", "",
			[]string{"signs in through IAM Identity Center"}},
		{"credential_process", "proc", "[profile proc]\ncredential_process = /bin/true\n", "", "", []string{"credential_process"}},
		{"session credentials", "temp", "", "[temp]\n" + keys + "aws_session_token = token-DO-NOT-LEAK\n", "", []string{"temporary credentials"}},
		{"keys in the config file", "cfgkeys", "[profile cfgkeys]\n" + keys, "", "", []string{"are in the config file", "move aws_access_key_id and aws_secret_access_key", "[cfgkeys]"}},
		{"section twice: credfile would refuse it", "legacy", "", "[legacy]\n" + keys + "[other]\nx = y\n[legacy]\nregion = eu-west-1\n", "", []string{"cannot update", "more than once"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
			write(t, cfg, tc.config)
			write(t, creds, tc.credentials)
			k, err := Locate(t.Context(), tc.profile, cfg, creds)
			if tc.want != "" {
				if err != nil || k.Credentials.AccessKeyID != tc.want || k.File != creds || k.Credentials.Temporary() {
					t.Fatalf("= %+v, %v", k, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; found %s", k.Credentials)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			noSecrets(t, err.Error())
		})
	}
}
