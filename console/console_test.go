package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/federationtest"
	"github.com/credd/credd/internal/ststest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// roleCreds are first-hop role credentials; the secrets are distinctive so
// a test can look for them anywhere.
func roleCreds(arn string) cred.Credentials {
	return cred.Credentials{
		AccessKeyID: "ASIAROLEEXAMPLE", SecretAccessKey: "role-secret-DO-NOT-LEAK", SessionToken: "role-token-DO-NOT-LEAK",
		Expires: now.Add(47 * time.Minute), RoleARN: arn, Kind: cred.KindRole,
	}
}

func TestPartitionFor(t *testing.T) {
	for _, tc := range []struct {
		name, arn, region string
		want              string // partition ID, or "" for an error
		errHas            string
	}{
		{"nothing: aws", "", "", "aws", ""},
		{"region eu-west-1", "", "eu-west-1", "aws", ""},
		{"region cn-north-1", "", "cn-north-1", "aws-cn", ""},
		{"region cn-northwest-1", "", "cn-northwest-1", "aws-cn", ""},
		{"region us-gov-west-1", "", "us-gov-west-1", "aws-us-gov", ""},
		{"role ARN aws", "arn:aws:iam::111122223333:role/dev", "", "aws", ""},
		{"role ARN aws-cn", "arn:aws-cn:iam::111122223333:role/dev", "", "aws-cn", ""},
		{"federated user ARN aws-us-gov", "arn:aws-us-gov:sts::111122223333:federated-user/me", "us-gov-east-1", "aws-us-gov", ""},
		{"ARN wins over no region", "arn:aws-us-gov:iam::111122223333:role/dev", "", "aws-us-gov", ""},
		{"non-AWS ARN: by region", "arn:minio:iam:::role/x", "cn-north-1", "aws-cn", ""},
		{"region outside the ARN's partition", "arn:aws-cn:iam::111122223333:role/dev", "eu-west-1", "", "region eu-west-1 is in partition aws, but the credentials are of partition aws-cn"},
		{"isolated partition ARN", "arn:aws-iso:iam::111122223333:role/dev", "", "", "partition aws-iso"},
		{"isolated region", "", "us-iso-east-1", "", "region us-iso-east-1"},
		{"sovereign region", "", "eusc-de-east-1", "", "region eusc-de-east-1"},
		{"malformed region", "", "Europe", "", `"Europe" is not an AWS region`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PartitionFor(tc.arn, tc.region)
			if tc.want == "" {
				if !errors.Is(err, cred.ErrInvalid) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want cred.ErrInvalid mentioning %q", err, tc.errHas)
				}
				return
			}
			if err != nil || p.ID != tc.want {
				t.Fatalf("= %s, %v; want %s", p.ID, err, tc.want)
			}
		})
	}
}

