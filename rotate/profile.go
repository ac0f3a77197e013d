package rotate

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
)

// ForProfile is the Rotator of credd profile name of cfg, which must be an
// aws_profile profile, and the keys it rotates: its AWS profile's in the
// shared files (Locate). Its clients sign in the profile's region, else
// the AWS profile's, else sts.region. An unknown profile is
// cred.ErrUnknownProfile; one that does not rest on keys credd can
// rotate, cred.ErrInvalid.
func ForProfile(ctx context.Context, cfg config.Config, name string, files awsfile.Paths, progress func(string)) (*Rotator, Keys, error) {
	p, ok := cfg.Profiles[name]
	if !ok {
		names := slices.Sorted(maps.Keys(cfg.Profiles))
		return nil, Keys{}, cred.Errorf(cred.ErrUnknownProfile, "no profile %q; configured profiles: %s", name, strings.Join(names, ", "))
	}
	if p.Source() != config.SourceAWSProfile {
		return nil, Keys{}, cred.Errorf(cred.ErrInvalid, "profile %s uses %s: credd rotate rotates the IAM user keys that aws_profile profiles rest on", name, p.Source())
	}
	keys, err := Locate(ctx, p.AWSProfile, files.Config, files.Credentials)
	if err != nil {
		return nil, keys, cred.Errorf(cred.ErrInvalid, "profile %s: %w", name, err)
	}
	region := cmp.Or(p.Region, keys.Region, cfg.STS.Region)
	return &Rotator{
		Clients: SDKClients{
			Region:      region,
			IAMEndpoint: cfg.IAM.Endpoint,
			STSConfig:   awsapi.Config{Region: region, Endpoint: cfg.STS.Endpoint},
		},
		Store:    keys.Store,
		Where:    keys.Where(),
		Progress: progress,
	}, keys, nil
}
