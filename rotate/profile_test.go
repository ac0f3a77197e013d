package rotate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
)

func TestForProfile(t *testing.T) {
	dir := t.TempDir()
	files := awsfile.Paths{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(files.Config, []byte("[profile keys]\nregion = us-west-2\n[profile bare]\n[profile nokeys]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.Credentials, []byte("[keys]\naws_access_key_id = AKIAKEYSEXAMPLE\naws_secret_access_key = s1\n[bare]\naws_access_key_id = AKIABAREEXAMPLE\naws_secret_access_key = s2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{STS: config.STS{Region: "ap-south-1"}, Profiles: map[string]config.Profile{
		"own":    {AWSProfile: "keys", Region: "eu-central-1"},
		"aws":    {AWSProfile: "keys"},
		"sts":    {AWSProfile: "bare"},
		"nokeys": {AWSProfile: "nokeys"},
		"sso":    {SSOSession: "corp", AccountID: "111122223333", RoleName: "Dev"},
	}}
	for _, tc := range []struct {
		name, profile string
		wantRegion    string
		wantKey       string
		wantErr       error
	}{
		{"the profile's own region", "own", "eu-central-1", "AKIAKEYSEXAMPLE", nil},
		{"the AWS profile's region", "aws", "us-west-2", "AKIAKEYSEXAMPLE", nil},
		{"sts.region", "sts", "ap-south-1", "AKIABAREEXAMPLE", nil},
		{"an unknown profile", "nope", "", "", cred.ErrUnknownProfile},
		{"a profile not on keys", "sso", "", "", cred.ErrInvalid},
		{"an AWS profile without keys", "nokeys", "", "", cred.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, keys, err := ForProfile(t.Context(), cfg, tc.profile, files, nil)
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			c := r.Clients.(SDKClients)
			if c.Region != tc.wantRegion || c.STSConfig.Region != tc.wantRegion || keys.Credentials.AccessKeyID != tc.wantKey || r.Where != keys.Where() {
				t.Errorf("region %q/%q, key %s, where %q; want %s, %s", c.Region, c.STSConfig.Region, keys.Credentials.AccessKeyID, r.Where, tc.wantRegion, tc.wantKey)
			}
		})
	}
}
