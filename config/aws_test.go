package config

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

func TestAWSProfiles(t *testing.T) {
	for _, tc := range []struct {
		name      string
		names     []string
		preferred string
		want      []string
		wantDef   string
		skipped   []string
	}{
		{"AWS_PROFILE names one", []string{"default", "dev"}, "dev", []string{"default", "dev"}, "dev", nil},
		{"AWS_PROFILE names none: default", []string{"default", "dev"}, "gone", []string{"default", "dev"}, "default", nil},
		{"no default", []string{"dev", "ops"}, "", []string{"dev", "ops"}, "", nil},
		{"names credd cannot serve", []string{"dev", "has space", "a\tb"}, "", []string{"dev"}, "", []string{"has space", "a\tb"}},
		{"none", nil, "dev", []string{}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			profiles, def, skipped := AWSProfiles(tc.names, tc.preferred)
			if got := slices.Sorted(maps.Keys(profiles)); !slices.Equal(got, tc.want) || def != tc.wantDef || !reflect.DeepEqual(skipped, tc.skipped) {
				t.Errorf("got %q, default %q, skipped %q; want %q, %q, %q", got, def, skipped, tc.want, tc.wantDef, tc.skipped)
			}
			for n, p := range profiles {
				if !reflect.DeepEqual(p, Profile{AWSProfile: n}) {
					t.Errorf("profile %s = %+v, want aws_profile %s", n, p, n)
				}
			}
		})
	}
}
