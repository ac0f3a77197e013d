package rotate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/credfile"
	"github.com/credd/credd/internal/iamtest"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// instantClock fires every timer at once, moving its time forward by the
// timer's duration, and records the waits: retries without sleeping.
type instantClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *instantClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *instantClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	t := firedTimer(make(chan time.Time, 1))
	t <- c.now
	return t
}

type firedTimer chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (t firedTimer) Stop() bool          { return false }

// interruptingClock cancels the rotation (as Ctrl-C would) when the
// rotator starts to wait, and never fires.
type interruptingClock struct{ cancel context.CancelFunc }

func (c interruptingClock) Now() time.Time { return now }
func (c interruptingClock) NewTimer(time.Duration) clock.Timer {
	c.cancel()
	return firedTimer(make(chan time.Time))
}

// credentialsFile is what the user's file looks like: comments, other
// profiles, odd spacing, keys credd does not own. Only the two values of
// [legacy] may change.
const credentialsFile = "# my keys\r\n[default]\r\naws_access_key_id = AKIADEFAULTEXAMPLE\r\naws_secret_access_key = default-secret\r\nregion=eu-west-1\r\n\r\n" +
	"[legacy]\r\n; personal account\r\naws_access_key_id=OLDID\r\naws_secret_access_key   =   OLDSECRET\r\noutput = json\r\naws_account_id = 111122223333\r\n\r\n[zzz]\r\nx = y"

type fixture struct {
	fake               *iamtest.Server
	old                iamtest.Key
	cfgFile, credsFile string
	original           string
	clients            SDKClients
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{fake: iamtest.New(t)}
	f.old = f.fake.AddKey("jane")
	dir := t.TempDir()
	f.cfgFile, f.credsFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	f.original = strings.NewReplacer("OLDID", f.old.ID, "OLDSECRET", f.old.Secret).Replace(credentialsFile)
	write(t, f.cfgFile, "[profile legacy]\nregion = eu-west-1\n")
	write(t, f.credsFile, f.original)
	f.clients = SDKClients{Region: "us-east-1", IAMEndpoint: f.fake.URL, STSConfig: awsapi.Config{Region: "us-east-1", Endpoint: f.fake.URL}, MaxAttempts: 1}
	return f
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) read(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(f.credsFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) rotator(t *testing.T, keys Keys, clk clock.Clock) (*Rotator, *[]string) {
	t.Helper()
	var progress []string
	return &Rotator{Clients: f.clients, Store: keys.Store, Where: keys.Where(), Clock: clk, VerifyFor: time.Minute,
		Progress: func(m string) { progress = append(progress, m) }}, &progress
}

// assertWorkingKey checks the invariant of every outcome: the key the file
// holds for [legacy] exists in IAM, is active, and signs in (the AWS SDK
// reads it back from the file and the fake accepts it).
func (f *fixture) assertWorkingKey(t *testing.T) cred.Credentials {
	t.Helper()
	k, err := Locate(t.Context(), "legacy", f.cfgFile, f.credsFile)
	if err != nil {
		t.Fatalf("the file no longer gives a key: %v", err)
	}
	var inIAM *iamtest.Key
	for _, key := range f.fake.Keys("jane") {
		if key.ID == k.Credentials.AccessKeyID {
			inIAM = &key
		}
	}
	if inIAM == nil || inIAM.Status != "Active" || inIAM.Secret != k.Credentials.SecretAccessKey {
		t.Fatalf("the file's key %s is not an active key of jane with that secret (IAM has %+v)", k.Credentials.AccessKeyID, f.fake.Keys("jane"))
	}
	if _, err := f.clients.STS(k.Credentials).GetCallerIdentity(t.Context(), nil); err != nil {
		t.Fatalf("the file's key does not sign in: %v", err)
	}
	return k.Credentials
}

func noSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, "DO-NOT-LEAK") {
			t.Errorf("a secret reached a message: %s", s)
		}
	}
}

