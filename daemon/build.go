package daemon

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/source"
)

// builder turns profiles into sources.
type builder struct {
	d           *Daemon
	cfg         config.Config
	deps        Deps
	http        *http.Client
	awsProfiles map[string]*source.AWSProfile
	view        func(awsProfile string) *source.SharedView
	shared      *source.SharedFiles
}

func (b *builder) sts() awsapi.Config {
	return awsapi.Config{Region: b.cfg.STS.Region, Endpoint: b.cfg.STS.Endpoint, HTTPClient: b.http}
}

// awsProfile returns one shared SDK resolution per credd profile, so the
// served source and a chain's signer share the SDK's cache.
func (b *builder) awsProfile(name string) *source.AWSProfile {
	if p, ok := b.awsProfiles[name]; ok {
		return p
	}
	p := b.cfg.Profiles[name]
	region := p.Region
	if region == "" {
		region = b.cfg.STS.Region
	}
	ap := &source.AWSProfile{
		Name:            p.AWSProfile,
		ConfigFiles:     b.deps.AWSConfigFiles,
		CredentialFiles: b.deps.AWSCredentialFiles,
		DefaultRegion:   region,
		HTTPClient:      b.deps.HTTPClient,
		View:            b.view(p.AWSProfile),
		FetchTimeout:    b.d.policy(b.cfg).FetchTimeout,
		Clock:           b.deps.Clock,
	}
	b.awsProfiles[name] = ap
	return ap
}

// shallow runs each fetch of src on a goroutine of its own and waits for
// it. A refresher's loop lives as long as its profile and is parked
// almost all the time; a fetch (the SDK's configuration loading, its
// clients, a credential_process) needs a deep stack, which the loop would
// otherwise keep: about 14 KB per profile once fetched, against 2 to 4 KB.
type shallow struct{ src refresh.Source }

func (s shallow) Retrieve(ctx context.Context) (cred.Credentials, error) {
	type result struct {
		c   cred.Credentials
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := s.src.Retrieve(ctx)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// source builds the refresh.Source of a profile. signer is the source
// profile's credentials for source_profile chains.
func (b *builder) source(name string, signer source.Retriever) refresh.Source {
	p := b.cfg.Profiles[name]
	switch p.Source() {
	case config.SourceAWSProfile:
		return &source.SessionOnly{Profile: name, Base: b.awsProfile(name), STS: b.sts(), Duration: p.SessionDuration()}
	case config.SourceAssumeRole:
		sessionName := p.RoleSessionName
		if sessionName == "" {
			sessionName = source.SessionName(b.deps.UserName)
		}
		a := &source.AssumeRole{
			Profile:           name,
			Signer:            signer,
			STS:               b.sts(),
			RoleARN:           p.RoleARN,
			SessionName:       sessionName,
			ExternalID:        p.ExternalID,
			SourceIdentity:    p.SourceIdentity,
			Duration:          p.SessionDuration(),
			Tags:              p.SessionTags,
			TransitiveTagKeys: p.TransitiveTagKeys,
		}
		if p.IdentityProvider != "" { // broker mode
			a.TagsFromClaims = p.SessionTagsFromClaims
			a.Claims = idTokens{sessions: b.d.sessions, key: oidcKey(p.IdentityProvider)}
		}
		return a
	case config.SourceOIDC:
		return &source.WebIdentity{
			Profile:          name,
			Provider:         p.IdentityProvider,
			Tokens:           idTokens{sessions: b.d.sessions, key: oidcKey(p.IdentityProvider)},
			STS:              b.sts(),
			RoleARN:          p.RoleARN,
			SessionNameClaim: p.SessionNameClaim,
			Duration:         p.SessionDuration(),
			LoginHint:        "credd login --provider " + p.IdentityProvider,
		}
	case config.SourceSSO:
		sc := b.cfg.SSOSessions[p.SSOSession]
		return &source.SSORole{
			Profile:   name,
			Session:   p.SSOSession,
			Tokens:    accessTokens{sessions: b.d.sessions, key: ssoKey(p.SSOSession)},
			Portal:    awsapi.Config{Region: sc.Region, Endpoint: sc.Endpoint, HTTPClient: b.http},
			AccountID: p.AccountID,
			RoleName:  p.RoleName,
			LoginHint: "credd login --sso-session " + p.SSOSession,
			Clock:     b.deps.Clock,
		}
	case config.SourceSignIn:
		return signinCredentials{d: b.d, key: signinKey(p.LoginSession), profile: name}
	default:
		kind := p.Source()
		return refresh.SourceFunc(func(context.Context) (cred.Credentials, error) {
			return cred.Credentials{}, fmt.Errorf("profile %s uses %s, which this build of credd cannot sign in to yet", name, kind)
		})
	}
}

// mfaProfile names the profile of name's source_profile chain (name
// included) that sets mfa_serial, in credd's configuration or the shared
// AWS files, or is "".
func (b *builder) mfaProfile(name string) string {
	for range len(b.cfg.Profiles) + 1 { // validated configs have no cycles; bound it anyway
		p, ok := b.cfg.Profiles[name]
		switch {
		case !ok:
			return ""
		case p.MFASerial != "":
			return "profile " + name
		case p.Source() == config.SourceAWSProfile && b.shared != nil:
			if _, ok, _ := source.PlanMFA(b.shared.Lookup, p.AWSProfile, source.MFAOverride{}); ok {
				return "AWS profile " + p.AWSProfile
			}
		}
		name = p.SourceProfile
	}
	return ""
}

// regionOf is what IMDS reports as the instance's region: the profile's
// own, the SDK's for aws_profile sources (aws is the profile's resolution),
// else sts.region. The SDK's is worked out when a request first asks, and
// then remembered for the generation: it means loading the profile's SDK
// configuration (and any CA bundle it names), which a start or a reload
// should not wait for, and which is not kept.
func regionOf(ctx context.Context, cfg config.Config, profile string, aws *source.AWSProfile) func() string {
	fallback := cfg.STS.Region
	p, ok := cfg.Profiles[profile]
	switch {
	case ok && p.Region != "":
		fallback = p.Region
	case ok && p.Source() == config.SourceAWSProfile && aws != nil:
		ctx = context.WithoutCancel(ctx)
		return sync.OnceValue(func() string {
			if r, err := aws.Region(ctx); err == nil && r != "" {
				return r
			}
			return fallback
		})
	}
	return func() string { return fallback }
}
