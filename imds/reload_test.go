package imds

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
)

// TestReloadDuringARequest reloads the defaults (SetDefaults, as the
// daemon does on reload) while a request waits for its credentials: what
// the request answers must all be of one profile and region, those the
// request found when it arrived, or of the listener's own profile.
func TestReloadDuringARequest(t *testing.T) {
	opsCreds := devCreds
	opsCreds.AccessKeyID, opsCreds.AccountID = "ASIAOPSEXAMPLE", "444455556666"
	opsCreds.RoleARN = "arn:aws:iam::444455556666:role/Operator"
	for _, tc := range []struct {
		name        string
		path        string
		attr        Attribution
		wantProfile string // the instance profile info names
		wantAccount string
		wantRegion  string // the identity document's
	}{
		{name: "info names the profile served", path: "/latest/meta-data/iam/info", wantProfile: "dev", wantAccount: "111122223333"},
		{name: "identity keeps the region it started with", path: "/latest/dynamic/instance-identity/document", wantAccount: "111122223333", wantRegion: "eu-west-1"},
		{name: "info on a listener with its own profile", path: "/latest/meta-data/iam/info", attr: Attribution{Profile: "ops"}, wantProfile: "ops", wantAccount: "444455556666"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h *Handler
			h, _ = newTestHandler(t, func(o *Options) {
				o.Attribute = func(*http.Request) Attribution { return tc.attr }
				o.Provider = providerFunc(func(_ context.Context, p string) (cred.Credentials, error) {
					h.SetDefaults("qa", "us-east-1") // a reload while the request waits
					switch p {
					case "dev":
						return devCreds, nil
					case "ops":
						return opsCreds, nil
					}
					return cred.Credentials{}, cred.ErrUnknownProfile
				})
			})
			tok := token(t, h)
			rec := do(h, http.MethodGet, tc.path, map[string]string{tokenHeader: tok})
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, rec.Code, rec.Body)
			}
			var doc map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("%s: %v", rec.Body, err)
			}
			if tc.wantProfile != "" {
				want := "arn:aws:iam::" + tc.wantAccount + ":instance-profile/" + tc.wantProfile
				if doc["InstanceProfileArn"] != want || doc["InstanceProfileId"] != instanceProfileID(tc.wantProfile) {
					t.Errorf("InstanceProfileArn %q, InstanceProfileId %q; want %q, %q", doc["InstanceProfileArn"], doc["InstanceProfileId"], want, instanceProfileID(tc.wantProfile))
				}
			}
			if tc.wantRegion != "" {
				if doc["accountId"] != tc.wantAccount || doc["region"] != tc.wantRegion || !strings.HasPrefix(doc["availabilityZone"], tc.wantRegion) {
					t.Errorf("identity document %v: want account %s in %s", doc, tc.wantAccount, tc.wantRegion)
				}
			}
			// The next request finds the reloaded defaults.
			rec = do(h, http.MethodGet, "/latest/meta-data/placement/region", map[string]string{tokenHeader: tok})
			if got := rec.Body.String(); got != "us-east-1" {
				t.Errorf("region after the reload: %q, want us-east-1", got)
			}
		})
	}
}