func TestRotateSucceedsThroughEventualConsistency(t *testing.T) {
	f := newFixture(t)
	f.fake.Propagation(3) // the new key is refused three times
	keys, err := Locate(t.Context(), "legacy", f.cfgFile, f.credsFile)
	if err != nil {
		t.Fatal(err)
	}
	clk := &instantClock{now: now}
	r, progress := f.rotator(t, keys, clk)
	res, err := r.Rotate(t.Context(), keys.Credentials)
	if err != nil {
		t.Fatal(err)
	}
	if res.User != "jane" || res.OldKeyID != f.old.ID || res.NewKeyID == "" || res.NewKeyID == f.old.ID || res.Attempts != 4 {
		t.Errorf("result %+v", res)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !equal(clk.waits, want) {
		t.Errorf("waited %v, want %v (backoff)", clk.waits, want)
	}
	wantActions := []string{"GetCallerIdentity", "ListAccessKeys", "CreateAccessKey", "GetCallerIdentity", "GetCallerIdentity", "GetCallerIdentity", "GetCallerIdentity", "DeleteAccessKey"}
	if !equal(f.fake.Actions(), wantActions) {
		t.Errorf("calls %v, want %v", f.fake.Actions(), wantActions)
	}
	calls := f.fake.Calls()
	if last := calls[len(calls)-1]; last.Params["AccessKeyId"] != f.old.ID {
		t.Errorf("deleted %s, want the old key", last.Params["AccessKeyId"])
	}
	noSecrets(t, *progress...)

	got := f.assertWorkingKey(t)
	if got.AccessKeyID != res.NewKeyID {
		t.Errorf("file holds %s, want the new key %s", got.AccessKeyID, res.NewKeyID)
	}
	if keys := f.fake.Keys("jane"); len(keys) != 1 || keys[0].ID != res.NewKeyID {
		t.Fatalf("IAM keys after rotation: %+v, want only the new one", keys)
	}
	newKey := f.fake.Keys("jane")[0]
	want := strings.NewReplacer(f.old.ID, newKey.ID, f.old.Secret, newKey.Secret).Replace(f.original)
	if after := f.read(t); after != want {
		t.Errorf("file not kept byte for byte:\ngot  %q\nwant %q", after, want)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRotateInterrupted fails each step in turn and checks what is left:
// always a working key in the file, and before the switch, the old one.
func TestRotateInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup breaks the step; it may return a Store to use instead.
		setup func(t *testing.T, f *fixture, keys Keys) func(context.Context, cred.Credentials) error
		// clock, if set, replaces the instant clock (given the cancel of
		// the rotation's context).
		clock func(cancel context.CancelFunc) clock.Clock
		// rotator, if set, changes the rotator (given the keys it stores
		// and the cancel of the rotation's context).
		rotator   func(r *Rotator, keys Keys, cancel context.CancelFunc)
		want      []string                  // in the error
		not       []string                  // not in the error
		exact     func(where string) string // the whole error, if set
		wantErr   error
		switched  bool // the new key is in the file
		iamKeys   int  // keys jane has afterwards
		noNewKeys bool // CreateAccessKey never succeeded
	}{
		{
			name: "the current key does not work",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Fail("GetCallerIdentity", "ExpiredToken", 403, 1)
				return nil
			},
			want: []string{"current key", "does not work", "ExpiredToken", "nothing was changed"}, iamKeys: 1, noNewKeys: true,
		},
		{
			name: "listing the keys is denied",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Fail("ListAccessKeys", "AccessDenied", 403, 1)
				return nil
			},
			want: []string{"listing the access keys of IAM user jane", "AccessDenied", "iam:ListAccessKeys", "nothing was changed"}, iamKeys: 1, noNewKeys: true,
		},
		{
			name: "creating the key fails",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Fail("CreateAccessKey", "AccessDenied", 403, 1)
				return nil
			},
			want: []string{"creating a new access key", "AccessDenied", "nothing was changed"}, iamKeys: 1, noNewKeys: true,
		},
		{
			name: "creating the key fails on IAM's side: the outcome is unknown",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Fail("CreateAccessKey", "ServiceFailure", 500, 1)
				return nil
			},
			want: []string{"creating a new access key", "ServiceFailure", "whether IAM made a key is unknown", "IAM lists no new key yet", "run credd rotate again",
				"aws iam list-access-keys --user-name jane", "the key AKIAFAKE000000000001 stays in place and works"},
			not: []string{"nothing was changed"}, iamKeys: 1, noNewKeys: true,
		},
		{
			name: "interrupted while creating the key: the outcome is unknown",
			rotator: func(r *Rotator, _ Keys, cancel context.CancelFunc) {
				r.Progress = func(msg string) {
					if strings.HasPrefix(msg, "creating") {
						cancel()
					}
				}
			},
			want: []string{"context canceled", "whether IAM made a key is unknown", "run credd rotate again", "aws iam list-access-keys --user-name jane", "stays in place and works"},
			not:  []string{"nothing was changed"}, iamKeys: 1, noNewKeys: true,
		},
		{
			name: "IAM made the key but its answer was lost: the stray key is named",
			rotator: func(r *Rotator, _ Keys, _ context.CancelFunc) {
				r.Clients = lostCreateAnswer{r.Clients}
			},
			want: []string{"creating a new access key failed (connection reset by peer)", "IAM now lists the key AKIAFAKE000000000002", "whose secret credd never received",
				"aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000002", "the key AKIAFAKE000000000001 stays in place and works"},
			not: []string{"nothing was changed"}, iamKeys: 2,
		},
		{
			name: "the new key never works: deleted again",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Propagation(1000)
				return nil
			},
			want: []string{"did not work", "still refuses it after", "InvalidClientTokenId", "was deleted again", "nothing was changed"}, iamKeys: 1,
		},
		{
			name: "the new key never works and deleting it fails: the stray key is named",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Propagation(1000)
				f.fake.Fail("DeleteAccessKey", "AccessDenied", 403, -1)
				return nil
			},
			want:    []string{"did not work", "was not stored, and deleting it again failed", "aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000002", "the profile keeps the old key AKIAFAKE000000000001, which works"},
			iamKeys: 2,
		},
		{
			name: "interrupted while waiting: the new key is deleted all the same",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Propagation(5)
				return nil
			},
			clock: func(cancel context.CancelFunc) clock.Clock { return interruptingClock{cancel} },
			want:  []string{"interrupted", "was deleted again"}, iamKeys: 1,
		},
		{
			name: "storing fails: the new key is deleted again",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				return func(context.Context, cred.Credentials) error { return errors.New("disk full") }
			},
			want: []string{"storing the new key in", "[legacy]", "disk full", "was deleted again", "nothing was changed"}, iamKeys: 1,
		},
		{
			// The rename put the new key in place; only the directory sync
			// failed. Deleting the new key would break the profile; deleting
			// the old one would, if the file reverted after a crash.
			name: "the directory sync fails after the rename: the new key stays, and so does the old one",
			rotator: func(r *Rotator, keys Keys, _ context.CancelFunc) {
				keys.Writer = credfile.Writer{File: atomicfile.Writer{SyncDir: func(string) error { return errors.New("input/output error") }}}
				r.Store = keys.Store
			},
			exact: func(where string) string {
				file := strings.TrimSuffix(where, " [legacy]")
				return "the old access key could not be deleted: storing the new key in " + where + ": writing credentials file: " + file +
					" holds the new content, but syncing its directory failed (a crash may still undo the replacement): input/output error; but " + where +
					" holds the new key AKIAFAKE000000000002, which works, so credd kept the old key AKIAFAKE000000000001 as well (it works too) in case the file reverts after a crash. " +
					"Once " + where + " still holds AKIAFAKE000000000002 after the disk problem is fixed, delete the old key: `aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000001`"
			},
			wantErr: ErrOldKeyRemains, switched: true, iamKeys: 2,
		},
		{
			name: "storing fails and the file cannot be read back: nothing is deleted, both keys are named",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				return func(context.Context, cred.Credentials) error {
					return &StoreError{Err: errors.New("disk full"), ReadErr: errors.New("input/output error")}
				}
			},
			want: []string{"disk full", "cannot tell which key", "input/output error", "deleted neither",
				"the old key AKIAFAKE000000000001 and the new key AKIAFAKE000000000002 both exist and work",
				"if it holds AKIAFAKE000000000002, delete the old key (`aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000001`)",
				"if it holds AKIAFAKE000000000001, delete the new one (`aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000002`)"},
			not: []string{"nothing was changed"}, iamKeys: 2,
		},
		{
			name: "deleting the old key fails after the switch",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.Fail("DeleteAccessKey", "AccessDenied", 403, -1)
				return nil
			},
			want:    []string{"is stored in", "[legacy] and works", "deleting the old key " + "AKIAFAKE000000000001" + " failed", "AccessDenied", "aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000001"},
			wantErr: ErrOldKeyRemains, switched: true, iamKeys: 2,
		},
		{
			name: "two keys already: refused, naming the one to delete",
			setup: func(t *testing.T, f *fixture, _ Keys) func(context.Context, cred.Credentials) error {
				f.fake.AddKey("jane")
				f.fake.Deactivate("AKIAFAKE000000000002")
				return nil
			},
			want: []string{"already has two access keys", "AKIAFAKE000000000001 (in use by this profile", "AKIAFAKE000000000002 (Inactive, created", "Delete AKIAFAKE000000000002",
				"aws iam delete-access-key --user-name jane --access-key-id AKIAFAKE000000000002", "nothing was changed"},
			wantErr: ErrTwoKeys, iamKeys: 2, noNewKeys: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			keys, err := Locate(t.Context(), "legacy", f.cfgFile, f.credsFile)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var clk clock.Clock = &instantClock{now: now}
			if tc.clock != nil {
				clk = tc.clock(cancel)
			}
			r, progress := f.rotator(t, keys, clk)
			if tc.setup != nil {
				if store := tc.setup(t, f, keys); store != nil {
					r.Store = store
				}
			}
			if tc.rotator != nil {
				tc.rotator(r, keys, cancel)
			}
			before := f.read(t)
			_, err = r.Rotate(ctx, keys.Credentials)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error mentions %q:\n%v", s, err)
				}
			}
			if tc.exact != nil {
				if want := tc.exact(keys.Where()); err.Error() != want {
					t.Errorf("error:\n%v\nwant:\n%s", err, want)
				}
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error is not %v", tc.wantErr)
			}
			noSecrets(t, append(*progress, err.Error())...)

			f.fake.Fail("DeleteAccessKey", "", 0, 0)
			f.fake.Fail("GetCallerIdentity", "", 0, 0)
			f.fake.Propagation(0)
			inFile := f.assertWorkingKey(t)
			if tc.switched {
				if inFile.AccessKeyID == f.old.ID {
					t.Errorf("the file still holds the old key after the switch")
				}
			} else {
				if inFile.AccessKeyID != f.old.ID || f.read(t) != before {
					t.Errorf("before the switch the file must be untouched: holds %s", inFile.AccessKeyID)
				}
			}
			if got := len(f.fake.Keys("jane")); got != tc.iamKeys {
				t.Errorf("jane has %d keys, want %d: %+v", got, tc.iamKeys, f.fake.Keys("jane"))
			}
			created := false
			for _, c := range f.fake.Calls() {
				if c.Action == "CreateAccessKey" && c.Code == "" {
					created = true
				}
			}
			if created == tc.noNewKeys {
				t.Errorf("a key was created: %v, want %v", created, !tc.noNewKeys)
			}
		})
	}
}

