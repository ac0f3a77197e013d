package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	reAccountID = regexp.MustCompile(`^\d{12}$`)
	reRegion    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	reARN       = regexp.MustCompile(`^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:\S+$`)
	// Bounded repetitions ({2,64}) compile to a program the size of the
	// bound, at every start: the bounds are checked as lengths instead.
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]+$`) // 2..64: sessionName
	reName        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@/+-]*$`)
	reClient      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) // 1..64: clientName
	reUser        = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@$\\ -]*$`)
	// reMFASerial is STS's SerialNumber: an MFA device's ARN
	// (arn:aws:iam::123456789012:mfa/name) or a hardware token's serial.
	reMFASerial = regexp.MustCompile(`^[\w+=/:,.@-]+$`) // 9..256: mfaSerial
	// reLoginSession is an AWS Sign-In session: the ID token's sub, the
	// ARN of the user or role session that signed in.
	reLoginSession = regexp.MustCompile(`^arn:aws[a-z-]*:(sts|iam)::\d{12}:[\w+=,.@/-]+$`)
)

// LoginSessionARN reports whether s may be a login_session: the ARN of an
// IAM user, root, or role session, with its account.
func LoginSessionARN(s string) bool { return len(s) <= 2048 && reLoginSession.MatchString(s) }

// Limits from STS and the console federation endpoint.
const (
	MinDuration    = 15 * time.Minute
	MaxDuration    = 12 * time.Hour
	MaxSessionTags = 50
	MaxHopLimit    = 64
	// refresh.fetch_timeout's range.
	MinFetchTimeout = time.Second
	MaxFetchTimeout = time.Hour
	// GetSessionToken's range for IAM users.
	MinMFASessionDuration = 15 * time.Minute
	MaxMFASessionDuration = 36 * time.Hour
	minConsoleDuration    = 15 * time.Minute
	maxConsoleDuration    = 12 * time.Hour
)

// Validate checks the whole configuration and returns every problem at once
// as Errors, sorted by key, or nil.
func (c *Config) Validate() error {
	v := &validator{}
	v.listen("listen", c.Listen, true)
	v.users(c.AllowUsers)
	v.cidrs("allow_clients", c.AllowClients)
	seen := map[string]string{c.Listen: "listen"}
	bare := false // a listener relying on the top-level allow_clients
	for i, l := range c.ExtraListen {
		key := fmt.Sprintf("extra_listen[%d]", i)
		if l.AllowClients != nil || l.Profile != "" || l.Client != "" {
			key += ".address"
		}
		v.listen(key, l.Address, false)
		if prev, dup := seen[l.Address]; dup && l.Address != "" {
			v.add(key, "%s is also %s", l.Address, prev)
		}
		seen[l.Address] = key
		lkey := fmt.Sprintf("extra_listen[%d]", i)
		v.cidrs(lkey+".allow_clients", l.AllowClients)
		bare = bare || len(l.AllowClients) == 0
		if _, ok := c.Profiles[l.Profile]; l.Profile != "" && len(c.Profiles) > 0 && !ok {
			v.add(lkey+".profile", "names no profile: %q (profiles: %s)", l.Profile, strings.Join(slices.Sorted(maps.Keys(c.Profiles)), ", "))
		}
		if _, ok := c.Clients[l.Client]; l.Client != "" && !ok {
			v.add(lkey+".client", "names no client: %q (add it under clients, e.g. clients: {%s: {profiles: [dev]}})", l.Client, l.Client)
		}
	}
	if bare && len(c.AllowClients) == 0 {
		v.add("allow_clients", "must list the client networks allowed on extra_listen (e.g. [172.17.0.0/16]), or each extra_listen entry its own allow_clients")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Clients)) {
		key := "clients." + name
		if !clientName(name) || name == DefaultClient {
			v.add(key, "a client name is 1 to 64 of a-z, 0-9, _ and -, and not %q (the owner token's name)", DefaultClient)
		}
		if len(c.Clients[name].Profiles) == 0 {
			v.add(key+".profiles", "must list the profiles this client may take, e.g. [dev]")
		}
		for i, p := range c.Clients[name].Profiles {
			if _, ok := c.Profiles[p]; len(c.Profiles) > 0 && !ok {
				v.add(fmt.Sprintf("%s.profiles[%d]", key, i), "names no profile: %q (profiles: %s)", p, strings.Join(slices.Sorted(maps.Keys(c.Profiles)), ", "))
			}
		}
	}
	switch c.SessionStore {
	case "auto", "keyring", "file", "memory":
	default:
		v.add("session_store", "must be one of auto, keyring, file, memory, got %q", c.SessionStore)
	}
	if c.DefaultProfile != "" && len(c.Profiles) > 0 {
		if _, ok := c.Profiles[c.DefaultProfile]; !ok {
			v.add("default_profile", "names no profile: %q (profiles: %s)", c.DefaultProfile, strings.Join(slices.Sorted(maps.Keys(c.Profiles)), ", "))
		}
	}
	if c.IMDS.HopLimit < 1 || c.IMDS.HopLimit > MaxHopLimit {
		v.add("imds.hop_limit", "must be between 1 and %d, got %d", MaxHopLimit, c.IMDS.HopLimit)
	}
	v.positive("refresh.ahead", c.Refresh.Ahead)
	v.positive("refresh.idle_after", c.Refresh.IdleAfter)
	if ft := c.Refresh.FetchTimeout; ft.bad || ft.Duration <= 0 {
		v.positive("refresh.fetch_timeout", ft)
	} else {
		v.rangeDur("refresh.fetch_timeout", ft, MinFetchTimeout, MaxFetchTimeout)
	}
	v.region("sts.region", c.STS.Region, true)
	v.url("sts.endpoint", c.STS.Endpoint, false)
	v.url("iam.endpoint", c.IAM.Endpoint, false)
	v.url("console.federation_endpoint", c.Console.FederationEndpoint, false)
	v.url("signin.endpoint", c.SignIn.Endpoint, false)
	switch c.SignInOnDemand {
	case OnDemandNotify, OnDemandBrowser, OnDemandOff:
	default:
		v.add("sign_in_on_demand", "must be one of notify, browser, off, got %q", c.SignInOnDemand)
	}
	v.positive("sign_in_on_demand_backoff", c.SignInOnDemandBackoff)

	for _, name := range slices.Sorted(maps.Keys(c.SSOSessions)) {
		s, key := c.SSOSessions[name], "sso_sessions."+name
		v.name(key, name)
		v.url(key+".start_url", s.StartURL, true)
		v.region(key+".region", s.Region, true)
		v.flow(key+".flow", s.Flow)
		v.url(key+".endpoint", s.Endpoint, false)
	}
	for _, name := range slices.Sorted(maps.Keys(c.IdentityProviders)) {
		p, key := c.IdentityProviders[name], "identity_providers."+name
		v.name(key, name)
		v.url(key+".issuer", p.Issuer, true)
		if p.ClientID == "" {
			v.add(key+".client_id", "is required")
		}
		v.flow(key+".flow", p.Flow)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		v.profile(c, name)
	}
	v.cycles(c)
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Key < v.errs[j].Key })
	return v.errs
}

// Brief is problems in one line of at most max bytes: the first, and how
// many more there are.
func Brief(problems error, max int) string {
	first, more := problems.Error(), 0
	if es, ok := AsErrors(problems); ok && len(es) > 0 {
		first, more = es[0].Error(), len(es)-1
	}
	if more > 0 {
		first += fmt.Sprintf(" (and %d more)", more)
	}
	if first = strings.Join(strings.Fields(first), " "); len(first) > max {
		first = first[:max-1] + "…"
	}
	return first
}

// Merge reports, as one Errors sorted by key, the problems found while
// reading a configuration (found: from Parse and Set) and those Validate
// reported (validateErr), or nil when there are none. A Validate problem
// at or under a key that already has a problem is left out: it follows
// from that one (a profile that is not a mapping has no source either).
// A validateErr that is not Errors is returned as it is.
func Merge(found Errors, validateErr error) error {
	vs, ok := AsErrors(validateErr)
	if validateErr != nil && !ok {
		return validateErr
	}
	all := append(Errors(nil), found...)
	for _, v := range vs {
		if !slices.ContainsFunc(found, func(f FieldError) bool { return within(v.Key, f.Key) }) {
			all = append(all, v)
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Key < all[j].Key })
	return all
}

// within reports whether key is parent or lies under it.
func within(key, parent string) bool {
	if !strings.HasPrefix(key, parent) {
		return false
	}
	rest := key[len(parent):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

type validator struct{ errs Errors }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) listen(key, addr string, loopbackOnly bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(key, "must be host:port such as 127.0.0.1:9955, got %q", addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.add(key, "port must be a number from 0 to 65535, got %q", port)
		return
	}
	if host == "localhost" {
		return
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		v.add(key, "host must be an IP address or localhost, got %q", host)
		return
	}
	if loopbackOnly && !ip.IsLoopback() {
		v.add(key, "must be a loopback address (got %s); to serve other interfaces add them to extra_listen with allow_clients", host)
	}
}

func (v *validator) cidrs(key string, cidrs []string) {
	for i, s := range cidrs {
		if _, err := netip.ParsePrefix(s); err != nil {
			v.add(fmt.Sprintf("%s[%d]", key, i), "must be a CIDR such as 172.17.0.0/16, got %q", s)
		}
	}
}

// users checks allow_users: self, UIDs, user names (or, on Windows,
// DOMAIN\name and SIDs). Whether a name exists is the daemon's question.
func (v *validator) users(users []string) {
	if len(users) == 0 {
		v.add("allow_users", "must list the local users whose connections are served, e.g. [self]")
	}
	for i, u := range users {
		if !reUser.MatchString(u) {
			v.add(fmt.Sprintf("allow_users[%d]", i), "must be self, a UID or a user name, got %q", u)
		}
	}
}

func (v *validator) positive(key string, d Duration) {
	switch {
	case d.bad:
		v.add(key, "invalid duration %q (use e.g. 20m or 1h30m)", d.raw)
	case d.Duration <= 0:
		v.add(key, "must be a positive duration, got %s", d)
	}
}

func (v *validator) rangeDur(key string, d Duration, lo, hi time.Duration) {
	switch {
	case d.bad:
		v.add(key, "invalid duration %q (use e.g. 1h or 90m)", d.raw)
	case d.Duration != 0 && (d.Duration < lo || d.Duration > hi):
		v.add(key, "must be between %s and %s, got %s", Dur(lo), Dur(hi), d)
	}
}

func (v *validator) region(key, r string, required bool) {
	if r == "" {
		if required {
			v.add(key, "is required (e.g. us-east-1)")
		}
		return
	}
	if !reRegion.MatchString(r) {
		v.add(key, "is not an AWS region such as eu-west-1, got %q", r)
	}
}

func (v *validator) url(key, s string, required bool) {
	if s == "" {
		if required {
			v.add(key, "is required")
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(key, "must be an http(s) URL, got %q", s)
		return
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		v.add(key, "must use https (plain http is accepted only for loopback test servers), got %q", s)
	}
}

func (v *validator) flow(key, f string) {
	switch f {
	case "", "browser", "device":
	default:
		v.add(key, "must be browser or device, got %q", f)
	}
}

// maxNameLen keeps a session's store key ("oidc/" + name) within the
// store's limit.
const maxNameLen = 64

func (v *validator) name(key, name string) {
	if !reName.MatchString(name) {
		v.add(key, "name may hold letters, digits and _ . @ / + - and must start with a letter or digit")
		return
	}
	if len(name) > maxNameLen {
		v.add(key, "name is longer than %d characters", maxNameLen)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			v.add(key, "name may not have empty, . or .. parts between slashes")
			return
		}
	}
}

func (v *validator) profile(c *Config, name string) {
	p, key := c.Profiles[name], "profiles."+name
	v.name(key, name)
	switch srcs := p.Sources(); len(srcs) {
	case 0:
		v.add(key, "needs exactly one source: sso_session, identity_provider, source_profile + role_arn, aws_profile, or login_session")
	case 1:
	default:
		names := make([]string, len(srcs))
		for i, s := range srcs {
			names[i] = string(s)
		}
		v.add(key, "has %d sources (%s); keep exactly one", len(srcs), strings.Join(names, " and "))
	}
	if p.SSOSession != "" {
		if _, ok := c.SSOSessions[p.SSOSession]; !ok {
			v.add(key+".sso_session", "names no entry of sso_sessions: %q", p.SSOSession)
		}
		if !reAccountID.MatchString(p.AccountID) {
			v.add(key+".account_id", "must be 12 digits, got %q", p.AccountID)
		}
		if p.RoleName == "" {
			v.add(key+".role_name", "is required with sso_session")
		}
	} else {
		if p.AccountID != "" {
			v.add(key+".account_id", "is only used with sso_session")
		}
		if p.RoleName != "" {
			v.add(key+".role_name", "is only used with sso_session")
		}
	}
	if p.IdentityProvider != "" {
		if _, ok := c.IdentityProviders[p.IdentityProvider]; !ok {
			v.add(key+".identity_provider", "names no entry of identity_providers: %q", p.IdentityProvider)
		}
	}
	if p.LoginSession != "" && !LoginSessionARN(p.LoginSession) {
		v.add(key+".login_session", "must be the ARN of the signed-in user that `aws login` names (arn:aws:sts::ACCOUNT:assumed-role/ROLE/NAME, or arn:aws:iam::ACCOUNT:user/NAME), got %q", p.LoginSession)
	}
	if p.SourceProfile != "" {
		if _, ok := c.Profiles[p.SourceProfile]; !ok {
			v.add(key+".source_profile", "names no profile: %q", p.SourceProfile)
		}
	}
	needsARN := p.SourceProfile != "" || (p.IdentityProvider != "" && p.SourceProfile == "")
	switch {
	case p.RoleARN == "" && needsARN:
		v.add(key+".role_arn", "is required with %s", p.Source())
	case p.RoleARN != "" && !needsARN:
		v.add(key+".role_arn", "is only used with source_profile or identity_provider")
	case p.RoleARN != "" && !reARN.MatchString(p.RoleARN):
		v.add(key+".role_arn", "is not an ARN (arn:PARTITION:iam::ACCOUNT:role/NAME), got %q", p.RoleARN)
	}
	if len(p.SessionTagsFromClaims) > 0 && (p.IdentityProvider == "" || p.SourceProfile == "") {
		v.add(key+".session_tags_from_claims", "needs both source_profile and identity_provider (broker mode)")
	}
	if p.SourceProfile == "" {
		for _, k := range []struct{ key, val string }{{"external_id", p.ExternalID}, {"source_identity", p.SourceIdentity}} {
			if k.val != "" {
				v.add(key+"."+k.key, "is only used with source_profile + role_arn")
			}
		}
		if len(p.SessionTags) > 0 {
			v.add(key+".session_tags", "is only used with source_profile + role_arn")
		}
	}
	if n := len(p.SessionTags) + len(p.SessionTagsFromClaims); n > MaxSessionTags {
		v.add(key+".session_tags", "at most %d session tags, got %d", MaxSessionTags, n)
	}
	for _, t := range slices.Sorted(maps.Keys(p.SessionTags)) {
		if len(t) < 1 || len(t) > 128 || len(p.SessionTags[t]) > 256 {
			v.add(key+".session_tags."+t, "tag keys are 1..128 characters and values at most 256")
		}
	}
	for i, t := range p.TransitiveTagKeys {
		_, a := p.SessionTags[t]
		_, b := p.SessionTagsFromClaims[t]
		if !a && !b {
			v.add(fmt.Sprintf("%s.transitive_tag_keys[%d]", key, i), "%q is not a key of session_tags or session_tags_from_claims", t)
		}
	}
	if p.SourceIdentity != "" && !sessionName(p.SourceIdentity) {
		v.add(key+".source_identity", "must be 2..64 characters of letters, digits and +=,.@_-, got %q", p.SourceIdentity)
	}
	if p.RoleSessionName != "" && !sessionName(p.RoleSessionName) {
		v.add(key+".role_session_name", "must be 2..64 characters of letters, digits and +=,.@_-, got %q", p.RoleSessionName)
	}
	if p.ExternalID != "" && (len(p.ExternalID) < 2 || len(p.ExternalID) > 1224) {
		v.add(key+".external_id", "must be 2..1224 characters")
	}
	v.region(key+".region", p.Region, false)
	v.rangeDur(key+".duration", p.Duration, MinDuration, MaxDuration)
	v.rangeDur(key+".console.session_duration", p.Console.SessionDuration, minConsoleDuration, maxConsoleDuration)
	v.federationPolicy(key+".console", p)
	v.mfa(c, key, p)
}

// mfa checks mfa_serial, mfa_process and mfa_session_duration. They apply
// to IAM user keys, which aws_profile sources and the source_profile chains
// resting on them use; sign-ins (sso_session, identity_provider) do their
// own MFA at the identity provider. mfa_process and mfa_session_duration
// are accepted without mfa_serial on an aws_profile, or a chain, whose
// mfa_serial may be in ~/.aws/config.
func (v *validator) mfa(c *Config, key string, p Profile) {
	switch p.Source() {
	case SourceAWSProfile, SourceAssumeRole, SourceNone:
	default:
		for _, k := range []struct {
			name string
			set  bool
		}{{"mfa_serial", p.MFASerial != ""}, {"mfa_process", p.MFAProcess != ""}, {"mfa_session_duration", p.MFASessionDuration.raw != "" || p.MFASessionDuration.Duration != 0}} {
			if k.set {
				v.add(key+"."+k.name, "is only used with aws_profile or source_profile + role_arn (IAM user keys); %s sign-ins ask for MFA at the identity provider", p.Source())
			}
		}
		return
	}
	switch {
	case p.MFASerial == "":
	case !mfaSerial(p.MFASerial):
		v.add(key+".mfa_serial", "must be an MFA device's ARN (arn:aws:iam::ACCOUNT:mfa/NAME) or a hardware token's serial number, got %q", p.MFASerial)
	case p.Source() == SourceAssumeRole:
		// The MFA session is made on the keys: the source must hold them.
		if src, ok := c.Profiles[p.SourceProfile]; ok && src.Source() != SourceAWSProfile && src.Source() != SourceNone {
			v.add(key+".mfa_serial", "needs source_profile to be an aws_profile profile (IAM user keys), but %s is a %s profile: set mfa_serial on the profile that has the keys", p.SourceProfile, src.Source())
		}
	}
	if p.MFAProcess != "" && strings.TrimSpace(p.MFAProcess) == "" {
		v.add(key+".mfa_process", "must be a command that prints the MFA code")
	}
	v.rangeDur(key+".mfa_session_duration", p.MFASessionDuration, MinMFASessionDuration, MaxMFASessionDuration)
}

// Limits of sts:GetFederationToken's session policies.
const (
	maxPolicyARNs  = 10
	maxPolicyBytes = 2048
)

// clientName reports whether s may name a client: 1 to 64 of
// [a-z0-9_-], starting with a letter or digit.
func clientName(s string) bool { return len(s) <= 64 && reClient.MatchString(s) }

// sessionName reports whether s is a valid RoleSessionName or
// SourceIdentity: 2 to 64 of [\w+=,.@-].
func sessionName(s string) bool { return len(s) >= 2 && len(s) <= 64 && reSessionName.MatchString(s) }

// mfaSerial reports whether s is a valid SerialNumber: 9 to 256 of
// [\w+=/:,.@-].
func mfaSerial(s string) bool { return len(s) >= 9 && len(s) <= 256 && reMFASerial.MatchString(s) }

var rePolicyARN = regexp.MustCompile(`^arn:[a-z0-9-]+:iam::(aws|\d{12}):policy/\S+$`)

// federationPolicy checks console.policy and console.policy_arns, which
// only IAM user keys (aws_profile sources) use.
func (v *validator) federationPolicy(key string, p Profile) {
	if p.Console.Policy == "" && len(p.Console.PolicyARNs) == 0 {
		return
	}
	if p.Source() != SourceAWSProfile {
		for _, k := range []struct {
			name string
			set  bool
		}{{"policy", p.Console.Policy != ""}, {"policy_arns", len(p.Console.PolicyARNs) > 0}} {
			if k.set {
				v.add(key+"."+k.name, "is only used with aws_profile: IAM user keys sign in to the console through sts:GetFederationToken, which this policy bounds")
			}
		}
		return
	}
	if pol := p.Console.Policy; pol != "" {
		var doc map[string]any
		switch {
		case json.Unmarshal([]byte(pol), &doc) != nil:
			v.add(key+".policy", "must be an IAM policy document in JSON, e.g. '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}'")
		case doc["Statement"] == nil:
			v.add(key+".policy", "has no Statement")
		case len(pol) > maxPolicyBytes:
			v.add(key+".policy", "is %d characters; STS takes at most %d", len(pol), maxPolicyBytes)
		}
	}
	if n := len(p.Console.PolicyARNs); n > maxPolicyARNs {
		v.add(key+".policy_arns", "at most %d managed policies, got %d", maxPolicyARNs, n)
	}
	for i, arn := range p.Console.PolicyARNs {
		if !rePolicyARN.MatchString(arn) {
			v.add(fmt.Sprintf("%s.policy_arns[%d]", key, i), "is not a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess, got %q", arn)
		}
	}
}

// cycles reports source_profile chains that loop, once per loop.
func (v *validator) cycles(c *Config) {
	reported := map[string]bool{}
	for _, start := range slices.Sorted(maps.Keys(c.Profiles)) {
		seen := map[string]int{}
		var chain []string
		for name := start; name != ""; name = c.Profiles[name].SourceProfile {
			if _, ok := c.Profiles[name]; !ok {
				break
			}
			if i, ok := seen[name]; ok {
				loop := chain[i:]
				lowest := loop[0]
				for _, n := range loop {
					lowest = min(lowest, n)
				}
				if !reported[lowest] {
					reported[lowest] = true
					v.add("profiles."+lowest+".source_profile", "forms a cycle: %s -> %s", strings.Join(rotate(loop, lowest), " -> "), lowest)
				}
				break
			}
			seen[name] = len(chain)
			chain = append(chain, name)
		}
	}
}

func rotate(loop []string, first string) []string {
	for i, n := range loop {
		if n == first {
			return append(append([]string{}, loop[i:]...), loop[:i]...)
		}
	}
	return loop
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}
