package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/mfa"
	"github.com/credd/credd/source"
)

// mfaSession returns the MFA session of keyID's keys and device serial,
// making it on first use (it then reads the store); profile, the profile
// asking, is the one messages about the session name. MFA sessions belong
// to a pair of keys and a device, not to a profile: every profile on the
// same keys and device shares one, and they outlive reloads.
func (r *sessionRegistry) mfaSession(keyID, serial, profile string, onChange func(*mfa.Session)) *mfa.Session {
	name := mfa.Name(keyID, serial)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mfaProfile[name] = profile
	if s, ok := r.mfa[name]; ok {
		return s
	}
	var st mfa.Store
	if r.deps.Store != nil {
		st = r.deps.Store
	}
	s := mfa.NewSession(keyID, serial, mfa.Options{Store: st, Clock: r.deps.Clock, Logger: r.log.With("component", "mfa"), OnChange: onChange})
	r.mfa[name] = s
	return s
}

// notifyOnce reports whether the user is yet to be told that session
// needs them, and marks it told.
func (r *sessionRegistry) notifyOnce(session string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := !r.notified[session]
	r.notified[session] = true
	return first
}

// renotify has the user told again the next time session needs them: it
// was signed in since they were last told.
func (r *sessionRegistry) renotify(session string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notified[session] = false
}

// forgetMFA ends the MFA sessions named (every one when name is ""): in
// memory and in the store. Their OnChange drops what their profiles
// hold.
func (r *sessionRegistry) forgetMFA(ctx context.Context, name string) ([]string, error) {
	r.mu.Lock()
	var ss []*mfa.Session
	for k, s := range r.mfa {
		if name == "" || k == name {
			ss = append(ss, s)
			r.notified[k] = true // a logout is no reason to notify
		}
	}
	r.mu.Unlock()
	var removed []string
	for _, s := range ss {
		if _, _ = s.Credentials(ctx); s.Expiry().IsZero() {
			continue // none in memory or in the store
		}
		if err := s.Forget(ctx); err != nil {
			return removed, fmt.Errorf("forgetting MFA session %s: %w", s.Name(), err)
		}
		removed = append(removed, s.Name())
	}
	return removed, nil
}

// mfaState is the state `credd status` shows for an MFA session in use:
// signed-in while it lasts, mfa-required once it ended or STS refused the
// last code.
func mfaState(s *mfa.Session, profile string) (state, why string) {
	if _, ok := s.Credentials(context.Background()); ok {
		return "signed-in", ""
	}
	if err := s.Refused(); err != nil {
		return "mfa-required", fmt.Sprintf("%v: run `credd login --profile %s` with a new code", err, profile)
	}
	return "mfa-required", fmt.Sprintf("the MFA session ended: run `credd login --profile %s` with a new code", profile)
}

// mfaChanged runs after an MFA session started, was refused, or was
// forgotten: the session listing follows, and a forgotten session's
// profiles stop serving what it gave.
func (d *Daemon) mfaChanged(s *mfa.Session) {
	end := s.Expiry()
	d.sessions.note(s.Name(), end)
	if !end.IsZero() {
		if s.Refused() == nil {
			d.sessions.renotify(s.Name()) // started: its next end is news again
		}
		return
	}
	if s.Refused() != nil {
		return // the session, if any, stays
	}
	for _, e := range d.entriesOnMFA(s.Name()) {
		e.r.Drop(cred.Errorf(cred.ErrMFARequired, "the MFA session %s was forgotten (credd logout): run `credd login --profile %s` with a new code", s.Name(), e.r.Profile()))
	}
}

// needCode is the answer of a profile whose MFA session is missing or
// over: the command to run, and a desktop notification the first time.
func (d *Daemon) needCode(s *mfa.Session, profile string) error {
	why := "no MFA session yet"
	if end := s.Expiry(); !end.IsZero() {
		why = "its MFA session ended at " + end.UTC().Format(time.RFC3339)
	}
	if r := s.Refused(); r != nil {
		why = "STS refused the last code"
	}
	err := cred.Errorf(cred.ErrMFARequired, "profile %s needs a code of MFA device %s (%s): run `credd login --profile %s`", profile, s.Serial(), why, profile)
	if d.sessions.notifyOnce(s.Name()) {
		d.log.Warn("MFA code needed", "session", s.Name(), "profile", profile)
		if d.deps.Notifier != nil {
			d.deps.Notifier.Notify("credd: MFA code needed", fmt.Sprintf("Profile %s needs a code of your MFA device: run `credd login --profile %s`", profile, profile))
		}
	}
	return err
}

// mfaChain serves a profile whose credentials rest on IAM user keys with
// an MFA device: the keys' MFA session (started with a code, shared by
// every profile on the same keys and device), then each role of Hops
// assumed from it in turn. No call is ever made with the keys but
// GetSessionToken with a code.
type mfaChain struct {
	d        *Daemon
	profile  string           // the credd profile served
	keys     source.Retriever // the long-term keys
	serial   string
	process  string // mfa_process; "": codes are typed
	duration time.Duration
	timeout  time.Duration // bounds mfa_process
	sts      awsapi.Config
	hops     []source.RoleHop
	roleName string // role session name when a hop sets none
	// problem is why the profile cannot be served with MFA (a chain of
	// the shared files that cannot carry it); nothing is called then.
	problem error
	// session is the name of the MFA session last resolved (its keys'
	// access key ID is known only once they are read).
	session atomic.Pointer[string]
}

