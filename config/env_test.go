package config

import (
	"fmt"
	"testing"
)

func TestUnknownEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		want    []UnknownVar
	}{
		{"none", []string{"PATH=/bin", "CREDD_LISTEN=127.0.0.1:1", "CREDD_CONFIG=/c", "CREDD_IMDS_ALLOW_V1=false"}, nil},
		{"CI and test variables are known", []string{"CREDD_REQUIRE_PEERS=1", "CREDD_CONTAINER_TEST=netns", "CREDD_MINIO_BIN=/m", "CREDD_CI_CACHE=/c", "CREDD_TEST_REAL_KEYRING=1", "CREDD_STORE_CRASH_CHILD_DIR=/d", "CREDD_CREDPROC_BIN=/h", "CREDD_E2E_BIN=/b"}, nil},
		{"a typo", []string{"CREDD_LISTN=127.0.0.1:1"}, []UnknownVar{{"CREDD_LISTN", "CREDD_LISTEN"}}},
		{"several, sorted", []string{"CREDD_STATEDIR=/s", "CREDD_IMDS_ALLOW_V2=true", "CREDD_REQUIRE_PEER=1"},
			[]UnknownVar{{"CREDD_IMDS_ALLOW_V2", "CREDD_IMDS_ALLOW_V1"}, {"CREDD_REQUIRE_PEER", "CREDD_REQUIRE_PEERS"}, {"CREDD_STATEDIR", "CREDD_STATE_DIR"}}},
		{"only the CREDD_ prefix counts", []string{"CREDDLISTEN=x", "MY_CREDD_LISTN=x", "credd_listen=x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := UnknownEnv(tc.environ)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("UnknownEnv = %v, want %v", got, tc.want)
			}
		})
	}
}
