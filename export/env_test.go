package export

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
)

func TestContainerEnv(t *testing.T) {
	for _, tc := range []struct {
		name, listen, profile, region string
		uri                           string
	}{
		{"default profile", "127.0.0.1:9955", "", "", "http://127.0.0.1:9955/v1/credentials"},
		{"a profile and its region", "127.0.0.1:9955", "ops", "eu-west-1", "http://127.0.0.1:9955/v1/credentials/ops"},
		{"any IPv4 listener is reached on 127.0.0.1", "0.0.0.0:1234", "", "", "http://127.0.0.1:1234/v1/credentials"},
		{"IPv6 loopback", "[::1]:9955", "", "", "http://[::1]:9955/v1/credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ContainerEnv(tc.listen, tc.profile, "/state/token", []byte("tok"), tc.region)
			want := [][2]string{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", tc.uri}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/state/token"}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}}
			if tc.region != "" {
				want = append(want, [2]string{"AWS_REGION", tc.region}, [2]string{"AWS_DEFAULT_REGION", tc.region})
			}
			if !slices.Equal(e.Set, want) || !slices.Contains(e.Unset, "AWS_PROFILE") || !slices.Contains(e.Unset, "AWS_ACCESS_KEY_ID") {
				t.Errorf("got %v, unset %v; want %v", e.Set, e.Unset, want)
			}
		})
	}
}

func TestEnvWriteAndEnviron(t *testing.T) {
	e := Env{Set: [][2]string{{"A", "it's"}}, Unset: []string{"B"}}
	for shell, want := range map[string]string{
		"sh":         "unset B\nexport A='it'\\''s'\n",
		"fish":       "set -e B;\nset -gx A 'it'\\''s';\n",
		"powershell": "Remove-Item Env:B -ErrorAction SilentlyContinue\n$Env:A = 'it''s'\n",
		"cmd":        "set B=\nset A=it's\n",
	} {
		var b strings.Builder
		if err := e.Write(&b, shell); err != nil || b.String() != want {
			t.Errorf("%s: %q, %v; want %q", shell, b.String(), err, want)
		}
	}
	if err := e.Write(&strings.Builder{}, "tcsh"); !errors.Is(err, cred.ErrInvalid) || !strings.Contains(err.Error(), "sh, fish, powershell, cmd") {
		t.Errorf("an unknown shell: %v", err)
	}
	got := e.Environ([]string{"PATH=/bin", "A=old", "B=gone", "C=x=y"})
	if want := []string{"PATH=/bin", "C=x=y", "A=it's"}; !slices.Equal(got, want) {
		t.Errorf("Environ = %q, want %q", got, want)
	}
}
