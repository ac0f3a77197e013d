package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/credfile"
)

// Keys are the long-term keys of an AWS profile and the file that holds
// them.
type Keys struct {
	Profile     string // the AWS profile (the section of the credentials file)
	File        string // the shared credentials file holding the keys
	ConfigFile  string
	Credentials cred.Credentials
	Region      string // the profile's region, if it names one
	// Writer writes the file; the zero value is credfile's default (tests
	// inject failures through it).
	Writer credfile.Writer
}

// Where is the file and section, for messages.
func (k Keys) Where() string { return k.File + " [" + k.Profile + "]" }

// Locate finds the keys of AWS profile name as the AWS SDK resolves them
// from configFile and credentialsFile (config.LoadSharedConfigProfile,
// which also tells which file the aws_access_key_id came from). It
// refuses, before anything is changed anywhere, profiles that do not rest
// directly on long-term keys, keys that live in the config file rather
// than the credentials file, and a credentials file that credd could not
// update (see credfile).
func Locate(ctx context.Context, name, configFile, credentialsFile string) (Keys, error) {
	k := Keys{Profile: name, File: credentialsFile, ConfigFile: configFile}
	sc, err := awsconfig.LoadSharedConfigProfile(ctx, name, func(o *awsconfig.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{configFile}
		o.CredentialsFiles = []string{credentialsFile}
	})
	var notExist awsconfig.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &notExist):
		return k, fmt.Errorf("AWS profile %s is in neither %s nor %s", name, configFile, credentialsFile)
	case err != nil:
		return k, fmt.Errorf("reading AWS profile %s: %w", name, err)
	}
	k.Region = sc.Region
	nothing := "AWS profile " + name
	switch {
	case sc.RoleARN != "" && sc.SourceProfileName != "":
		return k, fmt.Errorf("%s assumes the role %s with the credentials of AWS profile %s: rotate the keys of %s (a credd profile with `aws_profile: %s`)",
			nothing, sc.RoleARN, sc.SourceProfileName, sc.SourceProfileName, sc.SourceProfileName)
	case sc.RoleARN != "":
		return k, fmt.Errorf("%s assumes the role %s; it rests on no access key of its own to rotate", nothing, sc.RoleARN)
	case sc.SSOSessionName != "" || sc.SSOStartURL != "":
		return k, fmt.Errorf("%s signs in through IAM Identity Center: it has no access keys to rotate", nothing)
	case sc.CredentialProcess != "":
		return k, fmt.Errorf("%s gets its credentials from credential_process: credd cannot rotate keys it does not hold", nothing)
	case !sc.Credentials.HasKeys():
		return k, fmt.Errorf("%s has no aws_access_key_id and aws_secret_access_key to rotate", nothing)
	case sc.Credentials.SessionToken != "":
		return k, fmt.Errorf("%s holds temporary credentials (aws_session_token), not the long-term keys of an IAM user", nothing)
	}
	from := strings.TrimPrefix(sc.Credentials.Source, "SharedConfigCredentials: ")
	switch {
	case samePath(from, credentialsFile):
	case samePath(from, configFile):
		return k, fmt.Errorf("the keys of %s are in the config file %s; credd rotate writes keys into the credentials file only: "+
			"move aws_access_key_id and aws_secret_access_key from its section there to [%s] in %s, and run credd rotate again", nothing, configFile, name, credentialsFile)
	default:
		return k, fmt.Errorf("cannot tell which file holds the keys of %s (the AWS SDK says %q)", nothing, sc.Credentials.Source)
	}
	// The SDK drops aws_account_id when it merges a config file section
	// into the credentials file's: read the credentials file alone (a
	// non-nil empty list means no config file) for the section as written,
	// so the stored key keeps that line.
	own, err := awsconfig.LoadSharedConfigProfile(ctx, name, func(o *awsconfig.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{}
		o.CredentialsFiles = []string{credentialsFile}
	})
	if err != nil || own.Credentials.AccessKeyID != sc.Credentials.AccessKeyID {
		return k, fmt.Errorf("reading [%s] of %s: %v", name, credentialsFile, err)
	}
	k.Credentials = cred.Credentials{
		AccessKeyID:     own.Credentials.AccessKeyID,
		SecretAccessKey: own.Credentials.SecretAccessKey,
		AccountID:       own.Credentials.AccountID,
		Kind:            cred.KindLongTermIAMKey,
		Source:          "aws-profile",
	}
	if err := k.check(); err != nil {
		return k, err
	}
	return k, nil
}

// check proves, before a new key is created, that the credentials file can
// take it: credfile accepts the file and the section, and the directory
// lets a temporary file be created for the atomic replace.
func (k Keys) check() error {
	if err := credfile.ValidateProfile(k.Profile); err != nil {
		return fmt.Errorf("credd cannot write [%s] into %s: %w", k.Profile, k.File, err)
	}
	target, err := filepath.EvalSymlinks(k.File)
	if err != nil {
		return fmt.Errorf("reading %s: %w", k.File, err)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return fmt.Errorf("reading %s: %w", k.File, err)
	}
	if _, err := credfile.Update(data, k.Profile, k.Credentials); err != nil {
		return fmt.Errorf("credd cannot update %s: %w", k.File, err)
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".credd-probe-*")
	if err != nil {
		return fmt.Errorf("credd cannot replace %s (it writes a temporary file beside it and renames it): %w", k.File, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// Store writes keys into the profile's section, keeping every other byte
// of the file, after checking the section still holds the key being
// replaced (another tool may have changed the file since Locate). When it
// fails it reads the section back and returns a *StoreError naming the key
// the profile holds now.
func (k Keys) Store(ctx context.Context, keys cred.Credentials) error {
	err := k.store(ctx, keys)
	if err == nil {
		return nil
	}
	holds, readErr := k.Holds(ctx)
	return &StoreError{Err: err, Holds: holds, ReadErr: readErr}
}

func (k Keys) store(ctx context.Context, keys cred.Credentials) error {
	now, err := Locate(ctx, k.Profile, k.ConfigFile, k.File)
	if err != nil {
		return err
	}
	if now.Credentials.AccessKeyID != k.Credentials.AccessKeyID {
		return fmt.Errorf("%s changed during the rotation: it now holds the key %s, not %s", k.Where(), now.Credentials.AccessKeyID, k.Credentials.AccessKeyID)
	}
	return k.Writer.WriteProfile(k.File, k.Profile, keys)
}

// Holds reads back the access key ID the profile's section of the
// credentials file holds, as the AWS SDK reads it.
func (k Keys) Holds(ctx context.Context) (string, error) {
	sc, err := awsconfig.LoadSharedConfigProfile(ctx, k.Profile, func(o *awsconfig.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{}
		o.CredentialsFiles = []string{k.File}
	})
	if err != nil {
		return "", fmt.Errorf("reading [%s] of %s: %w", k.Profile, k.File, err)
	}
	if sc.Credentials.AccessKeyID == "" {
		return "", fmt.Errorf("[%s] of %s has no aws_access_key_id", k.Profile, k.File)
	}
	return sc.Credentials.AccessKeyID, nil
}

func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ia, err1 := os.Stat(a)
	ib, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ia, ib)
}
