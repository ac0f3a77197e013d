package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credd/credd/config"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/source"
)

// generation is one configuration in force: the refreshers serving it.
// It is immutable once published; a reload builds the next one, reusing
// the entries of profiles whose whole definition is unchanged.
type generation struct {
	cfg            config.Config
	entries        map[string]*entry
	names          []string
	defaultProfile string
	region         string
}

// entry is one profile's refresher and what identifies its definition.
type entry struct {
	r      *refresh.Refresher
	key    string             // spec key: changes when anything that shapes the source changes
	source config.SourceKind  // for status
	aws    *source.AWSProfile // non-nil for aws_profile sources (SDK config cache)
	stop   context.CancelFunc // set when started
	done   chan struct{}      // closed when its loop returned
}

// specKey identifies everything that shapes a profile's credentials: the
// profile itself, the key of its source profile (so a chain is rebuilt
// when any hop changes), the global settings sources use, and for
// aws_profile sources what the SDK resolves from the shared AWS files
// (awsKey; so editing ~/.aws/config rebuilds the profile).
func specKey(cfg config.Config, name string, keys map[string]string, awsKey func(profile string) string) string {
	if k, ok := keys[name]; ok {
		return k
	}
	p := cfg.Profiles[name]
	parent := ""
	if p.SourceProfile != "" {
		keys[name] = "cycle" // validated configs have none; guard anyway
		parent = specKey(cfg, p.SourceProfile, keys, awsKey)
	}
	shared := ""
	if p.Source() == config.SourceAWSProfile {
		shared = awsKey(p.AWSProfile)
	}
	b, _ := json.Marshal(struct {
		Profile config.Profile
		Parent  string
		Shared  string
		STS     config.STS
		Refresh [2]string
		IdP     config.IdentityProvider
		SSO     config.SSOSession
	}{p, parent, shared, cfg.STS, [2]string{cfg.Refresh.Ahead.String(), cfg.Refresh.IdleAfter.String()}, cfg.IdentityProviders[p.IdentityProvider], cfg.SSOSessions[p.SSOSession]})
	k := digest(b)
	keys[name] = k
	return k
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// sharedProfileKey digests what the AWS SDK resolves for a profile of the
// shared AWS files: its own section, every source_profile hop, its
// sso-session and services sections, and keys from the credentials file.
// A profile the SDK cannot resolve gets the digest of the error, so fixing
// it changes the key too. The resolution (keys included) is only ever
// hashed, never logged.
func sharedProfileKey(ctx context.Context, deps Deps, profile string) string {
	sc, err := awsconfig.LoadSharedConfigProfile(ctx, profile, func(o *awsconfig.LoadSharedConfigOptions) {
		if len(deps.AWSConfigFiles) > 0 {
			o.ConfigFiles = deps.AWSConfigFiles
		}
		if len(deps.AWSCredentialFiles) > 0 {
			o.CredentialsFiles = deps.AWSCredentialFiles
		}
	})
	if err != nil {
		return digest([]byte("error: " + err.Error()))
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return digest([]byte("error: " + err.Error()))
	}
	return digest(b)
}

// buildGeneration makes the generation for cfg, reusing prev's entries
// whose spec key is unchanged. New entries are not started yet.
func (d *Daemon) buildGeneration(ctx context.Context, cfg config.Config, prev *generation) *generation {
	g := &generation{cfg: cfg, entries: map[string]*entry{}, defaultProfile: DefaultProfile(cfg)}
	for name := range cfg.Profiles {
		g.names = append(g.names, name)
	}
	sort.Strings(g.names)
	b := builder{d: d, cfg: cfg, deps: d.deps, http: d.http, awsProfiles: map[string]*source.AWSProfile{}}
	keys := map[string]string{}
	shared := map[string]string{} // AWS profile name -> sharedProfileKey
	awsKey := func(profile string) string {
		k, ok := shared[profile]
		if !ok {
			k = sharedProfileKey(ctx, d.deps, profile)
			shared[profile] = k
		}
		return k
	}
	var build func(name string) *entry
	build = func(name string) *entry {
		if e, ok := g.entries[name]; ok {
			return e
		}
		key := specKey(cfg, name, keys, awsKey)
		if prev != nil {
			if old, ok := prev.entries[name]; ok && old.key == key {
				if old.aws != nil {
					// Unchanged in the shared AWS files too; still load
					// the SDK's configuration again at the next refresh,
					// for what lies outside them (a ca_bundle's content).
					old.aws.Reset()
				}
				g.entries[name] = old
				return old
			}
		}
		p := cfg.Profiles[name]
		e := &entry{key: key, source: p.Source()}
		var signer source.Retriever
		if p.Source() == config.SourceAssumeRole {
			sp := cfg.Profiles[p.SourceProfile]
			if sp.Source() == config.SourceAWSProfile {
				// The first hop signs with what the SDK resolved, long-term
				// keys included, exactly as the SDK's own chains do.
				signer = b.awsProfile(p.SourceProfile).Signer()
			} else {
				signer = source.RetrieverFunc(build(p.SourceProfile).r.Current)
			}
		}
		if p.Source() == config.SourceAWSProfile {
			e.aws = b.awsProfile(name)
		}
		e.r = refresh.New(name, b.source(name, signer), refresh.Options{
			Policy:   d.policy(cfg),
			Clock:    d.deps.Clock,
			Logger:   d.log.With("component", "refresh"),
			OnResult: d.metrics.observeRefresh,
		})
		g.entries[name] = e
		return e
	}
	for _, name := range g.names {
		build(name)
	}
	g.region = b.region(ctx, g.defaultProfile)
	return g
}

func (d *Daemon) policy(cfg config.Config) refresh.Policy {
	p := refresh.DefaultPolicy()
	if d.deps.Policy != nil {
		p = *d.deps.Policy
	}
	p.Ahead = cfg.Refresh.Ahead.Duration
	p.IdleAfter = cfg.Refresh.IdleAfter.Duration
	return p
}