// TestStoreRefusesAFileChangedMeanwhile: when another tool rewrote the
// section during the rotation, credd does not overwrite it, and deletes its
// new key.
func TestStoreRefusesAFileChangedMeanwhile(t *testing.T) {
	f := newFixture(t)
	keys, err := Locate(t.Context(), "legacy", f.cfgFile, f.credsFile)
	if err != nil {
		t.Fatal(err)
	}
	bob := f.fake.AddKey("bob")
	changed := strings.NewReplacer(f.old.ID, bob.ID, f.old.Secret, bob.Secret).Replace(f.original)
	r, _ := f.rotator(t, keys, &instantClock{now: now})
	r.Store = func(ctx context.Context, c cred.Credentials) error {
		write(t, f.credsFile, changed)
		return keys.Store(ctx, c)
	}
	_, err = r.Rotate(t.Context(), keys.Credentials)
	if err == nil || !strings.Contains(err.Error(), "changed during the rotation: it now holds the key "+bob.ID) || !strings.Contains(err.Error(), "was deleted again") ||
		!strings.Contains(err.Error(), keys.Where()+" now holds the key "+bob.ID+", which credd did not write, and the old key "+f.old.ID+" was not deleted") ||
		strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	if f.read(t) != changed {
		t.Errorf("the other tool's change was overwritten")
	}
	if k := f.fake.Keys("jane"); len(k) != 1 || k[0].ID != f.old.ID {
		t.Errorf("jane's keys: %+v, want only the old one", k)
	}
}

