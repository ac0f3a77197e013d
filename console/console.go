// Package console makes AWS Management Console sign-in links. It owns the
// federation endpoint's protocol (getSigninToken with the session JSON,
// then the login URL with Issuer, Destination and SigninToken), the
// partitions and their hosts, the expansion of short destination names
// into console URLs, the rule of which credentials may ask for a console
// session length, and sts:GetFederationToken for IAM user keys, which
// cannot sign in by themselves.
//
// A link is a bearer credential for 15 minutes: Link redacts itself when
// printed or logged, and no error here carries it, the sign-in token or the
// credentials.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// LinkLifetime is how long a sign-in link works: the federation endpoint's
// sign-in tokens are valid for 15 minutes.
const LinkLifetime = 15 * time.Minute

// Console session lengths the federation endpoint accepts.
const (
	MinSessionDuration = 15 * time.Minute
	MaxSessionDuration = 12 * time.Hour
)

// DefaultIssuer names credd on the console's sign-out page.
const DefaultIssuer = "credd"

// ErrCannotSignIn matches credentials the federation endpoint refuses by
// their kind: long-term IAM user keys and sts:GetSessionToken sessions.
var ErrCannotSignIn = errors.New("these credentials cannot sign in to the console")

// Request is one link to make.
type Request struct {
	Profile     string // for messages
	Credentials cred.Credentials
	// Destination is "", a short name, a console path or an https URL (see
	// Destination).
	Destination string
	Region      string // "": FallbackRegion
	// FallbackRegion is used when Region is "" and it lies in the
	// credentials' partition (e.g. sts.region); else the partition's
	// default region is.
	FallbackRegion string
	// SessionDuration is the console session length wanted (15m..12h), or
	// 0. It is sent only for first-hop role credentials; see
	// SessionDurationAllowed.
	SessionDuration time.Duration
	Issuer          string // "": DefaultIssuer
}

// Link is a console sign-in link. It redacts itself wherever it could be
// printed or logged: the URL signs in whoever opens it.
type Link struct {
	URL         string
	Expires     time.Time // when the link stops working
	Destination string    // the console URL it leads to
	Region      string
	Partition   string
	// Exactly one of these describes the console session: SessionDuration
	// when credd asked the endpoint for that length, else SessionEnds, the
	// expiry of the credentials, which the session lasts as long as.
	SessionDuration time.Duration
	SessionEnds     time.Time
	// Note says why a configured session length was not applied, if so.
	Note string
	// Kind is the kind of the credentials that signed in.
	Kind cred.Kind
}

// String never shows the URL.
func (l Link) String() string {
	return fmt.Sprintf("console-link{destination=%s expires=%s}", l.Destination, l.Expires.UTC().Format(time.RFC3339))
}

// GoString covers %#v.
func (l Link) GoString() string { return l.String() }

// Format covers every fmt verb.
func (l Link) Format(f fmt.State, _ rune) { fmt.Fprint(f, l.String()) }

// LogValue makes slog print the redacted form.
func (l Link) LogValue() slog.Value {
	return slog.GroupValue(slog.String("destination", l.Destination), slog.Time("expires", l.Expires))
}

// SessionDurationAllowed reports whether credentials of kind k may ask the
// federation endpoint for a console session length. Only first-hop role
// credentials (AssumeRole*, IAM Identity Center) may: the endpoint refuses
// it for role-chained sessions, and federation sessions last as long as
// their credentials. Credentials the AWS SDK resolved (KindExternal) are
// of unknown provenance, a role chain perhaps, so credd does not ask.
func SessionDurationAllowed(k cred.Kind) bool { return k == cred.KindRole }

// Client asks a federation endpoint for sign-in tokens.
type Client struct {
	HTTPClient *http.Client // nil: a client with a 30 s timeout
	// Endpoint overrides the partition's federation endpoint (tests); the
	// login URL then uses it too.
	Endpoint string
	Clock    clock.Clock
}

// Check validates what a request asks for without calling anything, so a
// caller can refuse bad input before fetching credentials. arn may be "".
func Check(arn, destination, region string, sessionDuration time.Duration) error {
	p, err := PartitionFor(arn, region)
	if err != nil {
		return err
	}
	if _, err := Destination(destination, region, p); err != nil {
		return err
	}
	if sessionDuration != 0 && (sessionDuration < MinSessionDuration || sessionDuration > MaxSessionDuration) {
		return invalid("console session duration must be between 15m and 12h, got %s", sessionDuration)
	}
	return nil
}

