package awsapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/cred"
)

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestConfigMakesTheSDKClient: the SDK's own STS client, made from a
// Config, calls its endpoint through its HTTP client, signs with Static
// credentials, and its error's code is ErrorCode's.
func TestConfigMakesTheSDKClient(t *testing.T) {
	var auth, token string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, token = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token")
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
	}))
	defer srv.Close()
	tr := &countingTransport{}
	c := Config{Region: "eu-west-1", Endpoint: srv.URL, HTTPClient: &http.Client{Transport: tr}}
	creds := cred.Credentials{AccessKeyID: "ASIAAWSAPITEST", SecretAccessKey: "s", SessionToken: "session-token", Expires: time.Now().Add(time.Hour)}
	_, err := sts.NewFromConfig(c.AWS(Static(creds))).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if got := ErrorCode(err); got != "AccessDenied" {
		t.Errorf("ErrorCode(%v) = %q, want AccessDenied", err, got)
	}
	if !strings.Contains(auth, "Credential=ASIAAWSAPITEST/") || !strings.Contains(auth, "/eu-west-1/sts/") || token != "session-token" {
		t.Errorf("signed with %q, token %q", auth, token)
	}
	if tr.n.Load() == 0 {
		t.Error("the HTTP client was not used")
	}
	if ErrorCode(errors.New("not an API error")) != "" || ErrorCode(nil) != "" {
		t.Error("ErrorCode of a plain error")
	}
	if cfg := (Config{Region: "us-east-1"}).AWS(nil); cfg.HTTPClient != nil || cfg.BaseEndpoint != nil || cfg.Credentials != nil {
		t.Errorf("an empty Config sets %+v", cfg)
	}
}
