package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/source"
)

// Roles lists the accounts and roles of sso session name, for `credd
// config init --sso-session`: through the running daemon of cfg's state
// dir, with the session it holds (whatever share_aws_cli_cache says);
// with none running, with the token the AWS CLI cached under home. A
// missing or expired cached token is cred.ErrLoginRequired: renewing it
// is the daemon's work.
func Roles(ctx context.Context, cfg config.Config, name, home string, now time.Time) ([]config.Role, error) {
	res, err := control.NewClient(cfg.StateDir).Assignments(ctx, control.AssignmentsRequest{SSOSession: name})
	switch {
	case err == nil:
		found := make([]source.Assignment, len(res.Assignments))
		for i, a := range res.Assignments {
			found[i] = source.Assignment(a)
		}
		return rolesOf(found), nil
	case !errors.Is(err, control.ErrNotRunning):
		return nil, err
	}
	sc, ok := cfg.SSOSessions[name]
	if !ok {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no sso session %q (sso_sessions)", name)
	}
	if home == "" {
		return nil, errors.New("no home directory: the AWS CLI's cache cannot be found")
	}
	cached, err := login.ReadAWSCLICache(login.AWSCLICacheFile(home, name), sc.StartURL, now)
	if err == nil && !cached.Expiry.After(now) {
		err = errors.New("the cached session expired")
	}
	if err != nil {
		return nil, cred.Errorf(cred.ErrLoginRequired, "%w, and credd is not running: start it (`credd serve` or `credd service start`) and run `credd login --sso-session %s`", err, name)
	}
	found, err := source.Discover(ctx, sso.NewFromConfig(awsapi.Config{Region: sc.Region, Endpoint: sc.Endpoint}.AWS(nil)), cached.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("listing the accounts and roles of sso session %s: %w", name, err)
	}
	return rolesOf(found), nil
}

// rolesOf names the assignments as config's role templates do.
func rolesOf(as []source.Assignment) []config.Role {
	out := make([]config.Role, 0, len(as))
	for _, a := range as {
		out = append(out, config.Role{AccountID: a.AccountID, AccountName: a.AccountName, Name: a.Role})
	}
	return out
}
