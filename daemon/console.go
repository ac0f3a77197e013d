package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/console"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
)

// ConsoleRequest asks for a console sign-in link; empty fields take the
// profile's settings (console.destination, region) or the default profile.
type ConsoleRequest struct {
	Profile, Destination, Region string
}

// ConsoleLink is a link and the profile it signs in to.
type ConsoleLink struct {
	console.Link
	Profile string
}

// consoleTimeout bounds the upstream calls of one link (STS, the
// federation endpoint).
const consoleTimeout = 25 * time.Second

// Console makes a console sign-in link for a profile. Credentials come
// from the profile's refresher, except for profiles resting on IAM user
// keys: their sts:GetSessionToken sessions cannot sign in, so the keys get
// a sts:GetFederationToken session for the console, bounded by the
// profile's console.policy and console.policy_arns (default: allow all,
// which leaves the user's own permissions). Bad input is refused before
// any upstream call.
func (d *Daemon) Console(ctx context.Context, req ConsoleRequest) (ConsoleLink, error) {
	ctx, cancel := context.WithTimeout(ctx, consoleTimeout)
	defer cancel()
	g := d.gen.Load()
	name := req.Profile
	if name == "" {
		name = g.defaultProfile
		if name == "" {
			return ConsoleLink{}, fmt.Errorf("%w: no default profile is configured: name one", cred.ErrUnknownProfile)
		}
	}
	e, ok := g.entries[name]
	if !ok {
		return ConsoleLink{}, fmt.Errorf("%w: %q", cred.ErrUnknownProfile, name)
	}
	p := g.cfg.Profiles[name]
	region := req.Region
	if region == "" {
		region = p.Region
	}
	if region == "" && e.aws != nil {
		if c, err := e.aws.Config(ctx); err == nil {
			region = c.Region
		}
	}
	dest := req.Destination
	if dest == "" {
		dest = p.Console.Destination
	}
	// The partition may still change with the credentials' ARN; Link
	// checks again.
	if err := console.Check("", dest, region, p.Console.SessionDuration.Duration); err != nil {
		return ConsoleLink{}, fmt.Errorf("profile %s: %w", name, err)
	}

	creds, err := d.consoleCredentials(ctx, g, name, e)
	if err != nil {
		return ConsoleLink{}, err
	}
	c := &console.Client{HTTPClient: d.http, Endpoint: g.cfg.Console.FederationEndpoint, Clock: d.deps.Clock}
	link, err := c.Link(ctx, console.Request{
		Profile:         name,
		Credentials:     creds,
		Destination:     dest,
		Region:          region,
		FallbackRegion:  g.cfg.STS.Region,
		SessionDuration: p.Console.SessionDuration.Duration,
		Issuer:          g.cfg.Console.Issuer,
	})
	if err != nil {
		return ConsoleLink{}, fmt.Errorf("console sign-in for profile %s: %w", name, err)
	}
	d.log.Info("console link made", "profile", name, "destination", link.Destination, "kind", string(creds.Kind), "expires", link.Expires.UTC())
	return ConsoleLink{Link: link, Profile: name}, nil
}

// consoleCredentials are what signs in to the console for profile name.
func (d *Daemon) consoleCredentials(ctx context.Context, g *generation, name string, e *entry) (cred.Credentials, error) {
	if e.aws != nil && e.mfa == "" {
		// What the SDK resolved: long-term keys need a federation session
		// (GetFederationToken, which cannot carry MFA: not for keys that
		// need it).
		if keys, err := e.aws.Signer().Retrieve(ctx); err == nil && !keys.Temporary() {
			p := g.cfg.Profiles[name]
			f := console.Federation{
				Profile:    name,
				Name:       d.deps.UserName,
				Policy:     p.Console.Policy,
				PolicyARNs: p.Console.PolicyARNs,
				Duration:   p.Console.SessionDuration.Duration,
			}
			if f.Duration == 0 {
				f.Duration = p.SessionDuration()
			}
			api := awsapi.Config{Region: g.cfg.STS.Region, Endpoint: g.cfg.STS.Endpoint, HTTPClient: d.http}
			return f.Get(ctx, sts.NewFromConfig(api.AWS(awsapi.Static(keys))))
		}
	}
	return d.Current(ctx, name)
}

// Console implements control.Backend.
func (b controlBackend) Console(ctx context.Context, req control.ConsoleRequest) (control.ConsoleLink, error) {
	link, err := b.d.Console(ctx, ConsoleRequest{Profile: req.Profile, Destination: req.Destination, Region: req.Region})
	if err != nil {
		return control.ConsoleLink{}, err
	}
	out := control.ConsoleLink{URL: link.URL, Expires: link.Expires.UTC(), Profile: link.Profile, Destination: link.Destination,
		Region: link.Region, SessionSeconds: int(link.SessionDuration / time.Second), Note: link.Note, Credentials: string(link.Kind)}
	if link.SessionDuration == 0 && !link.SessionEnds.IsZero() {
		out.SessionExpires = timePtr(link.SessionEnds)
	}
	return out, nil
}

// imdsConsole adapts the daemon to imds.Console (POST /v1/console).
type imdsConsole struct{ d *Daemon }

var _ imds.Console = imdsConsole{}

func (c imdsConsole) Link(ctx context.Context, profile, destination, region string) (string, time.Time, error) {
	link, err := c.d.Console(ctx, ConsoleRequest{Profile: profile, Destination: destination, Region: region})
	if err != nil {
		return "", time.Time{}, err
	}
	return link.URL, link.Expires, nil
}
