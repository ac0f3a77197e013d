package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

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
	region         func() string // IMDS's region, worked out when first asked
}

// entry is one profile's refresher and what identifies its definition.
type entry struct {
	r      *refresh.Refresher
	key    string             // spec key: changes when anything that shapes the source changes
	source config.SourceKind  // for status
	aws    *source.AWSProfile // non-nil for aws_profile sources (SDK config cache)
	mfa    string             // what needs MFA under it ("AWS profile keys"); "": nothing
	// mfaChain is the MFA session and roles the profile's credentials
	// (or, for a role with mfa_serial, its source's) come through.
	mfaChain *mfaChain
	started  bool // on the daemon's scheduler
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
		Refresh [3]string
		IdP     config.IdentityProvider
		SSO     config.SSOSession
	}{p, parent, shared, cfg.STS, [3]string{cfg.Refresh.Ahead.String(), cfg.Refresh.IdleAfter.String(), cfg.Refresh.FetchTimeout.String()}, cfg.IdentityProviders[p.IdentityProvider], cfg.SSOSessions[p.SSOSession]})
	k := digest(b)
	keys[name] = k
	return k
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// readShared reads the shared AWS files once for a generation: the key of
// every aws_profile source (what the SDK reads for it: its own sections,
// every source_profile hop, its sso-session and services sections, and
// its sections of the credentials file) and the view the SDK loads come
// from this one reading. Keys digest content, secrets included, and are
// never shown.
func readShared(deps Deps) *source.SharedFiles {
	return source.ReadSharedFiles(sharedPaths(deps))
}

// sharedPaths are the shared AWS config and credentials files of deps, or
// the SDK's defaults.
func sharedPaths(deps Deps) (cfg, creds []string) {
	cfg, creds = deps.AWSConfigFiles, deps.AWSCredentialFiles
	if len(cfg) == 0 {
		cfg = awsconfig.DefaultSharedConfigFiles
	}
	if len(creds) == 0 {
		creds = awsconfig.DefaultSharedCredentialsFiles
	}
	return cfg, creds
}

// buildGeneration makes the generation for cfg, reusing prev's entries
// whose spec key is unchanged, with shared the shared AWS files as read
// for it (readShared). New entries are not started yet.
func (d *Daemon) buildGeneration(ctx context.Context, cfg config.Config, prev *generation, shared *source.SharedFiles) *generation {
	g := &generation{cfg: cfg, entries: map[string]*entry{}, defaultProfile: DefaultProfile(cfg)}
	for name := range cfg.Profiles {
		g.names = append(g.names, name)
	}
	slices.SortFunc(g.names, compareNatural) // status lists p2 before p10
	views := map[string]*source.SharedView{} // by AWS profile name
	view := func(profile string) *source.SharedView {
		v, ok := views[profile]
		if !ok {
			v = shared.View(profile)
			views[profile] = v
		}
		return v
	}
	b := builder{d: d, cfg: cfg, deps: d.deps, http: d.http, awsProfiles: map[string]*source.AWSProfile{}, view: view, shared: shared}
	keys := map[string]string{}
	awsKey := func(profile string) string { return view(profile).Key() }
	// One logger for every refresher: a With per profile copies the
	// handler and its formatted attributes (about 180 bytes each).
	refreshLog := d.log.With("component", "refresh")
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
		// Keys with an MFA device are used for nothing but their MFA
		// session, never a call without a code.
		e.mfaChain = b.mfaChainFor(name)
		var signer source.Retriever
		if p.Source() == config.SourceAssumeRole {
			sp := cfg.Profiles[p.SourceProfile]
			switch {
			case e.mfaChain != nil:
				// The role's own mfa_serial: signed from the MFA session
				// on its source's keys.
				signer = e.mfaChain
			case sp.Source() == config.SourceAWSProfile && build(p.SourceProfile).mfaChain == nil:
				// The first hop signs with what the SDK resolved, long-term
				// keys included, exactly as the SDK's own chains do.
				signer = b.awsProfile(p.SourceProfile).Signer()
			default:
				signer = source.RetrieverFunc(build(p.SourceProfile).r.Current)
			}
		}
		if p.Source() == config.SourceAWSProfile {
			e.aws = b.awsProfile(name)
		}
		e.mfa = b.mfaProfile(name)
		var src refresh.Source = e.mfaChain
		if e.mfaChain == nil || p.Source() != config.SourceAWSProfile {
			src = b.source(name, signer)
		}
		e.r = refresh.New(name, shallow{src}, refresh.Options{
			Policy:   d.policy(cfg),
			Clock:    d.deps.Clock,
			Logger:   refreshLog,
			OnResult: d.metrics.observeRefresh,
		})
		g.entries[name] = e
		return e
	}
	for _, name := range g.names {
		build(name)
	}
	var defaultAWS *source.AWSProfile
	if e := g.entries[g.defaultProfile]; e != nil {
		defaultAWS = e.aws
	}
	g.region = regionOf(ctx, cfg, g.defaultProfile, defaultAWS)
	return g
}

func (d *Daemon) policy(cfg config.Config) refresh.Policy {
	p := refresh.DefaultPolicy()
	if d.deps.Policy != nil {
		p = *d.deps.Policy
	}
	p.Ahead = cfg.Refresh.Ahead.Duration
	p.IdleAfter = cfg.Refresh.IdleAfter.Duration
	if ft := cfg.Refresh.FetchTimeout.Duration; ft > 0 {
		p.FetchTimeout = ft
	}
	return p
}
