// Package rotate rotates the IAM user access key behind a key-based
// profile: it creates a new key, proves it works (sts:GetCallerIdentity,
// retried through IAM's eventual consistency), stores it where the old one
// was and deletes the old one. It owns the order of those steps and what
// each failure leaves behind:
//
//   - a failure before the new key is stored deletes the new key again, so
//     the old key stays the user's one key, in place and working;
//   - a failure after it (deleting the old key) leaves the new key stored
//     and working, and the error names the old key still to delete;
//   - when storing fails, Rotate acts on what the profile holds afterwards
//     (Store reads it back, see StoreError), not on the error alone: a file
//     that holds the new key despite the error keeps it, and the old key
//     too; when nobody can tell, nothing is deleted and both keys are named;
//   - when creating the key fails in a way that does not prove IAM refused
//     it (a timeout, a cancelled context, a lost answer), Rotate lists the
//     keys again and names any key IAM made but credd never received, or
//     says that the outcome is unknown and how to find out.
//
// It refuses to start when the user already has two keys (IAM's limit),
// naming the one to delete. Secrets never reach its errors or progress
// messages; access key IDs, which are identifiers, do.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/refresh"
)

// IAM is the IAM API rotation needs.
type IAM interface {
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
}

// Identity is the STS call that proves a key works.
type Identity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ IAM      = (*iam.Client)(nil)
	_ Identity = (*sts.Client)(nil)
)

// Clients makes API clients that sign with the given keys.
type Clients interface {
	IAM(keys cred.Credentials) IAM
	STS(keys cred.Credentials) Identity
}

// ErrTwoKeys is returned when the user already has two access keys.
var ErrTwoKeys = errors.New("IAM's limit")

// ErrOldKeyRemains is returned when the new key is stored and works but
// the old key could not be deleted.
var ErrOldKeyRemains = errors.New("the old access key could not be deleted")

// StoreError is a failed Store that read the profile back afterwards, so
// that Rotate acts on which key the profile holds rather than on the error
// alone: a store can fail after the new key is in place (see
// atomicfile.NotDurableError), and another tool can change the file.
type StoreError struct {
	Err error
	// Holds is the access key ID the profile holds after the failure, ""
	// if it could not be read back (ReadErr says why).
	Holds   string
	ReadErr error
}

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// DefaultVerifyFor is how long a new key is retried before rotation gives
// up on it. IAM documents that changes take a few seconds to propagate.
const DefaultVerifyFor = 2 * time.Minute

// Rotator rotates one key.
type Rotator struct {
	Clients Clients
	// Store writes the new key where the old one was. It runs once the new
	// key is proven; after it returns nil the new key is the profile's.
	// When it fails it should return a *StoreError saying which key the
	// profile holds; any other error (but an atomicfile.NotDurableError,
	// which means the new key is in place) promises the old key is.
	Store func(ctx context.Context, keys cred.Credentials) error
	// Where says where the key is stored, for messages (e.g. the file and
	// section).
	Where string
	Clock clock.Clock
	// VerifyFor bounds the retries of the new key (0: DefaultVerifyFor).
	VerifyFor time.Duration
	// Progress, if set, receives one line per step.
	Progress func(msg string)
}

// Result says what a rotation did.
type Result struct {
	User     string // the IAM user, "" for the account's root user
	ARN      string
	OldKeyID string
	NewKeyID string
	Attempts int // GetCallerIdentity calls until the new key worked
}

func (r *Rotator) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

