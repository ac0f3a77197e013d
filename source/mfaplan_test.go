package source

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mapProfile is a profile of the shared files in a test.
type mapProfile map[string]string

func (m mapProfile) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

func lookupIn(files map[string]mapProfile) SharedLookup {
	return func(name string) (SharedProfile, bool) {
		p, ok := files[name]
		return p, ok
	}
}

const (
	devA = "arn:aws:iam::111122223333:mfa/alice"
	devB = "arn:aws:iam::111122223333:mfa/bob"
)

func TestPlanMFA(t *testing.T) {
	keys := mapProfile{"aws_access_key_id": "AKIAKEYS", "aws_secret_access_key": "s"}
	keysMFA := mapProfile{"aws_access_key_id": "AKIAKEYS", "aws_secret_access_key": "s", "mfa_serial": devA, "mfa_process": "ykman oath accounts code --single aws"}
	files := map[string]mapProfile{
		"keys":     keys,
		"keys-mfa": keysMFA,
		// The AWS CLI's way: mfa_serial on the role.
		"admin": {"role_arn": "arn:aws:iam::111122223333:role/admin", "source_profile": "keys", "mfa_serial": devA, "external_id": "ext", "role_session_name": "alice", "duration_seconds": "7200", "source_identity": "alice"},
		// aws-vault's way: mfa_serial on the keys.
		"reader": {"role_arn": "arn:aws:iam::111122223333:role/reader", "source_profile": "keys-mfa"},
		"deep":   {"role_arn": "arn:aws:iam::444455556666:role/deep", "source_profile": "reader"},
		"plain":  {"role_arn": "arn:aws:iam::111122223333:role/plain", "source_profile": "keys"},
		"self":   {"role_arn": "arn:aws:iam::111122223333:role/self", "source_profile": "self", "aws_access_key_id": "AKIASELF", "mfa_serial": devA},
		"two":    {"role_arn": "arn:aws:iam::111122223333:role/two", "source_profile": "keys-mfa", "mfa_serial": devB},
		"sso":    {"sso_session": "corp", "sso_account_id": "111122223333", "sso_role_name": "R"},
		"on-sso": {"role_arn": "arn:aws:iam::111122223333:role/x", "source_profile": "sso", "mfa_serial": devA},
		"ec2":    {"role_arn": "arn:aws:iam::111122223333:role/x", "credential_source": "Ec2InstanceMetadata", "mfa_serial": devA},
		"orphan": {"role_arn": "arn:aws:iam::111122223333:role/x", "source_profile": "ghost", "mfa_serial": devA},
		"loop-a": {"role_arn": "arn:aws:iam::111122223333:role/a", "source_profile": "loop-b", "mfa_serial": devA},
		"loop-b": {"role_arn": "arn:aws:iam::111122223333:role/b", "source_profile": "loop-a"},
		"bad-ds": {"role_arn": "arn:aws:iam::111122223333:role/x", "source_profile": "keys", "mfa_serial": devA, "duration_seconds": "1h"},
		"proc":   {"credential_process": "op-aws-keys", "mfa_serial": devA},
	}
	lookup := lookupIn(files)
	for _, tc := range []struct {
		name     string
		profile  string
		override MFAOverride
		wantOK   bool
		want     MFAPlan
		wantErr  []string
	}{
		{name: "keys without MFA: the SDK's", profile: "keys"},
		{name: "a role without MFA: the SDK's", profile: "plain"},
		{name: "missing profile: the SDK's to report", profile: "nope"},
		{name: "keys with mfa_serial: the session itself", profile: "keys-mfa", wantOK: true,
			want: MFAPlan{Serial: devA, Process: "ykman oath accounts code --single aws", KeysProfile: "keys-mfa"}},
		{name: "mfa_serial on the role", profile: "admin", wantOK: true,
			want: MFAPlan{Serial: devA, KeysProfile: "keys", Hops: []RoleHop{{Profile: "admin", RoleARN: "arn:aws:iam::111122223333:role/admin", ExternalID: "ext", SessionName: "alice", SourceIdentity: "alice", Duration: 2 * time.Hour}}}},
		{name: "mfa_serial on the keys under a role", profile: "reader", wantOK: true,
			want: MFAPlan{Serial: devA, Process: "ykman oath accounts code --single aws", KeysProfile: "keys-mfa", Hops: []RoleHop{{Profile: "reader", RoleARN: "arn:aws:iam::111122223333:role/reader"}}}},
		{name: "two hops, from the keys outwards", profile: "deep", wantOK: true,
			want: MFAPlan{Serial: devA, Process: "ykman oath accounts code --single aws", KeysProfile: "keys-mfa", Hops: []RoleHop{
				{Profile: "reader", RoleARN: "arn:aws:iam::111122223333:role/reader"},
				{Profile: "deep", RoleARN: "arn:aws:iam::444455556666:role/deep"}}}},
		{name: "a role with its own keys", profile: "self", wantOK: true,
			want: MFAPlan{Serial: devA, KeysProfile: "self", Hops: []RoleHop{{Profile: "self", RoleARN: "arn:aws:iam::111122223333:role/self"}}}},
		{name: "credential_process keys", profile: "proc", wantOK: true, want: MFAPlan{Serial: devA, KeysProfile: "proc"}},
		{name: "credd's mfa_serial on keys without one", profile: "keys", override: MFAOverride{Serial: devB, Process: "echo 123456"}, wantOK: true,
			want: MFAPlan{Serial: devB, Process: "echo 123456", KeysProfile: "keys"}},
		{name: "credd's mfa_serial wins over the files'", profile: "two", override: MFAOverride{Serial: devB}, wantOK: true,
			want: MFAPlan{Serial: devB, Process: "ykman oath accounts code --single aws", KeysProfile: "keys-mfa", Hops: []RoleHop{{Profile: "two", RoleARN: "arn:aws:iam::111122223333:role/two"}}}},
		{name: "two devices in one chain", profile: "two", wantOK: true, wantErr: []string{"profiles two and keys-mfa name different MFA devices"}},
		{name: "on an Identity Center profile", profile: "on-sso", wantOK: true, wantErr: []string{"AWS profile on-sso needs MFA (mfa_serial " + devA + ", from profile on-sso)", "profile sso signs in through IAM Identity Center"}},
		{name: "on an instance role", profile: "ec2", wantOK: true, wantErr: []string{"from Ec2InstanceMetadata (credential_source), not from IAM user keys"}},
		{name: "source profile missing", profile: "orphan", wantOK: true, wantErr: []string{"profile orphan names source_profile ghost, which is not in the shared AWS files"}},
		{name: "a loop", profile: "loop-a", wantOK: true, wantErr: []string{"the source_profile chain of loop-a loops at loop-a"}},
		{name: "bad duration_seconds", profile: "bad-ds", wantOK: true, wantErr: []string{`profile bad-ds: duration_seconds must be 900..43200, got "1h"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, ok, err := PlanMFA(lookup, tc.profile, tc.override)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v (plan %+v, err %v)", ok, tc.wantOK, plan, err)
			}
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if err == nil && !reflect.DeepEqual(plan, tc.want) {
				t.Errorf("plan\n%+v\nwant\n%+v", plan, tc.want)
			}
		})
	}
}

// TestSharedFilesLookup: PlanMFA reads the files as the Go SDK does.
func TestSharedFilesLookup(t *testing.T) {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, `[default]
mfa_serial = arn:aws:iam::111122223333:mfa/bare
[profile default]
mfa_serial = arn:aws:iam::111122223333:mfa/default   # the phone
[profile admin]
role_arn = arn:aws:iam::111122223333:role/admin
source_profile = keys
mfa_serial = "arn:aws:iam::111122223333:mfa/alice"
[profile keys]
aws_access_key_id = AKIAINCONFIG
`)
	write(creds, "[keys]\naws_access_key_id = AKIAINCREDS\naws_secret_access_key = s\n")
	files := ReadSharedFiles([]string{cfg}, []string{creds})
	for _, tc := range []struct{ profile, key, want string }{
		{"default", "mfa_serial", "arn:aws:iam::111122223333:mfa/default"},
		{"admin", "mfa_serial", "arn:aws:iam::111122223333:mfa/alice"},
		{"admin", "source_profile", "keys"},
		{"keys", "aws_access_key_id", "AKIAINCREDS"},
	} {
		p, ok := files.Lookup(tc.profile)
		if !ok {
			t.Fatalf("no profile %s", tc.profile)
		}
		if got, _ := p.Get(tc.key); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.profile, tc.key, got, tc.want)
		}
	}
	if _, ok := files.Lookup("ghost"); ok {
		t.Error("found a profile that is not there")
	}
	plan, ok, err := PlanMFA(files.Lookup, "admin", MFAOverride{})
	if err != nil || !ok || plan.KeysProfile != "keys" || plan.Serial != "arn:aws:iam::111122223333:mfa/alice" || len(plan.Hops) != 1 {
		t.Errorf("plan %+v ok %v err %v", plan, ok, err)
	}
}