// resolve reads the long-term keys and finds their MFA session.
func (m *mfaChain) resolve(ctx context.Context) (*mfa.Session, cred.Credentials, error) {
	if m.problem != nil {
		return nil, cred.Credentials{}, m.problem
	}
	keys, err := m.keys.Retrieve(ctx)
	if err != nil {
		return nil, cred.Credentials{}, fmt.Errorf("the IAM user keys of profile %s: %w", m.profile, err)
	}
	if keys.Temporary() {
		return nil, cred.Credentials{}, fmt.Errorf("profile %s: mfa_serial %s needs IAM user keys (long-term), but its source gives temporary credentials", m.profile, m.serial)
	}
	s := m.d.sessions.mfaSession(keys.AccessKeyID, m.serial, m.profile, m.d.mfaChanged)
	name := s.Name()
	m.session.Store(&name)
	return s, keys, nil
}

// client is the STS client signed with the long-term keys.
func (m *mfaChain) client(keys cred.Credentials) mfa.SessionTokenGetter {
	return sts.NewFromConfig(m.sts.AWS(awsapi.Static(keys)))
}

func (m *mfaChain) processCode(ctx context.Context) (string, error) {
	return mfa.Process{Command: m.process, Timeout: m.timeout}.Code(ctx)
}

// Retrieve serves the profile: from the MFA session if one is in force,
// else (with mfa_process, unless STS refused its last code) from one
// started with the code the command prints; else it says to run `credd
// login --profile X`.
func (m *mfaChain) Retrieve(ctx context.Context) (cred.Credentials, error) {
	s, keys, err := m.resolve(ctx)
	if err != nil {
		return cred.Credentials{}, err
	}
	c, ok := s.Credentials(ctx)
	if !ok {
		if m.process == "" || s.Refused() != nil {
			return cred.Credentials{}, m.d.needCode(s, m.profile)
		}
		c, err = s.Start(ctx, m.client(keys), m.processCode, m.duration, true)
		if errors.Is(err, mfa.ErrCodeRefused) {
			return cred.Credentials{}, fmt.Errorf("%w: %w", m.d.needCode(s, m.profile), err)
		}
		if err != nil {
			return cred.Credentials{}, fmt.Errorf("profile %s: %w", m.profile, err)
		}
	}
	return m.assume(ctx, c)
}

// assume takes each role of the chain in turn from the MFA session's
// credentials. Every hop is role chaining (signed with temporary
// credentials): STS caps it at an hour, and source.AssumeRole asks no more.
func (m *mfaChain) assume(ctx context.Context, c cred.Credentials) (cred.Credentials, error) {
	for _, h := range m.hops {
		name := h.SessionName
		if name == "" {
			name = m.roleName
		}
		d := h.Duration
		if d == 0 {
			d = config.DefaultDuration
		}
		signer := c
		a := &source.AssumeRole{Profile: h.Profile, Signer: source.RetrieverFunc(func(context.Context) (cred.Credentials, error) { return signer, nil }),
			STS: m.sts, RoleARN: h.RoleARN, SessionName: name, ExternalID: h.ExternalID, SourceIdentity: h.SourceIdentity, Duration: d}
		var err error
		if c, err = a.Retrieve(ctx); err != nil {
			return cred.Credentials{}, fmt.Errorf("profile %s: %w", m.profile, err)
		}
	}
	return c, nil
}

// mfaChainOf is the MFA chain profile rests on: its own, or that of the
// first profile of its source_profile chain that has one.
func mfaChainOf(g *generation, profile string) *mfaChain {
	for range len(g.cfg.Profiles) + 1 {
		e, ok := g.entries[profile]
		if !ok {
			return nil
		}
		if e.mfaChain != nil {
			return e.mfaChain
		}
		profile = g.cfg.Profiles[profile].SourceProfile
	}
	return nil
}

// entriesOnMFA lists the profiles whose credentials last came through the
// MFA session named session.
func (d *Daemon) entriesOnMFA(session string) []*entry {
	g := d.gen.Load()
	var out []*entry
	for _, name := range g.names {
		if m := mfaChainOf(g, name); m != nil {
			if s := m.session.Load(); s != nil && *s == session {
				out = append(out, g.entries[name])
			}
		}
	}
	return out
}

