package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// TestClientCommandsAgainstTheDaemon: with `credd serve` running, `credd
// client token ci` prints the client's token (0600 in the state dir);
// `credd env --client ci` points the AWS SDK (its own environment
// variables, read by config.LoadDefaultConfig) at the token file and one
// of the client's profiles, which it gets; another profile is refused
// with 403 naming both. `credd client revoke ci` refuses the old token
// before the command returns, and the SDK, which reads the token file at
// every fetch, goes on with the new one.
func TestClientCommandsAgainstTheDaemon(t *testing.T) {
	dev, devSec := newProcessProfile(t, "dev")
	_, opsSec := newProcessProfile(t, "ops")
	s := newServed(t, devOps+"clients:\n  ci: {profiles: [dev]}\n", devSec+opsSec)
	s.start(t)

	code, out, errOut := s.run(t, "client", "token", "ci")
	old := strings.TrimSpace(out)
	if code != 0 || len(old) != 64 {
		t.Fatalf("client token: exit %d, %q %s", code, out, errOut)
	}
	path := filepath.Join(s.stateDir, "clients", "ci.token")
	if fi, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, fi, err)
	}

	// The SDK's environment, as `eval "$(credd env --client ci)"` sets it.
	code, out, errOut = s.run(t, "env", "--client", "ci", "--shell", "cmd")
	if code != 0 || !strings.Contains(out, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+path+"\n") {
		t.Fatalf("env --client ci: exit %d\n%s%s", code, out, errOut)
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	for line := range strings.Lines(out) {
		k, v, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "set "), "=")
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
	sdk := func() (string, error) {
		t.Helper()
		cfg, err := awsconfig.LoadDefaultConfig(t.Context(), awsconfig.WithRegion("us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := cfg.Credentials.Retrieve(t.Context())
		return c.AccessKeyID, err
	}
	with := func(profile, token string) error {
		_, err := endpointcreds.New(s.url+"/v1/credentials/"+profile, func(o *endpointcreds.Options) { o.AuthorizationToken = token }).Retrieve(t.Context())
		return err
	}
	if id, err := sdk(); err != nil || id != dev.AccessKeyID {
		t.Fatalf("the SDK as ci: %q %v, want dev's credentials", id, err)
	}
	if err := with("ops", old); err == nil || !strings.Contains(err.Error(), "Forbidden") || !strings.Contains(err.Error(), `client "ci" may not take profile "ops"`) {
		t.Fatalf("ci for ops: %v, want 403 naming the client and the profile", err)
	}

	code, out, errOut = s.run(t, "client", "revoke", "ci")
	fresh := strings.TrimSpace(out)
	if code != 0 || len(fresh) != 64 || fresh == old {
		t.Fatalf("client revoke: exit %d, %q %s", code, out, errOut)
	}
	if err := with("dev", old); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("the revoked token right after the command: %v, want 401", err)
	}
	if err := with("dev", fresh); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if id, err := sdk(); err != nil || id != dev.AccessKeyID {
		t.Fatalf("the SDK after the revoke (it reads the token file again): %q %v", id, err)
	}
}
