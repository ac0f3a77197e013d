// Package awsapi is what credd's calls to AWS APIs through aws-sdk-go-v2
// share: where an API is (Config: region, endpoint override, HTTP client),
// made into the aws.Config every service client is built from; credd's
// credentials as the SDK's credentials provider (Static); and the code of
// an API's error (ErrorCode).
package awsapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credd/credd/cred"
)

// Config says how to reach one AWS API.
type Config struct {
	Region     string
	Endpoint   string       // "": the SDK's endpoint for Region
	HTTPClient *http.Client // nil: the SDK's default client
}

// AWS is the SDK configuration for a service client that signs with creds
// (nil: calls that carry a token of their own, or none):
// sts.NewFromConfig(c.AWS(creds)).
func (c Config) AWS(creds aws.CredentialsProvider) aws.Config {
	cfg := aws.Config{Region: c.Region, Credentials: creds}
	if c.HTTPClient != nil { // a typed nil would reach the SDK as non-nil
		cfg.HTTPClient = c.HTTPClient
	}
	if c.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(c.Endpoint)
	}
	return cfg
}

// Static turns credd credentials into an SDK credentials provider, for
// the calls signed with them.
func Static(c cred.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID:     c.AccessKeyID,
			SecretAccessKey: c.SecretAccessKey,
			SessionToken:    c.SessionToken,
			CanExpire:       !c.Expires.IsZero(),
			Expires:         c.Expires,
			Source:          "credd",
		}, nil
	})
}

// ErrorCode is the AWS error code of err ("AccessDenied",
// "UnauthorizedException"), or "" when err is not an API's error.
func ErrorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
