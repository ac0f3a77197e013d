package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// ShadowingVars are the variables that make the AWS SDK ignore the
// profile AWSProfile asks it to resolve (credentials in the environment
// win over profiles), or point it back at credd itself: the daemon's
// process must not have them.
func ShadowingVars() []string {
	return []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"AWS_CREDENTIAL_EXPIRATION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	}
}

// AWSProfile resolves a profile of the shared AWS config files with the AWS
// SDK itself: static keys, role_arn + source_profile chains,
// credential_process, web_identity_token_file and sso_session (using the
// AWS CLI's token cache). credd adds nothing to that resolution.
//
// Retrieve returns what the SDK resolved, which may be long-term IAM user
// keys: wrap it in SessionOnly before serving it to clients.
type AWSProfile struct {
	Name            string
	ConfigFiles     []string // empty: the SDK's defaults (~/.aws/config, AWS_CONFIG_FILE)
	CredentialFiles []string
	DefaultRegion   string // used when the profile names no region
	// HTTPClient is left nil in production: the SDK builds its own, which
	// honours AWS_CA_BUNDLE and the profile's ca_bundle.
	HTTPClient *http.Client
	// View, if set, is what the SDK reads of ConfigFiles for this profile
	// (SharedFiles.View): the SDK then reads it, in a private temporary
	// file removed at once, instead of the whole config file, which costs
	// one parse of the profile's sections rather than of every profile's,
	// and does not keep the whole file in memory with the profile's
	// configuration. The credentials files are still read as they are.
	View *SharedView
	// FetchTimeout bounds a credential_process run (0: the SDK's minute);
	// the process and everything it started are killed then (proc).
	FetchTimeout time.Duration
	// Clock times the credential_process's held credentials; nil: real
	// time.
	Clock clock.Clock

	mu  sync.Mutex // guards cfg
	cfg *aws.Config
}

// Config loads (once) and returns the SDK's configuration for the profile.
func (p *AWSProfile) Config(ctx context.Context) (aws.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg != nil {
		return *p.cfg, nil
	}
	cfg, err := p.load(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	p.cfg = &cfg
	return cfg, nil
}

// load loads the SDK's configuration for the profile.
func (p *AWSProfile) load(ctx context.Context) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithSharedConfigProfile(p.Name),
		awsconfig.WithDefaultRegion(p.DefaultRegion),
	}
	if p.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(p.HTTPClient))
	}
	files, credFiles := p.sharedFiles()
	// The SDK reads the files after this check; once it passed, no other
	// user can change them (awsfile.Check).
	check := credFiles
	if p.View == nil || p.View.config == nil || len(p.ConfigFiles) != 1 {
		check = append(slices.Clone(files), credFiles...)
	}
	for _, f := range check {
		if err := awsfile.Check(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return aws.Config{}, fmt.Errorf("loading AWS profile %q: %w", p.Name, err)
		}
	}
	if p.View != nil && p.View.config != nil && len(p.ConfigFiles) == 1 {
		dir, err := os.MkdirTemp("", "credd-aws-")
		if err != nil {
			return aws.Config{}, fmt.Errorf("loading AWS profile %q: %w", p.Name, err)
		}
		defer os.RemoveAll(dir)
		view := filepath.Join(dir, "config")
		if err := os.WriteFile(view, p.View.config, 0o600); err != nil {
			return aws.Config{}, fmt.Errorf("loading AWS profile %q: %w", p.Name, err)
		}
		files = []string{view}
	}
	opts = append(opts, awsconfig.WithSharedConfigFiles(files), awsconfig.WithSharedCredentialsFiles(credFiles))
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err == nil {
		cfg, err = ownProcess(ctx, cfg, opts, p.FetchTimeout, p.Clock)
	}
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS profile %q: %w", p.Name, err)
	}
	if cfg.Credentials == nil {
		return aws.Config{}, fmt.Errorf("AWS profile %q has no credentials (no keys, role_arn, credential_process, web_identity_token_file or sso settings)", p.Name)
	}
	return cfg, nil
}

// Region is the region the SDK resolves for the profile (AWS_REGION, the
// profile's region, else DefaultRegion), from the configuration Config
// loaded if there is one, else from one loaded for this call only.
func (p *AWSProfile) Region(ctx context.Context) (string, error) {
	p.mu.Lock()
	cached := p.cfg
	p.mu.Unlock()
	if cached != nil {
		return cached.Region, nil
	}
	cfg, err := p.load(ctx)
	if err != nil {
		return "", err
	}
	return cfg.Region, nil
}

// sharedFiles are the files the SDK reads for the profile: ConfigFiles
// and CredentialFiles, else what AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE name, else ~/.aws/config and
// ~/.aws/credentials, as the SDK itself finds them.
func (p *AWSProfile) sharedFiles() (config, credentials []string) {
	config, credentials = p.ConfigFiles, p.CredentialFiles
	if len(config) == 0 {
		config = awsconfig.DefaultSharedConfigFiles
		if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
			config = []string{f}
		}
	}
	if len(credentials) == 0 {
		credentials = awsconfig.DefaultSharedCredentialsFiles
		if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
			credentials = []string{f}
		}
	}
	return config, credentials
}

// Reset drops the loaded SDK configuration, so the next call re-reads the
// shared config files (after a reload).
func (p *AWSProfile) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = nil
}