func TestDestination(t *testing.T) {
	for _, tc := range []struct {
		name, raw, region string
		p                 Partition
		want              string
		errHas            []string
	}{
		{"empty: console home", "", "eu-west-1", AWS, "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1", nil},
		{"empty without region: partition default", "", "", AWSCN, "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1", nil},
		{"s3", "s3", "eu-central-1", AWS, "https://eu-central-1.console.aws.amazon.com/s3/home?region=eu-central-1", nil},
		{"names are case-insensitive", "EC2", "us-west-2", AWS, "https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2", nil},
		{"iam is global", "iam", "eu-west-1", AWS, "https://console.aws.amazon.com/iam/home", nil},
		{"logs keeps its fragment after the query", "logs", "eu-west-1", AWS, "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:", nil},
		{"cloudwatch in aws-cn", "cloudwatch", "cn-northwest-1", AWSCN, "https://cn-northwest-1.console.amazonaws.cn/cloudwatch/home?region=cn-northwest-1", nil},
		{"ec2 in aws-us-gov", "ec2", "us-gov-west-1", AWSUSGov, "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1", nil},
		{"a path", "ec2/home#Instances:", "eu-west-1", AWS, "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:", nil},
		{"a path with its own region", "/ec2/home?region=us-east-2", "eu-west-1", AWS, "https://eu-west-1.console.aws.amazon.com/ec2/home?region=us-east-2", nil},
		{"a console URL is kept", "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions", "eu-west-1", AWS, "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions", nil},
		{"unknown name lists the known ones", "ec3", "eu-west-1", AWS, "", []string{`unknown destination "ec3"`, "s3", "ec2", "iam", "cloudwatch", "lambda"}},
		{"http URL", "http://console.aws.amazon.com/", "", AWS, "", []string{"not an https URL"}},
		{"URL outside the console", "https://evil.example/aws.amazon.com", "", AWS, "", []string{"not on the console of partition aws (*.aws.amazon.com)"}},
		{"look-alike domain", "https://console.aws.amazon.com.evil.example/", "", AWS, "", []string{"not on the console"}},
		{"aws URL for an aws-cn sign-in", "https://console.aws.amazon.com/", "", AWSCN, "", []string{"partition aws-cn (*.amazonaws.cn)"}},
		{"URL with user info", "https://me@console.aws.amazon.com/", "", AWS, "", []string{"not an https URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Destination(tc.raw, tc.region, tc.p)
			if tc.errHas != nil {
				if !errors.Is(err, cred.ErrInvalid) {
					t.Fatalf("err = %v, want cred.ErrInvalid", err)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// toFake routes every request to the fake endpoint, whatever its host, so
// a test sees the partition's real federation URL in the link.
type toFake struct{ fake *url.URL }

func (t toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.fake.Scheme, t.fake.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func fakeClient(t *testing.T, fake *federationtest.Server) *http.Client {
	t.Helper()
	u, err := url.Parse(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: toFake{u}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestLinkGolden pins the structure and encoding of the getSigninToken
// request and the login URL for each partition.
func TestLinkGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"aws", Request{Credentials: roleCreds("arn:aws:iam::111122223333:role/dev"), Destination: "s3", Region: "eu-west-1", SessionDuration: 8 * time.Hour}},
		{"aws-cn", Request{Credentials: roleCreds("arn:aws-cn:iam::111122223333:role/dev"), Destination: "ec2", Region: "cn-north-1", Issuer: "corp tools & more"}},
		{"aws-us-gov", Request{Credentials: roleCreds(""), Destination: "https://us-gov-east-1.console.amazonaws-us-gov.com/lambda/home?region=us-gov-east-1#/functions", Region: "us-gov-east-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := federationtest.New(t)
			c := &Client{HTTPClient: fakeClient(t, fake), Clock: clock.NewFake(now)}
			link, err := c.Link(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d getSigninToken calls, want 1", len(reqs))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "getSigninToken query:\n%s\n\nlogin URL:\n%s\n\ndestination: %s\nregion: %s\npartition: %s\nexpires: %s\nsession duration: %s\nsession ends: %s\n",
				strings.ReplaceAll(reqs[0].Query.Encode(), "&", "\n&"), strings.ReplaceAll(link.URL, "&", "\n&"),
				link.Destination, link.Region, link.Partition, link.Expires.Format(time.RFC3339), link.SessionDuration, link.SessionEnds.Format(time.RFC3339))
			golden(t, filepath.Join("testdata", "link-"+tc.name+".golden"), b.String())

			// The link leads, through the endpoint, to the destination.
			resp, err := fakeClient(t, fake).Get(link.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != link.Destination {
				t.Errorf("following the link: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), link.Destination)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestSessionDurationPerKind(t *testing.T) {
	base := roleCreds("arn:aws:iam::111122223333:role/dev")
	with := func(k cred.Kind) cred.Credentials { c := base; c.Kind = k; return c }
	for _, tc := range []struct {
		name       string
		creds      cred.Credentials
		duration   time.Duration
		wantParam  string // SessionDuration sent, "" for none
		wantNote   string
		wantErr    error
		wantLength time.Duration // Link.SessionDuration
	}{
		{"first-hop role with a duration: sent", with(cred.KindRole), 8 * time.Hour, "28800", "", nil, 8 * time.Hour},
		{"first-hop role without a duration: none", with(cred.KindRole), 0, "", "", nil, 0},
		{"role chain: left out, with a note", with(cred.KindChainedRole), 8 * time.Hour, "", "role chain", nil, 0},
		{"federation: left out", with(cred.KindFederation), 2 * time.Hour, "", "GetFederationToken", nil, 0},
		{"external (aws_profile): left out, the safe choice", with(cred.KindExternal), 2 * time.Hour, "", "AWS SDK resolved these credentials", nil, 0},
		{"external without a duration: no note", with(cred.KindExternal), 0, "", "", nil, 0},
		{"GetSessionToken session cannot sign in", with(cred.KindSessionToken), 0, "", "", ErrCannotSignIn, 0},
		{"long-term keys cannot sign in", cred.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s", Kind: cred.KindLongTermIAMKey}, 0, "", "", ErrCannotSignIn, 0},
		{"session duration under 15m", with(cred.KindRole), 10 * time.Minute, "", "", cred.ErrInvalid, 0},
		{"session duration over 12h", with(cred.KindRole), 13 * time.Hour, "", "", cred.ErrInvalid, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := federationtest.New(t)
			c := &Client{Endpoint: fake.URL, Clock: clock.NewFake(now)}
			link, err := c.Link(t.Context(), Request{Profile: "dev", Credentials: tc.creds, SessionDuration: tc.duration})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if len(fake.Requests()) != 0 {
					t.Errorf("the endpoint was called for a refused request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d calls", len(reqs))
			}
			if got := reqs[0].SessionDuration; got != tc.wantParam || reqs[0].Query.Has("SessionDuration") != (tc.wantParam != "") {
				t.Errorf("SessionDuration = %q, want %q", got, tc.wantParam)
			}
			if link.SessionDuration != tc.wantLength {
				t.Errorf("Link.SessionDuration = %s, want %s", link.SessionDuration, tc.wantLength)
			}
			if tc.wantLength == 0 && !link.SessionEnds.Equal(tc.creds.Expires) {
				t.Errorf("SessionEnds = %s, want the credentials' expiry %s", link.SessionEnds, tc.creds.Expires)
			}
			if (tc.wantNote == "") != (link.Note == "") || !strings.Contains(link.Note, tc.wantNote) {
				t.Errorf("note %q, want one mentioning %q", link.Note, tc.wantNote)
			}
			s := reqs[0].Session
			if s.SessionID != tc.creds.AccessKeyID || s.SessionKey != tc.creds.SecretAccessKey || s.SessionToken != tc.creds.SessionToken {
				t.Errorf("session sent %+v, want the credentials", s)
			}
			if !link.Expires.Equal(now.Add(15 * time.Minute)) {
				t.Errorf("link expires %s, want 15 minutes from now", link.Expires)
			}
		})
	}
}

// TestEndpointFailures: errors and odd answers of the endpoint become
// clear messages that never carry the credentials.
func TestEndpointFailures(t *testing.T) {
	creds := roleCreds("arn:aws:iam::111122223333:role/dev")
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		endpoint    string // overrides the fake's URL
		duration    time.Duration
		want        []string
	}{
		{"400 with HTML", 400, "text/html", "<html><body>Bad\nRequest</body></html>", "", 0, []string{"refused the sign-in: 400 Bad Request", "its 37-byte answer is not shown", "credd status"}},
		{"400 with a session duration", 400, "text/html", "", "", time.Hour, []string{"400 Bad Request", "console session of 3600 s", "console.session_duration"}},
		{"500", 500, "text/plain", "oops", "", 0, []string{"500 Internal Server Error", "its 4-byte answer is not shown"}},
		{"200 but HTML", 200, "text/html; charset=utf-8", "<html>sign in</html>", "", 0, []string{"not JSON", `Content-Type "text/html"`, "console.federation_endpoint"}},
		{"200 JSON without a token", 200, "application/json", `{"Error":"x"}`, "", 0, []string{"without a SigninToken"}},
		{"an answer echoing the credentials is not shown", 400, "text/plain", "bad session " + creds.SecretAccessKey + " " + creds.SessionToken, "", 0, []string{"not shown"}},
		{"nobody listening", 0, "", "", "http://127.0.0.1:1/federation", 0, []string{"asking the federation endpoint http://127.0.0.1:1/federation for a sign-in token", "refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := federationtest.New(t)
			fake.Answer(tc.status, tc.contentType, tc.body)
			endpoint := fake.URL
			if tc.endpoint != "" {
				endpoint = tc.endpoint
			}
			c := &Client{Endpoint: endpoint, Clock: clock.NewFake(now)}
			_, err := c.Link(t.Context(), Request{Profile: "dev", Credentials: creds, SessionDuration: tc.duration})
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			for _, secret := range []string{creds.SecretAccessKey, creds.SessionToken, "Session=", "sessionKey"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks %q: %v", secret, err)
				}
			}
		})
	}
}

// TestEndpointEchoingTheRequest: a federation endpoint that answers with
// the request it got (query string, JSON, or the JSON of the Session
// parameter) has the credentials URL-encoded or JSON-escaped in its
// answer, where no search for the raw secret finds them. The error (which
// becomes a 503 body and a log line) quotes no part of such an answer.
func TestEndpointEchoingTheRequest(t *testing.T) {
	creds := roleCreds("arn:aws:iam::111122223333:role/dev")
	creds.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
	creds.SessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+token=="
	for _, tc := range []struct {
		name   string
		status int
		echo   func(r *http.Request) string
	}{
		{"400 with the raw query", 400, func(r *http.Request) string { return "Bad request: " + r.URL.RawQuery }},
		{"400 with the query, lower-case escapes", 400, func(r *http.Request) string { return strings.ToLower(r.URL.RawQuery) }},
		{"500 with the request as JSON", 500, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]any{"error": "internal", "request": r.URL.Query()})
			return string(b)
		}},
		{"200 JSON without a token, echoing", 200, func(r *http.Request) string {
			b, _ := json.Marshal(map[string]string{"Error": "no token for " + r.URL.RawQuery})
			return string(b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.echo(r))
			}))
			defer srv.Close()
			c := &Client{Endpoint: srv.URL + "/federation", Clock: clock.NewFake(now)}
			_, err := c.Link(t.Context(), Request{Profile: "dev", Credentials: creds})
			if err == nil {
				t.Fatal("no error")
			}
			for _, part := range []string{"wJalrXUtnFEMI", "bPxRfiCYzEX", "IQoJb3JpZ2lu", "sessionKey", "Session="} {
				if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(part)) {
					t.Errorf("the error repeats %q from the echoed request: %v", part, err)
				}
			}
			if !strings.Contains(err.Error(), "not shown") {
				t.Errorf("the error does not say the answer was left out: %v", err)
			}
		})
	}
}

func TestLinkRedactsItself(t *testing.T) {
	fake := federationtest.New(t)
	link, err := (&Client{Endpoint: fake.URL}).Link(t.Context(), Request{Credentials: roleCreds(""), Destination: "s3"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("made", "link", link)
	for _, s := range []string{fmt.Sprint(link), fmt.Sprintf("%+v", link), fmt.Sprintf("%#v", link), fmt.Sprintf("%v", struct{ L Link }{link}), logs.String()} {
		if strings.Contains(s, "signin-token") || strings.Contains(s, "SigninToken") {
			t.Errorf("printed link shows the token: %s", s)
		}
		if !strings.Contains(s, "s3/home") {
			t.Errorf("printed link does not say where it leads: %s", s)
		}
	}
}

func TestFederationAgainstSTS(t *testing.T) {
	fake := ststest.New(t)
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIAUSEREXAMPLE", "user-secret", "")})
	for _, tc := range []struct {
		name       string
		f          Federation
		wantParams map[string]string
		absent     []string
	}{
		{"default: allow-all policy, 1h, name made valid", Federation{Name: `CORP\Jane Doe (laptop)`},
			map[string]string{"Name": "Jane-Doe--laptop-", "DurationSeconds": "3600", "Policy": AllowAll}, []string{"PolicyArns.member.1.arn"}},
		{"a long name is cut to 32", Federation{Name: strings.Repeat("abcdefghij", 4), Duration: 8 * time.Hour},
			map[string]string{"Name": "abcdefghijabcdefghijabcdefghijab", "DurationSeconds": "28800"}, nil},
		{"a one-letter name is padded", Federation{Name: "x"}, map[string]string{"Name": "credd-x"}, nil},
		{"managed policies only", Federation{Name: "jane", PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}},
			map[string]string{"PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, []string{"Policy"}},
		{"inline and managed", Federation{Name: "jane", Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, PolicyARNs: []string{"arn:aws:iam::111122223333:policy/x"}},
			map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "PolicyArns.member.1.arn": "arn:aws:iam::111122223333:policy/x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.f.Get(t.Context(), client)
			if err != nil {
				t.Fatal(err)
			}
			form := fake.Last()
			if form.Get("Action") != "GetFederationToken" {
				t.Fatalf("action %q", form.Get("Action"))
			}
			for k, v := range tc.wantParams {
				if form.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, form.Get(k), v)
				}
			}
			for _, k := range tc.absent {
				if form.Has(k) {
					t.Errorf("%s sent: %q", k, form.Get(k))
				}
			}
			if c.Kind != cred.KindFederation || !c.Temporary() || c.AccountID != ststest.FederationAccount ||
				!strings.HasPrefix(c.RoleARN, "arn:aws:sts::"+ststest.FederationAccount+":federated-user/") {
				t.Errorf("credentials %v, arn %q, account %q", c, c.RoleARN, c.AccountID)
			}
		})
	}
	t.Run("STS refuses: the message says what the user needs", func(t *testing.T) {
		fake.Fail("AccessDenied")
		defer fake.Fail("")
		_, err := Federation{Profile: "legacy", Name: "jane"}.Get(t.Context(), client)
		for _, s := range []string{"profile legacy rests on IAM user keys", "GetFederationToken", "AccessDenied", "console.policy"} {
			if err == nil || !strings.Contains(err.Error(), s) {
				t.Errorf("error %v does not mention %q", err, s)
			}
		}
	})
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, arn, dest, region string
		d                       time.Duration
		ok                      bool
	}{
		{"all defaults", "", "", "", 0, true},
		{"known name and region", "", "lambda", "ap-southeast-2", time.Hour, true},
		{"unknown name", "", "lamda", "", 0, false},
		{"bad region", "", "s3", "mars-1", 0, false},
		{"duration too short", "", "", "", time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.arn, tc.dest, tc.region, tc.d)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, cred.ErrInvalid)) {
				t.Errorf("Check = %v, ok want %v", err, tc.ok)
			}
		})
	}
}

