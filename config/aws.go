package config

// AWSProfiles is the configuration without a file: every profile of the
// shared AWS files (names) served under its own name, resolved by the AWS
// SDK (aws_profile). The default profile is preferred (AWS_PROFILE) if it
// is one of them, else "default" if there is one. skipped lists the
// profiles whose names credd cannot serve.
func AWSProfiles(names []string, preferred string) (profiles map[string]Profile, def string, skipped []string) {
	profiles = map[string]Profile{}
	for _, n := range names {
		probe := Default()
		probe.Profiles = map[string]Profile{n: {AWSProfile: n}}
		if probe.Validate() != nil {
			skipped = append(skipped, n)
			continue
		}
		profiles[n] = Profile{AWSProfile: n}
	}
	for _, n := range []string{preferred, "default"} {
		if _, ok := profiles[n]; ok && n != "" {
			return profiles, n, skipped
		}
	}
	return profiles, "", skipped
}
