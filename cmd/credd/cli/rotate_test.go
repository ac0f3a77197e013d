package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/credd/credd/internal/iamtest"
)

func TestRotateCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(fake *iamtest.Server)
		daemon bool
		args   []string
		code   int
		want   []string // in stdout+stderr
		// rotated: the credentials file holds a new key afterwards.
		rotated bool
	}{
		{"rotates, daemon not running", nil, false, []string{"rotate", "--profile", "legacy"}, 0,
			[]string{"Rotated the access key of profile legacy (IAM user jane)", "new key AKIAFAKE000000000002, stored in", "[legacy]", "old key AKIAFAKE000000000001, deleted", "credd: creating a new access key"}, true},

		{"rotates and reloads the running daemon", nil, true, []string{"rotate", "--profile", "legacy"}, 0,
			[]string{"Rotated the access key", "The running daemon reloaded"}, true},
		{"two keys already: names the one to delete", func(f *iamtest.Server) { f.AddKey("jane") }, false, []string{"rotate", "--profile", "legacy"}, 1,
			[]string{"IAM user jane already has two access keys", "Delete AKIAFAKE000000000002", "aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000002", "nothing was changed"}, false},
		{"IAM refuses: the old key stays", func(f *iamtest.Server) { f.Fail("CreateAccessKey", "AccessDenied", 403, -1) }, false, []string{"rotate", "--profile", "legacy"}, 1,
			[]string{"creating a new access key", "AccessDenied", "stays in place"}, false},
		{"a role chain has no key of its own", nil, false, []string{"rotate", "--profile", "ops"}, 2, []string{"profile ops uses source_profile", "aws_profile"}, false},
		{"an AWS profile that assumes a role", nil, false, []string{"rotate", "--profile", "sdkrole"}, 2, []string{"rotate the keys of legacy"}, false},
		{"unknown profile", nil, false, []string{"rotate", "--profile", "nope"}, 2, []string{`no profile "nope"`, "legacy, ops, sdkrole"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := iamtest.New(t)
			old := fake.AddKey("jane")
			if tc.setup != nil {
				tc.setup(fake)
			}
			yaml := fmt.Sprintf("sts: {endpoint: %q}\niam: {endpoint: %q}\nprofiles:\n  legacy: {aws_profile: legacy}\n  sdkrole: {aws_profile: sdkrole}\n  ops: {source_profile: legacy, role_arn: 'arn:aws:iam::111122223333:role/ops'}\n", fake.URL, fake.URL)
			creds := "# keys\n[legacy]\naws_access_key_id = " + old.ID + "\naws_secret_access_key = " + old.Secret + "\nregion = eu-west-1\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"
			awsConfig := "[profile sdkrole]\nrole_arn = arn:aws:iam::111122223333:role/x\nsource_profile = legacy\n"
			var f *fixture
			if tc.daemon {
				f = liveFixture(t, yaml, awsConfig, creds)
			} else {
				f = liveFixture(t, "", awsConfig, creds)
				if err := os.WriteFile(f.cfgPath, []byte("state_dir: "+f.stateDir+"\n"+yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := f.runWith(t, nil, tc.args...)
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output does not contain %q", w)
				}
			}
			if !tc.daemon && strings.Contains(out, "daemon reloaded") {
				t.Errorf("a reload was reported without a daemon")
			}
			if strings.Contains(out+errOut, "DO-NOT-LEAK") {
				t.Errorf("a secret reached the output")
			}
			after, err := os.ReadFile(f.env["AWS_SHARED_CREDENTIALS_FILE"])
			if err != nil {
				t.Fatal(err)
			}
			if !tc.rotated {
				if string(after) != creds {
					t.Errorf("the credentials file changed:\n%s", after)
				}
				return
			}
			keys := fake.Keys("jane")
			if len(keys) != 1 || keys[0].ID == old.ID {
				t.Fatalf("jane's keys: %+v, want one new key", keys)
			}
			want := strings.NewReplacer(old.ID, keys[0].ID, old.Secret, keys[0].Secret).Replace(creds)
			if string(after) != want {
				t.Errorf("credentials file:\n%s\nwant:\n%s", after, want)
			}
		})
	}
}