var _ FederationTokenGetter = (*sts.Client)(nil)

// TestFallbackRegion: a region that is only a default (sts.region) gives
// way to the partition's default when the credentials are of another
// partition; one the user chose is refused instead (TestPartitionFor).
func TestFallbackRegion(t *testing.T) {
	for _, tc := range []struct {
		name, arn, fallback, wantRegion string
	}{
		{"fits the partition: used", "arn:aws:iam::111122223333:role/dev", "eu-west-1", "eu-west-1"},
		{"no ARN: used", "", "eu-west-1", "eu-west-1"},
		{"another partition: the partition's default", "arn:aws-cn:iam::111122223333:role/dev", "us-east-1", "cn-north-1"},
		{"aws-cn fallback for aws-cn", "arn:aws-cn:iam::111122223333:role/dev", "cn-northwest-1", "cn-northwest-1"},
		{"none: the partition's default", "arn:aws-us-gov:iam::111122223333:role/dev", "", "us-gov-west-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := federationtest.New(t)
			link, err := (&Client{Endpoint: fake.URL}).Link(t.Context(), Request{Credentials: roleCreds(tc.arn), FallbackRegion: tc.fallback})
			if err != nil || link.Region != tc.wantRegion || !strings.Contains(link.Destination, "region="+tc.wantRegion) {
				t.Errorf("region %q (%s), %v; want %s", link.Region, link.Destination, err, tc.wantRegion)
			}
		})
	}
}
