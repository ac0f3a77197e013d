package source

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credd/credd/awsfile"
)

// SharedProfile is one profile of the shared AWS files, as far as MFA
// resolution reads it.
type SharedProfile interface {
	// Get is the value of key (lowercase) and whether the profile has it.
	Get(key string) (string, bool)
}

// SharedLookup finds a profile of the shared AWS files by name.
type SharedLookup func(name string) (SharedProfile, bool)

// MFAPlan is how a profile of the shared AWS files is served when it
// needs MFA: an MFA session (sts:GetSessionToken with a code of Serial)
// on the long-term keys of KeysProfile, then the role of each hop, in
// order, each assumed with the credentials of the one before. With no
// hops the MFA session's credentials are served themselves.
type MFAPlan struct {
	Serial      string
	Process     string // mfa_process; "" when codes are typed
	KeysProfile string
	Hops        []RoleHop
}

// RoleHop is one role of a source_profile chain of the shared AWS files.
type RoleHop struct {
	Profile        string
	RoleARN        string
	ExternalID     string
	SessionName    string
	SourceIdentity string
	Duration       time.Duration // duration_seconds; 0: not set
}

// MFAOverride is what credd's own configuration adds to a profile of the
// shared AWS files: mfa_serial and mfa_process set there win.
type MFAOverride struct {
	Serial, Process string
}

// PlanMFA reads profile and its source_profile chain in the shared AWS
// files. ok is false when nothing asks for MFA (neither override nor
// mfa_serial on any profile of the chain): the SDK resolves the profile
// as it always did. Otherwise the plan says how credd serves it, or the
// error says why it cannot be served with MFA — it is never served
// without.
//
// mfa_serial may be set on the profile with the keys (aws-vault's way) or
// on any role of the chain (the AWS CLI's way); in both, credd makes one
// MFA session on the keys and assumes every role from it. mfa_process is
// taken from the same profiles.
func PlanMFA(lookup SharedLookup, profile string, o MFAOverride) (MFAPlan, bool, error) {
	plan := MFAPlan{Serial: o.Serial, Process: o.Process}
	var serialFrom string // the profile that named plan.Serial, for messages
	if o.Serial != "" {
		serialFrom = "credd's configuration"
	}
	var hops []RoleHop
	seen := map[string]bool{}
	var problem error
	for cur, via := profile, ""; ; {
		p, ok := lookup(cur)
		if !ok {
			if via == "" {
				return MFAPlan{}, false, nil // the SDK reports a missing profile
			}
			problem = fmt.Errorf("profile %s names source_profile %s, which is not in the shared AWS files", via, cur)
			break
		}
		seen[cur] = true
		get := func(k string) string { v, _ := p.Get(k); return strings.TrimSpace(v) }
		if s := get("mfa_serial"); s != "" && o.Serial == "" {
			switch {
			case plan.Serial == "":
				plan.Serial, serialFrom = s, "profile "+cur
			case plan.Serial != s:
				problem = fmt.Errorf("profiles %s and %s name different MFA devices (%s, %s); credd makes one MFA session on the keys: keep one mfa_serial", strings.TrimPrefix(serialFrom, "profile "), cur, plan.Serial, s)
			}
		}
		if proc := get("mfa_process"); proc != "" && plan.Process == "" {
			plan.Process = proc
		}
		roleARN := get("role_arn")
		if roleARN == "" {
			plan.KeysProfile = cur
			if problem == nil {
				problem = notKeys(cur, get)
			}
			break
		}
		hop := RoleHop{Profile: cur, RoleARN: roleARN, ExternalID: get("external_id"), SessionName: get("role_session_name"), SourceIdentity: get("source_identity")}
		if d := get("duration_seconds"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil || n < 900 || n > 43200 {
				problem = fmt.Errorf("profile %s: duration_seconds must be 900..43200, got %q", cur, d)
			}
			hop.Duration = time.Duration(n) * time.Second
		}
		hops = append(hops, hop)
		src := get("source_profile")
		switch {
		case get("credential_source") != "":
			problem = fmt.Errorf("profile %s takes its source credentials from %s (credential_source), not from IAM user keys", cur, get("credential_source"))
		case get("web_identity_token_file") != "":
			problem = fmt.Errorf("profile %s assumes its role with a web identity token, not with IAM user keys", cur)
		case src == "":
			problem = fmt.Errorf("profile %s has role_arn but no source_profile", cur)
		case src == cur:
			// A role profile with keys of its own signs with them.
			plan.KeysProfile = cur
			if problem == nil {
				problem = notKeys(cur, get)
			}
		case seen[src]:
			problem = fmt.Errorf("the source_profile chain of %s loops at %s", profile, src)
		}
		if problem != nil || plan.KeysProfile != "" {
			break
		}
		via, cur = cur, src
	}
	if plan.Serial == "" {
		return MFAPlan{}, false, nil
	}
	if problem != nil {
		return MFAPlan{}, true, fmt.Errorf("AWS profile %s needs MFA (mfa_serial %s, from %s), which credd gets with an MFA session on IAM user keys: %w", profile, plan.Serial, serialFrom, problem)
	}
	// From the keys outwards.
	for i, j := 0, len(hops)-1; i < j; i, j = i+1, j-1 {
		hops[i], hops[j] = hops[j], hops[i]
	}
	plan.Hops = hops
	return plan, true, nil
}

// notKeys says why a profile at the root of a chain holds no IAM user
// keys, or nil when it may (static keys, or a credential_process, which
// is asked and must answer long-term keys).
func notKeys(name string, get func(string) string) error {
	switch {
	case get("aws_access_key_id") != "" || get("credential_process") != "":
		return nil
	case get("sso_session") != "" || get("sso_start_url") != "":
		return fmt.Errorf("profile %s signs in through IAM Identity Center, which does its own MFA", name)
	case get("login_session") != "":
		return fmt.Errorf("profile %s signs in with `aws login`, which does its own MFA", name)
	}
	return fmt.Errorf("profile %s has no IAM user keys (aws_access_key_id)", name)
}

// Lookup is a SharedLookup of the files: a profile's keys as the Go SDK
// reads them, the credentials file's before the config file's.
func (s *SharedFiles) Lookup(name string) (SharedProfile, bool) {
	var p sharedProfile
	names := []string{"profile " + name}
	if name == "default" {
		names = []string{"default", "profile default"} // the latter wins, as in the SDK
	}
	found := false
	for _, n := range names {
		if lines, ok := s.config[n]; ok {
			p.config, found = append(p.config, lines...), true
		}
	}
	if lines, ok := s.creds[name]; ok {
		p.creds, found = lines, true
	}
	return p, found
}

// sharedProfile is one profile's lines in the two files.
type sharedProfile struct{ config, creds []awsfile.Line }

func (p sharedProfile) Get(key string) (string, bool) {
	for _, lines := range [][]awsfile.Line{p.creds, p.config} {
		v, ok := "", false
		for _, l := range lines {
			if l.Kind == awsfile.Option && l.Name == key {
				v, ok = awsfile.GoSDKValue(l.Value()), true // the last one wins
			}
		}
		if ok {
			return v, true
		}
	}
	return "", false
}