// MFALogin starts the MFA session req.Profile rests on, with req.Code or
// the code its mfa_process prints, then fetches every profile resting on
// that session again and says which are ready. Without a code or an
// mfa_process it only says a code is needed.
func (d *Daemon) MFALogin(ctx context.Context, req control.MFARequest) (control.MFAResult, error) {
	g := d.gen.Load()
	res := control.MFAResult{Profile: req.Profile}
	if _, ok := g.entries[req.Profile]; !ok {
		return res, cred.Errorf(cred.ErrUnknownProfile, "no profile %q", req.Profile)
	}
	m := mfaChainOf(g, req.Profile)
	if m == nil {
		return res, nil
	}
	res.MFA, res.Serial = true, m.serial
	if req.Code != "" {
		if err := mfa.CheckCode(req.Code); err != nil {
			return res, err
		}
	} else if m.process == "" {
		res.NeedCode = true
		return res, nil
	}
	s, keys, err := m.resolve(ctx)
	if err != nil {
		return res, err
	}
	code := m.processCode
	if req.Code != "" {
		code = func(context.Context) (string, error) { return req.Code, nil }
	}
	if _, err := s.Start(ctx, m.client(keys), code, m.duration, false); err != nil {
		return res, fmt.Errorf("profile %s: %w", req.Profile, err)
	}
	res.Session, res.Expires = s.Name(), timePtr(s.Expiry())
	// Every profile resting on the session (resolved already, or now)
	// fetches again from it.
	var ready []*entry
	depth := map[*entry]int{}
	for _, name := range g.names {
		if c := mfaChainOf(g, name); c != nil {
			if c.session.Load() == nil && c.problem == nil {
				_, _, _ = c.resolve(ctx)
			}
			if n := c.session.Load(); n != nil && *n == s.Name() {
				e := g.entries[name]
				ready = append(ready, e)
				for p := name; g.entries[p] != nil && g.entries[p].mfaChain == nil && depth[e] <= len(g.names); p = g.cfg.Profiles[p].SourceProfile {
					depth[e]++
				}
			}
		}
	}
	// Sources first: a role fetched again asks its source profile, which
	// must have left its wait for a code by then.
	slices.SortStableFunc(ready, func(a, b *entry) int { return depth[a] - depth[b] })
	for _, e := range ready {
		e.r.Kick()
	}
	for _, e := range ready {
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := e.r.Current(fctx)
		cancel()
		if err == nil {
			res.Ready = append(res.Ready, e.r.Profile())
		} else {
			res.NotReady = append(res.NotReady, control.ProfileError{Profile: e.r.Profile(), Error: err.Error()})
		}
	}
	slices.SortFunc(res.Ready, compareNatural)
	slices.SortFunc(res.NotReady, func(a, b control.ProfileError) int { return compareNatural(a.Profile, b.Profile) })
	return res, nil
}

// mfaChainFor builds the MFA chain of profile name, or returns nil when
// name needs none of its own: no mfa_serial in its credd profile or in
// the shared AWS files it reads, or a source profile whose credentials
// carry MFA already.
func (b *builder) mfaChainFor(name string) *mfaChain {
	p := b.cfg.Profiles[name]
	var keysProfile config.Profile // the aws_profile profile with the keys
	var keysName string
	switch {
	case p.Source() == config.SourceAWSProfile:
		keysProfile, keysName = p, name
	case p.Source() == config.SourceAssumeRole && p.MFASerial != "":
		sp, ok := b.cfg.Profiles[p.SourceProfile]
		if !ok || sp.Source() != config.SourceAWSProfile {
			return nil // validation refuses it
		}
		keysProfile, keysName = sp, p.SourceProfile
	default:
		return nil
	}
	o := source.MFAOverride{Serial: p.MFASerial, Process: p.MFAProcess}
	if o.Serial == "" && keysName != name {
		o.Serial = keysProfile.MFASerial
	}
	if o.Process == "" {
		o.Process = keysProfile.MFAProcess
	}
	var plan source.MFAPlan
	var ok bool
	var err error
	if b.shared != nil {
		plan, ok, err = source.PlanMFA(b.shared.Lookup, keysProfile.AWSProfile, o)
	}
	if !ok && o.Serial == "" {
		return nil
	}
	if !ok {
		// Not in the shared files: the SDK says so when the keys are read.
		plan = source.MFAPlan{Serial: o.Serial, Process: o.Process, KeysProfile: keysProfile.AWSProfile}
	}
	d := p.MFADuration()
	if p.MFASessionDuration.Duration == 0 {
		d = keysProfile.MFADuration()
	}
	roleName := p.RoleSessionName
	if roleName == "" {
		roleName = source.SessionName(b.deps.UserName)
	}
	m := &mfaChain{d: b.d, profile: name, serial: plan.Serial, process: plan.Process, duration: d,
		timeout: b.d.policy(b.cfg).FetchTimeout, sts: b.sts(), hops: plan.Hops, roleName: roleName, problem: err}
	if plan.KeysProfile == keysProfile.AWSProfile {
		m.keys = b.awsProfile(keysName).Signer()
	} else {
		region := keysProfile.Region
		if region == "" {
			region = b.cfg.STS.Region
		}
		m.keys = (&source.AWSProfile{Name: plan.KeysProfile, ConfigFiles: b.deps.AWSConfigFiles, CredentialFiles: b.deps.AWSCredentialFiles,
			DefaultRegion: region, HTTPClient: b.deps.HTTPClient, View: b.view(plan.KeysProfile), FetchTimeout: m.timeout}).Signer()
	}
	if err != nil {
		m.problem = cred.Errorf(cred.ErrInvalid, "%v", err)
	}
	return m
}