// Rotate replaces old, the long-term key the profile uses, with a new one.
func (r *Rotator) Rotate(ctx context.Context, old cred.Credentials) (Result, error) {
	res := Result{OldKeyID: old.AccessKeyID}
	if old.AccessKeyID == "" || old.SecretAccessKey == "" || old.Temporary() {
		return res, errors.New("rotation needs the long-term keys of an IAM user (aws_access_key_id and aws_secret_access_key without aws_session_token)")
	}
	unchanged := "nothing was changed: the key " + old.AccessKeyID + " stays in place"

	// Who is this key? Only IAM users (and, discouraged, the root user)
	// have access keys to rotate.
	id, err := r.Clients.STS(old).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return res, fmt.Errorf("the current key %s does not work (sts:GetCallerIdentity: %w); %s: fix the profile first", old.AccessKeyID, err, unchanged)
	}
	res.ARN = aws.ToString(id.Arn)
	user, ok := userOf(res.ARN)
	if !ok {
		return res, fmt.Errorf("the key %s belongs to %s, not to an IAM user; %s", old.AccessKeyID, res.ARN, unchanged)
	}
	res.User = user

	oldIAM := r.Clients.IAM(old)
	list, err := oldIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		return res, fmt.Errorf("listing the access keys of %s: %w; %s (the user needs iam:ListAccessKeys, iam:CreateAccessKey and iam:DeleteAccessKey on itself)", who(user), err, unchanged)
	}
	var others []iamtypes.AccessKeyMetadata
	found := false
	for _, k := range list.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == old.AccessKeyID {
			found = true
		} else {
			others = append(others, k)
		}
	}
	if !found {
		return res, fmt.Errorf("IAM does not list the key %s among the keys of %s; %s", old.AccessKeyID, who(user), unchanged)
	}
	if len(others) > 0 {
		return res, r.twoKeys(user, old.AccessKeyID, others)
	}

	r.progress("creating a new access key for %s", who(user))
	created, err := oldIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		return res, r.createFailed(ctx, oldIAM, user, old, err)
	}
	if created.AccessKey == nil || aws.ToString(created.AccessKey.AccessKeyId) == "" || aws.ToString(created.AccessKey.SecretAccessKey) == "" {
		return res, fmt.Errorf("iam:CreateAccessKey answered without a key; the key %s stays in place (check with `aws iam list-access-keys%s` that no new key was left behind)", old.AccessKeyID, userFlag(user))
	}
	next := cred.Credentials{
		AccessKeyID:     aws.ToString(created.AccessKey.AccessKeyId),
		SecretAccessKey: aws.ToString(created.AccessKey.SecretAccessKey),
		AccountID:       old.AccountID,
		Kind:            cred.KindLongTermIAMKey,
		Source:          "rotate",
	}
	res.NewKeyID = next.AccessKeyID

	r.progress("created %s; waiting until it works (IAM takes a few seconds to propagate a new key)", next.AccessKeyID)
	res.Attempts, err = r.verify(ctx, next, res.ARN)
	if err != nil {
		return res, r.abandon(ctx, oldIAM, user, old, next, old.AccessKeyID, fmt.Errorf("the new key %s did not work: %w", next.AccessKeyID, err))
	}

	r.progress("storing %s in %s", next.AccessKeyID, r.Where)
	if err := r.Store(ctx, next); err != nil {
		return res, r.storeFailed(ctx, oldIAM, user, old, next, err)
	}

	// The switch is done: from here on the new key is the profile's. The
	// old key signs its own deletion: IAM knows it for sure, while the new
	// one may still be propagating to IAM's endpoints.
	r.progress("deleting the old key %s", old.AccessKeyID)
	dctx, cancel := cleanupContext(ctx)
	defer cancel()
	if _, err := oldIAM.DeleteAccessKey(dctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(old.AccessKeyID)}); err != nil {
		return res, fmt.Errorf("%w: the new key %s is stored in %s and works, but deleting the old key %s failed: %v; "+
			"the old key still works until you delete it: `aws iam delete-access-key%s --access-key-id %s`",
			ErrOldKeyRemains, next.AccessKeyID, r.Where, old.AccessKeyID, err, userFlag(user), old.AccessKeyID)
	}
	return res, nil
}

// cleanupContext outlives the caller's cancellation (an interrupted
// rotation still cleans up) but not by long.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// abandon deletes the new key after a failure before the switch: the
// profile holds the key holds (the old key, unless another tool changed
// it), never the new one.
func (r *Rotator) abandon(ctx context.Context, client IAM, user string, old, next cred.Credentials, holds string, cause error) error {
	kept := fmt.Sprintf("the profile keeps the old key %s, which works", old.AccessKeyID)
	if holds != old.AccessKeyID {
		kept = fmt.Sprintf("%s now holds the key %s, which credd did not write, and the old key %s was not deleted", r.Where, holds, old.AccessKeyID)
	}
	dctx, cancel := cleanupContext(ctx)
	defer cancel()
	if _, err := client.DeleteAccessKey(dctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(next.AccessKeyID)}); err != nil {
		return fmt.Errorf("%w; the new key %s was not stored, and deleting it again failed (%v): delete it with `aws iam delete-access-key%s --access-key-id %s`; %s",
			cause, next.AccessKeyID, err, userFlag(user), next.AccessKeyID, kept)
	}
	if holds != old.AccessKeyID {
		return fmt.Errorf("%w; the new key %s was deleted again; %s", cause, next.AccessKeyID, kept)
	}
	return fmt.Errorf("%w; the new key %s was deleted again, and %s: nothing was changed", cause, next.AccessKeyID, kept)
}

