package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/proc"
)

// processProvider is the AWS SDK's credential_process provider for line,
// with credd's runner (proc.Command: its own process group, killed whole
// at the deadline) instead of the SDK's, which kills only the shell.
func processProvider(line string, timeout time.Duration) *processcreds.Provider {
	build := processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		return proc.Command(ctx, line), nil
	})
	return processcreds.NewProviderCommand(build, func(o *processcreds.Options) {
		if timeout > 0 {
			o.Timeout = timeout
		}
	})
}

// ownProcess makes cfg, which the SDK loaded with opts, run the
// credential_process it resolved with processProvider. The SDK takes no
// command builder of its own choosing: the profile's (the root of its
// source_profile chain's) credential_process line is read from the shared
// config the SDK loaded, and replaces the SDK's provider where it sits, as
// cfg's credentials, or, under role_arn hops, as the credentials of the
// first hop's STS client, which needs a second load. Profiles without a
// credential_process are returned as they are.
func ownProcess(ctx context.Context, cfg aws.Config, opts []func(*awsconfig.LoadOptions) error, timeout time.Duration, clk clock.Clock) (aws.Config, error) {
	line := processLine(cfg)
	if line == "" {
		return cfg, nil
	}
	if isProcess(cfg.Credentials) {
		cfg.Credentials = &heldCredentials{provider: processProvider(line, timeout), clock: clock.Or(clk)}
		return cfg, nil
	}
	if !aws.IsCredentialsProvider(cfg.Credentials, (*stscreds.AssumeRoleProvider)(nil)) {
		return cfg, nil // the SDK resolved something else first (keys, say)
	}
	// Under the hops, the SDK's cache of the chain runs the helper with
	// no deadline of the caller's (it detaches the context): the helper's
	// own timeout must end it, a little before the fetch's, so that its
	// end is part of the fetch that started it.
	if timeout > 2*proc.WaitDelay {
		timeout -= proc.WaitDelay
	}
	own := &heldCredentials{provider: processProvider(line, timeout), clock: clock.Or(clk)}
	swap := awsconfig.WithAssumeRoleCredentialOptions(func(o *stscreds.AssumeRoleOptions) {
		c, ok := o.Client.(*sts.Client)
		if !ok {
			return
		}
		so := c.Options()
		if isProcess(so.Credentials) {
			so.Credentials = own
			o.Client = sts.New(so)
		}
	})
	return awsconfig.LoadDefaultConfig(ctx, append(opts[:len(opts):len(opts)], swap)...)
}

// heldCredentials keeps the last credentials a provider gave until they
// expire or Invalidate, as the SDK's cache would, but fetches in the
// caller's goroutine, with the caller's context: the SDK's cache answers
// a caller whose deadline passed at once and lets the fetch run on
// detached, so the next attempt joined the fetch still under way (a
// helper being killed) instead of starting its own.
type heldCredentials struct {
	provider aws.CredentialsProvider
	clock    clock.Clock

	mu    sync.Mutex
	creds aws.Credentials
	have  bool
}

var _ aws.CredentialsProvider = (*heldCredentials)(nil)

// heldMargin is how long before their expiry held credentials are
// fetched again, as the SDK's cache does.
const heldMargin = 5 * time.Minute

// Retrieve returns the held credentials while they last, else fetches. A
// caller waits for a fetch under way (bounded by the helper's timeout)
// and then shares its result.
func (h *heldCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.have && !(h.creds.CanExpire && h.creds.Expires.Sub(h.clock.Now()) < heldMargin) {
		return h.creds, nil
	}
	c, err := h.provider.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	h.creds, h.have = c, true
	return c, nil
}

// Invalidate makes the next Retrieve fetch.
func (h *heldCredentials) Invalidate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.have = false
}

// IsCredentialsProvider reports whether target is the provider held (for
// aws.IsCredentialsProvider).
func (h *heldCredentials) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(h.provider, target)
}

// isProcess reports whether p is (a cache of) the SDK's credential_process
// provider.
func isProcess(p aws.CredentialsProvider) bool {
	return p != nil && aws.IsCredentialsProvider(p, (*processcreds.Provider)(nil))
}

// processLine is the credential_process of the profile cfg was loaded
// for, or of the root of its source_profile chain: where the SDK runs one.
func processLine(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		var sc *awsconfig.SharedConfig
		switch v := src.(type) {
		case awsconfig.SharedConfig:
			sc = &v
		case *awsconfig.SharedConfig:
			sc = v
		default:
			continue
		}
		for sc.Source != nil {
			sc = sc.Source
		}
		return sc.CredentialProcess
	}
	return ""
}

// ErrProcessOutput is a credential_process whose output is not the JSON
// document it must print (Version, AccessKeyId, SecretAccessKey,
// SessionToken, Expiration).
var ErrProcessOutput = errors.New("credential_process printed something other than its JSON document")

// withoutProcessOutput replaces an error of the SDK's credential_process
// provider that quotes what the process printed (it does when the output
// does not parse) with one that says only what is wrong with it. That
// output holds the secret key more often than not (a helper that prints a
// warning after its JSON, say), and errors reach logs and, as the reason
// credentials are not available, clients. Other errors pass unchanged.
func withoutProcessOutput(err error) error {
	var pe *processcreds.ProviderError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Err.Error(), "parse failed of process output") {
		return err
	}
	var (
		syntax *json.SyntaxError
		kind   *json.UnmarshalTypeError
		when   *time.ParseError
		why    string
	)
	switch {
	case errors.As(pe.Err, &syntax):
		why = fmt.Sprintf("not a single JSON object (invalid at byte %d)", syntax.Offset)
	case errors.As(pe.Err, &kind):
		field := kind.Field
		if field == "" {
			field = "the output"
		}
		why = fmt.Sprintf("%s must be a JSON %s", field, jsonKind(kind.Type.Kind().String()))
	case errors.As(pe.Err, &when):
		why = "Expiration is not an RFC 3339 time such as 2006-01-02T15:04:05Z"
	default:
		why = "it does not parse"
	}
	return fmt.Errorf("%w: %s; credd does not repeat the output, which may hold secrets: run the command yourself to see it", ErrProcessOutput, why)
}

// jsonKind names a Go kind as JSON does.
func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}
