// Command peerclient is the client the e2e tests run as another user and
// inside a container: it asks credd for credentials through the AWS SDK
// for Go (IMDS and the container endpoint, as real programs do) and prints
// what each answered as one JSON object. Built with CGO_ENABLED=0, it runs
// in an image with nothing else in it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Result is what each endpoint answered: the access key ID, or the
// error's HTTP status and message.
type Result struct {
	IMDS      Answer `json:"imds"`
	Container Answer `json:"container"`
}

// Answer is one endpoint's answer.
type Answer struct {
	AccessKeyID string `json:"access_key_id,omitempty"`
	Status      int    `json:"status,omitempty"`
	Error       string `json:"error,omitempty"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:9955", "credd's address")
	token := flag.String("token", "", "the container endpoint's token (none: skip it)")
	profile := flag.String("profile", "", "the profile to ask the container endpoint for (none: its default)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var res Result
	p := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: *url + "/", ClientEnableState: imds.ClientEnabled})
	})
	res.IMDS = answer(p.Retrieve(ctx))
	if *token != "" {
		path := *url + "/v1/credentials"
		if *profile != "" {
			path += "/" + *profile
		}
		res.Container = answer(endpointcreds.New(path, func(o *endpointcreds.Options) { o.AuthorizationToken = *token }).Retrieve(ctx))
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func answer(c aws.Credentials, err error) Answer {
	if err == nil {
		return Answer{AccessKeyID: c.AccessKeyID}
	}
	a := Answer{Error: err.Error()}
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		a.Status = st.HTTPStatusCode()
	}
	return a
}