// Link asks the federation endpoint for a sign-in token with req's
// credentials and returns the login URL.
func (c *Client) Link(ctx context.Context, req Request) (Link, error) {
	creds := req.Credentials
	if req.Region == "" && req.FallbackRegion != "" {
		if _, err := PartitionFor(creds.RoleARN, req.FallbackRegion); err == nil {
			req.Region = req.FallbackRegion
		}
	}
	if err := Check(creds.RoleARN, req.Destination, req.Region, req.SessionDuration); err != nil {
		return Link{}, err
	}
	switch {
	case creds.AccessKeyID == "" || creds.SecretAccessKey == "":
		return Link{}, fmt.Errorf("profile %s has no credentials to sign in with", req.Profile)
	case !creds.Temporary(), creds.Kind == cred.KindLongTermIAMKey:
		return Link{}, fmt.Errorf("%w: profile %s holds long-term IAM user keys, which sign in only through sts:GetFederationToken", ErrCannotSignIn, req.Profile)
	case creds.Kind == cred.KindSessionToken:
		return Link{}, fmt.Errorf("%w: profile %s has an sts:GetSessionToken session, which the federation endpoint refuses; sign in with sts:GetFederationToken from the IAM user keys instead", ErrCannotSignIn, req.Profile)
	}
	p, _ := PartitionFor(creds.RoleARN, req.Region) // checked above
	region := req.Region
	if region == "" {
		region = p.DefaultRegion
	}
	dest, _ := Destination(req.Destination, region, p)
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = p.FederationURL()
	}
	link := Link{Destination: dest, Region: region, Partition: p.ID, Kind: creds.Kind}
	var sessionSeconds string
	switch {
	case req.SessionDuration != 0 && SessionDurationAllowed(creds.Kind):
		link.SessionDuration = req.SessionDuration
		sessionSeconds = strconv.Itoa(int(req.SessionDuration / time.Second))
	case req.SessionDuration != 0:
		link.Note = notApplied(creds.Kind)
		fallthrough
	default:
		link.SessionEnds = creds.Expires
	}

	token, err := c.signinToken(ctx, endpoint, creds, sessionSeconds)
	if err != nil {
		return Link{}, err
	}
	issuer := req.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	q := url.Values{"Action": {"login"}, "Issuer": {issuer}, "Destination": {dest}, "SigninToken": {token}}
	link.URL = endpoint + "?" + q.Encode()
	link.Expires = clock.Or(c.Clock).Now().Add(LinkLifetime)
	return link, nil
}

// notApplied explains why a configured console session length was left
// out.
func notApplied(k cred.Kind) string {
	switch k {
	case cred.KindChainedRole:
		return "console.session_duration is not applied: the credentials come from a role chain, for which the federation endpoint refuses a session length"
	case cred.KindFederation:
		return "console.session_duration sets the length of the sts:GetFederationToken session instead"
	case cred.KindExternal:
		return "console.session_duration is not applied: the AWS SDK resolved these credentials, so credd cannot tell whether they come from a role chain, for which the federation endpoint refuses a session length; define the role in credd (source_profile + role_arn) to have it applied"
	}
	return "console.session_duration is not applied to credentials of kind " + string(k)
}

// sessionJSON is what getSigninToken takes as Session.
type sessionJSON struct {
	SessionID    string `json:"sessionId"`
	SessionKey   string `json:"sessionKey"`
	SessionToken string `json:"sessionToken"`
}

// maxAnswer bounds what is read of the endpoint's answer.
const maxAnswer = 64 << 10

func (c *Client) signinToken(ctx context.Context, endpoint string, creds cred.Credentials, sessionSeconds string) (string, error) {
	session, err := json.Marshal(sessionJSON{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken})
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}
	if sessionSeconds != "" {
		q.Set("SessionDuration", sessionSeconds)
	}
	where := redactedEndpoint(endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("console.federation_endpoint %s is not a usable URL", where)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error prints the whole URL, credentials included: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("asking the federation endpoint %s for a sign-in token: %s", where, cred.Redact(err.Error(), creds.Secrets()...))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("reading the federation endpoint's answer (%s): %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		hint := "check that the profile's credentials are valid (`credd status`)"
		if sessionSeconds != "" {
			hint += " and that the role allows a console session of " + sessionSeconds + " s (console.session_duration)"
		}
		return "", fmt.Errorf("the federation endpoint %s refused the sign-in: %s%s; %s", where, resp.Status, unshown(body), hint)
	}
	var answer struct {
		SigninToken string
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return "", fmt.Errorf("the federation endpoint %s answered with something that is not JSON (Content-Type %q%s): is console.federation_endpoint a federation endpoint (https://signin.aws.amazon.com/federation)?", where, ct, unshown(body))
	}
	if answer.SigninToken == "" {
		return "", fmt.Errorf("the federation endpoint %s answered JSON without a SigninToken%s", where, unshown(body))
	}
	return answer.SigninToken, nil
}

// redactedEndpoint is the endpoint without any query or user info, for
// messages.
func redactedEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// unshown says how much of an answer an error leaves out. The federation
// endpoint's answers are never quoted: one may repeat the request, whose
// Session parameter is the credentials themselves (URL-encoded JSON, which
// no redaction of the raw secret would catch).
func unshown(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	return fmt.Sprintf(" (its %d-byte answer is not shown: it may repeat the request, which carries the credentials)", len(body))
}
