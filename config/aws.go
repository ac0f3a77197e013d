package config

// AWSProfiles is the configuration without a file: every profile of the
// shared AWS files (names) served under its own name, resolved by the AWS
// SDK (aws_profile). The default profile is preferred (AWS_PROFILE) if it
// is one of them, else "default" if there is one. skipped lists the
// profiles whose names credd cannot serve.
func AWSProfiles(names []string, preferred string) (profiles map[string]Profile, def string, skipped []string) {
	profiles = make(map[string]Profile, len(names))
	for _, n := range names {
		profiles[n] = Profile{AWSProfile: n}
	}
	// Each profile is checked on its own, as Validate checks it: checking
	// a one-profile configuration per name cost a whole Validate (listen
	// address, regions, ...) each, which at thousands of profiles was most
	// of what a start or `credd status` did.
	probe := Default()
	probe.Profiles = profiles
	v := &validator{}
	for _, n := range names {
		before := len(v.errs)
		if v.profile(&probe, n); len(v.errs) > before {
			skipped = append(skipped, n)
		}
	}
	for _, n := range skipped {
		delete(profiles, n)
	}
	for _, n := range []string{preferred, "default"} {
		if _, ok := profiles[n]; ok && n != "" {
			return profiles, n, skipped
		}
	}
	return profiles, "", skipped
}