// lostCreateAnswer makes IAM create the key and then loses the answer, as a
// connection reset after the request was sent would.
type lostCreateAnswer struct{ Clients }

func (c lostCreateAnswer) IAM(keys cred.Credentials) IAM { return lostCreateIAM{c.Clients.IAM(keys)} }

type lostCreateIAM struct{ IAM }

func (c lostCreateIAM) CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error) {
	if _, err := c.IAM.CreateAccessKey(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return nil, errors.New("connection reset by peer")
}

// TestVerifyChecksIdentity: a new key that works but is someone else's is
// not stored.
func TestVerifyChecksIdentity(t *testing.T) {
	f := newFixture(t)
	keys, err := Locate(t.Context(), "legacy", f.cfgFile, f.credsFile)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := f.rotator(t, keys, &instantClock{now: now})
	n, err := r.verify(t.Context(), f.fake.AddKey("bob").Credentials(), "arn:aws:iam::111122223333:user/jane")
	if err == nil || n != 1 || !strings.Contains(err.Error(), "signs in as arn:aws:iam::111122223333:user/bob, not as arn:aws:iam::111122223333:user/jane") {
		t.Errorf("verify = %d, %v", n, err)
	}
}

func TestUserOf(t *testing.T) {
	for _, tc := range []struct {
		arn, user string
		ok        bool
	}{
		{"arn:aws:iam::111122223333:user/jane", "jane", true},
		{"arn:aws:iam::111122223333:user/division/team/jane", "jane", true},
		{"arn:aws-cn:iam::111122223333:root", "", true},
		{"arn:aws:sts::111122223333:assumed-role/dev/jane", "", false},
		{"arn:aws:sts::111122223333:federated-user/jane", "", false},
		{"nonsense", "", false},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			u, ok := userOf(tc.arn)
			if u != tc.user || ok != tc.ok {
				t.Errorf("= %q %v, want %q %v", u, ok, tc.user, tc.ok)
			}
		})
	}
}