// Retrieve asks the SDK for fresh credentials, bypassing its cache: the
// refresher calls only when it wants new ones. It uses the configuration
// Config loaded if there is one (a chain's signer shares it), else loads
// one for this call only: a profile's SDK configuration (its clients, its
// HTTP transport) is not kept between refreshes an hour apart, which
// would cost memory for every profile ever used.
func (p *AWSProfile) Retrieve(ctx context.Context) (cred.Credentials, error) {
	p.mu.Lock()
	cached := p.cfg
	p.mu.Unlock()
	var cfg aws.Config
	if cached != nil {
		cfg = *cached
	} else {
		var err error
		if cfg, err = p.load(ctx); err != nil {
			return cred.Credentials{}, err
		}
	}
	if inv, ok := cfg.Credentials.(interface{ Invalidate() }); ok {
		inv.Invalidate()
	}
	return p.retrieve(ctx, cfg)
}

// Signer returns the SDK's cached credentials, for signing the first hop of
// a chain. Long-term keys are used here as the SDK would use them.
func (p *AWSProfile) Signer() Retriever {
	return RetrieverFunc(func(ctx context.Context) (cred.Credentials, error) {
		cfg, err := p.Config(ctx)
		if err != nil {
			return cred.Credentials{}, err
		}
		return p.retrieve(ctx, cfg)
	})
}

func (p *AWSProfile) retrieve(ctx context.Context, cfg aws.Config) (cred.Credentials, error) {
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return cred.Credentials{}, p.explain(ctx, err)
	}
	out := cred.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		AccountID:       c.AccountID,
		Kind:            cred.KindExternal,
		Source:          "aws-profile",
	}
	if c.CanExpire {
		out.Expires = c.Expires
	}
	if !out.Temporary() {
		out.Kind = cred.KindLongTermIAMKey
	}
	return out, nil
}

// ssoAuthFailures are what the SDK says when an IAM Identity Center
// session is over (its errors are not typed).
var ssoAuthFailures = []string{"cannot be refreshed", "InvalidGrantException", "UnauthorizedException", "ExpiredTokenException", "token is expired"}

// explain wraps an SDK error. For profiles that sign in through IAM
// Identity Center, an expired or rejected session is marked
// cred.ErrLoginRequired and names the command that fixes it.
func (p *AWSProfile) explain(ctx context.Context, err error) error {
	err = withoutProcessOutput(err)
	wrapped := fmt.Errorf("AWS profile %q: %w", p.Name, err)
	if p.View != nil {
		if !p.View.sso {
			return wrapped
		}
		return loginHint(p.Name, err, wrapped)
	}
	sc, serr := awsconfig.LoadSharedConfigProfile(ctx, p.Name, func(o *awsconfig.LoadSharedConfigOptions) {
		if len(p.ConfigFiles) > 0 {
			o.ConfigFiles = p.ConfigFiles
		}
		if len(p.CredentialFiles) > 0 {
			o.CredentialsFiles = p.CredentialFiles
		}
	})
	if serr != nil || (sc.SSOSessionName == "" && sc.SSOStartURL == "") {
		return wrapped
	}
	return loginHint(p.Name, err, wrapped)
}

// loginHint marks an SDK error of an Identity Center profile that says
// the session is over.
func loginHint(profile string, err, wrapped error) error {
	for _, s := range ssoAuthFailures {
		if strings.Contains(err.Error(), s) {
			return fmt.Errorf("%w: the IAM Identity Center session has expired or was revoked: run `aws sso login --profile %s`: %w", cred.ErrLoginRequired, profile, wrapped)
		}
	}
	return wrapped
}

// RetrieverFunc adapts a function to Retriever.
type RetrieverFunc func(ctx context.Context) (cred.Credentials, error)

func (f RetrieverFunc) Retrieve(ctx context.Context) (cred.Credentials, error) { return f(ctx) }

// SessionTokenGetter is the STS call SessionOnly needs.
type SessionTokenGetter interface {
	GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, optFns ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error)
}

// ErrLongTermKeys is returned when long-term keys could not be turned into
// a session. credd never hands long-term keys to clients.
var ErrLongTermKeys = errors.New("profile rests on long-term IAM user keys")

// SessionOnly passes temporary credentials through and turns long-term IAM
// user keys into session credentials with sts:GetSessionToken, so clients
// never receive the keys themselves.
type SessionOnly struct {
	Profile  string
	Base     Retriever
	STS      awsapi.Config
	Duration time.Duration
	// Client overrides the STS client (tests); nil builds one from STS.
	Client func(signer cred.Credentials) SessionTokenGetter
}

func (s *SessionOnly) Retrieve(ctx context.Context) (cred.Credentials, error) {
	c, err := s.Base.Retrieve(ctx)
	if err != nil || c.Temporary() {
		return c, err
	}
	client := s.Client
	if client == nil {
		client = func(signer cred.Credentials) SessionTokenGetter {
			return sts.NewFromConfig(s.STS.AWS(awsapi.Static(signer)))
		}
	}
	out, err := client(c).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: durationSeconds(s.Duration)})
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("%w, and sts:GetSessionToken failed: %w; credd never serves long-term keys as they are: "+
			"give the profile a role_arn to assume, or point sts.endpoint at an STS that supports GetSessionToken", ErrLongTermKeys, err)
	}

	if out.Credentials == nil {
		return cred.Credentials{}, fmt.Errorf("sts:GetSessionToken for profile %s returned no credentials", s.Profile)
	}
	res := fromSTS(out.Credentials, cred.KindSessionToken, "get-session-token")
	res.AccountID = c.AccountID
	return res, nil
}