// storeFailed acts on what the profile holds after a failed Store.
func (r *Rotator) storeFailed(ctx context.Context, client IAM, user string, old, next cred.Credentials, err error) error {
	cause := fmt.Errorf("storing the new key in %s: %w", r.Where, err)
	holds, readErr := old.AccessKeyID, error(nil)
	var se *StoreError
	var nd *atomicfile.NotDurableError
	switch {
	case errors.As(err, &se):
		holds, readErr = se.Holds, se.ReadErr
	case errors.As(err, &nd):
		holds = next.AccessKeyID
	}
	switch holds {
	case old.AccessKeyID:
		return r.abandon(ctx, client, user, old, next, holds, cause)
	case next.AccessKeyID:
		// The switch happened after all. The write may not be durable, so
		// the old key stays too: whichever key the file ends up with works.
		return fmt.Errorf("%w: %v; but %s holds the new key %s, which works, so credd kept the old key %s as well (it works too) in case the file reverts after a crash. "+
			"Once %s still holds %s after the disk problem is fixed, delete the old key: `aws iam delete-access-key%s --access-key-id %s`",
			ErrOldKeyRemains, cause, r.Where, next.AccessKeyID, old.AccessKeyID, r.Where, next.AccessKeyID, userFlag(user), old.AccessKeyID)
	case "":
		return fmt.Errorf("%v; credd cannot tell which key %s holds now (reading it back failed: %v), so it deleted neither: the old key %s and the new key %s both exist and work. "+
			"Look at %s: if it holds %s, delete the old key (`aws iam delete-access-key%s --access-key-id %s`); if it holds %s, delete the new one (`aws iam delete-access-key%s --access-key-id %s`)",
			cause, r.Where, readErr, old.AccessKeyID, next.AccessKeyID, r.Where, next.AccessKeyID, userFlag(user), old.AccessKeyID,
			old.AccessKeyID, userFlag(user), next.AccessKeyID)
	default:
		return r.abandon(ctx, client, user, old, next, holds, cause)
	}
}

// createFailed says what a failed CreateAccessKey left behind. Only an
// answer in which IAM refused the request proves no key was made; after a
// timeout, a cancelled context or a lost answer IAM may have made one whose
// secret credd never received. The keys are listed again (listing may lag
// a few seconds behind a new key) to name such a key.
func (r *Rotator) createFailed(ctx context.Context, client IAM, user string, old cred.Credentials, err error) error {
	stays := fmt.Sprintf("the key %s stays in place and works", old.AccessKeyID)
	lctx, cancel := cleanupContext(ctx)
	defer cancel()
	list, lerr := client.ListAccessKeys(lctx, &iam.ListAccessKeysInput{})
	if lerr == nil {
		for _, k := range list.AccessKeyMetadata {
			if id := aws.ToString(k.AccessKeyId); id != old.AccessKeyID {
				return fmt.Errorf("creating a new access key failed (%v), but IAM now lists the key %s (created %s), whose secret credd never received, so nothing can use it: "+
					"delete it with `aws iam delete-access-key%s --access-key-id %s` and run credd rotate again; %s",
					err, id, aws.ToTime(k.CreateDate).UTC().Format(time.RFC3339), userFlag(user), id, stays)
			}
		}
	}
	if refused(err) {
		return fmt.Errorf("creating a new access key: %w; nothing was changed: %s", err, stays)
	}
	listed := "IAM lists no new key yet"
	if lerr != nil {
		listed = fmt.Sprintf("listing the keys again failed too: %v", lerr)
	}
	return fmt.Errorf("creating a new access key: %w; whether IAM made a key is unknown (%s, and a new key can take a few seconds to be listed): "+
		"run credd rotate again in a minute — it lists the keys and names any extra one to delete — or check with `aws iam list-access-keys%s`; %s",
		err, listed, userFlag(user), stays)
}

