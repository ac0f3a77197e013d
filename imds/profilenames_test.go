package imds

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/credd/credd/cred"
)

// Profile names may hold letters, digits and _ . @ / + - (config/validate.go);
// zero-config serves ~/.aws/config names such as team/dev.
var specialNames = []struct{ name, profile string }{
	{"slash", "team/dev"},
	{"two slashes", "org/team/dev"},
	{"plus, at, dot, underscore, dash", "a+b@c.d_e-f"},
}

func specialProvider() staticProvider {
	p := staticProvider{"dev": devCreds}
	for i, n := range specialNames {
		c := devCreds
		c.AccessKeyID = "ASIASPECIAL" + string(rune('A'+i))
		p[n.profile] = c
	}
	return p
}

type recordingConsole struct {
	mu       sync.Mutex
	profiles []string
}

func (c *recordingConsole) Link(_ context.Context, profile, _, _ string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.profiles = append(c.profiles, profile)
	return "https://signin.aws.amazon.com/federation?Action=login", now.Add(15 * time.Minute), nil
}

func TestProfileNamesWithSpecialCharacters(t *testing.T) {
	prov := specialProvider()
	con := &recordingConsole{}
	h, _ := newTestHandler(t, func(o *Options) { o.Provider = prov; o.Console = con })
	tok := token(t, h)
	imdsHdr := map[string]string{tokenHeader: tok}
	auth := map[string]string{"Authorization": clientToken}
	for _, n := range specialNames {
		want := prov[n.profile].(cred.Credentials).AccessKeyID
		for _, tc := range []struct {
			name, path string
			hdr        map[string]string
		}{
			{"IMDS", "/latest/meta-data/iam/security-credentials/" + n.profile, imdsHdr},
			{"IMDS escaped", "/latest/meta-data/iam/security-credentials/" + url.PathEscape(n.profile), imdsHdr},
			{"IMDS extended", "/latest/meta-data/iam/security-credentials-extended/" + n.profile, imdsHdr},
			{"container", "/v1/credentials/" + n.profile, auth},
			{"container escaped", "/v1/credentials/" + url.PathEscape(n.profile), auth},
		} {
			t.Run(n.name+"/"+tc.name, func(t *testing.T) {
				rec := do(h, http.MethodGet, tc.path, tc.hdr)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: status %d: %s", tc.path, rec.Code, rec.Body)
				}
				var doc struct{ AccessKeyId string }
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.AccessKeyId != want {
					t.Errorf("GET %s: AccessKeyId %q (%v), want %q", tc.path, doc.AccessKeyId, err, want)
				}
			})
		}
		t.Run(n.name+"/console", func(t *testing.T) {
			con.mu.Lock()
			con.profiles = nil
			con.mu.Unlock()
			rec := post(h, "/v1/console/"+url.PathEscape(n.profile), "", auth)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			con.mu.Lock()
			defer con.mu.Unlock()
			if len(con.profiles) != 1 || con.profiles[0] != n.profile {
				t.Errorf("console asked for %q, want [%s]", con.profiles, n.profile)
			}
		})
	}
	t.Run("unknown name with a slash is 404", func(t *testing.T) {
		if rec := do(h, http.MethodGet, "/v1/credentials/team/nope", auth); rec.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404: %s", rec.Code, rec.Body)
		}
	})
}

// The Go SDK's own IMDS and container providers, the judges of the
// endpoints, fetch credentials of a profile whose name holds a slash.
func TestSDKClientsFetchProfileWithSlash(t *testing.T) {
	prov := specialProvider()
	for _, n := range specialNames {
		t.Run(n.name, func(t *testing.T) {
			want := prov[n.profile].(cred.Credentials).AccessKeyID
			// The IMDS listing names the default profile; the SDK then asks
			// for <listing>, slashes and all.
			h, _ := newTestHandler(t, func(o *Options) { o.Provider = prov; o.DefaultProfile = n.profile })
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)

			got, err := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
				o.Client = sdkimds.New(sdkimds.Options{Endpoint: srv.URL, HTTPClient: srv.Client()})
			}).Retrieve(t.Context())
			if err != nil || got.AccessKeyID != want {
				t.Errorf("ec2rolecreds: %q, %v; want %q", got.AccessKeyID, err, want)
			}

			for _, path := range []string{n.profile, url.PathEscape(n.profile)} {
				got, err := endpointcreds.New(srv.URL+"/v1/credentials/"+path, func(o *endpointcreds.Options) {
					o.AuthorizationToken = clientToken
					o.HTTPClient = srv.Client()
				}).Retrieve(t.Context())
				if err != nil || got.AccessKeyID != want {
					t.Errorf("endpointcreds %s: %q, %v; want %q", path, got.AccessKeyID, err, want)
				}
			}
			if strings.Contains(n.profile, "/") {
				// Sanity: the listing really carries the slash.
				rec := do(h, http.MethodGet, "/latest/meta-data/iam/security-credentials/", map[string]string{tokenHeader: token(t, h)})
				if rec.Body.String() != n.profile {
					t.Errorf("listing %q, want %q", rec.Body, n.profile)
				}
			}
		})
	}
}