// refused reports whether err is IAM's answer refusing the request (an
// API error with a 4xx status), which proves nothing was created.
func refused(err error) bool {
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		return false
	}
	code := re.HTTPStatusCode()
	return code >= 400 && code < 500
}

func (r *Rotator) twoKeys(user, current string, others []iamtypes.AccessKeyMetadata) error {
	var b strings.Builder
	for _, k := range others {
		fmt.Fprintf(&b, "%s (%s, created %s)", aws.ToString(k.AccessKeyId), k.Status, aws.ToTime(k.CreateDate).UTC().Format("2006-01-02"))
	}
	other := aws.ToString(others[0].AccessKeyId)
	return fmt.Errorf("%s already has two access keys (%w), so there is no room for a new one: %s (in use by this profile, in %s) and %s. "+
		"Delete %s if nothing uses it any more — `aws iam delete-access-key%s --access-key-id %s` — and run credd rotate again; nothing was changed",
		who(user), ErrTwoKeys, current, r.Where, b.String(), other, userFlag(user), other)
}

// verifyBackoff is the wait between verification attempts: 1 s,
// doubling up to 16 s (refresh.Backoff, whole delays).
var verifyBackoff = refresh.Policy{BackoffMin: time.Second, BackoffMax: 16 * time.Second}

// retryable are the errors a key gives while IAM propagates it.
var retryable = map[string]bool{"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "AuthFailure": true}

// verify calls GetCallerIdentity with the new key until it works and is
// the same identity as the old one.
func (r *Rotator) verify(ctx context.Context, next cred.Credentials, wantARN string) (int, error) {
	clk := clock.Or(r.Clock)
	budget := r.VerifyFor
	if budget <= 0 {
		budget = DefaultVerifyFor
	}
	deadline := clk.Now().Add(budget)
	client := r.Clients.STS(next)
	for attempt := 1; ; attempt++ {
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			if got := aws.ToString(id.Arn); got != wantARN {
				return attempt, fmt.Errorf("it signs in as %s, not as %s", got, wantARN)
			}
			return attempt, nil
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || !retryable[ae.ErrorCode()] {
			return attempt, fmt.Errorf("sts:GetCallerIdentity: %w", err)
		}
		wait := refresh.Backoff(attempt, verifyBackoff, 1)
		if !clk.Now().Add(wait).Before(deadline) {
			return attempt, fmt.Errorf("sts:GetCallerIdentity still refuses it after %d attempts over %s: %w", attempt, budget, err)
		}
		t := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("interrupted while waiting for it to propagate: %w", ctx.Err())
		case <-t.C():
		}
	}
}

// userOf returns the IAM user name of a caller ARN ("" for the root user),
// and false for anything that is not a user (roles, federated users).
func userOf(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" {
		return "", false
	}
	switch res := parts[5]; {
	case res == "root":
		return "", true
	case strings.HasPrefix(res, "user/"):
		return res[strings.LastIndexByte(res, '/')+1:], true
	}
	return "", false
}

func who(user string) string {
	if user == "" {
		return "the root user"
	}
	return "IAM user " + user
}

func userFlag(user string) string {
	if user == "" {
		return ""
	}
	return " --user-name " + user
}

// SDKClients makes the AWS SDK's iam and sts clients.
type SDKClients struct {
	Region      string // signing region; IAM itself is global per partition
	IAMEndpoint string // "" : the partition's IAM endpoint
	STSConfig   awsapi.Config
	HTTPClient  *http.Client // nil: the SDK's default
	// MaxAttempts bounds the SDK's own retries of throttling and server
	// errors (0: the SDK's default).
	MaxAttempts int
}

func (c SDKClients) IAM(keys cred.Credentials) IAM {
	cfg := awsapi.Config{Region: c.Region, Endpoint: c.IAMEndpoint, HTTPClient: c.HTTPClient}.AWS(awsapi.Static(keys))
	cfg.RetryMaxAttempts = c.MaxAttempts
	return iam.NewFromConfig(cfg)
}

func (c SDKClients) STS(keys cred.Credentials) Identity {
	cfg := c.STSConfig.AWS(awsapi.Static(keys))
	cfg.RetryMaxAttempts = c.MaxAttempts
	return sts.NewFromConfig(cfg)
}
