package console

import (
	"regexp"
	"strings"

	"github.com/credd/credd/cred"
)

// Partition is an AWS partition with a public console: where its
// federation endpoint and its console live.
type Partition struct {
	ID            string // aws, aws-cn, aws-us-gov
	SigninHost    string // the federation endpoint's host
	ConsoleDomain string // the console's host; regions are subdomains of it
	DefaultRegion string // used when nothing names a region
}

// FederationURL is the partition's federation endpoint.
func (p Partition) FederationURL() string { return "https://" + p.SigninHost + "/federation" }

// consoleHost is the console host for region ("" for global services).
func (p Partition) consoleHost(region string) string {
	if region == "" {
		return p.ConsoleDomain
	}
	return region + "." + p.ConsoleDomain
}

// baseDomain is the domain every console of the partition lives under,
// which a destination URL must stay within.
func (p Partition) baseDomain() string { return strings.TrimPrefix(p.ConsoleDomain, "console.") }

// The partitions whose consoles accept federation sign-in links.
var (
	AWS      = Partition{ID: "aws", SigninHost: "signin.aws.amazon.com", ConsoleDomain: "console.aws.amazon.com", DefaultRegion: "us-east-1"}
	AWSCN    = Partition{ID: "aws-cn", SigninHost: "signin.amazonaws.cn", ConsoleDomain: "console.amazonaws.cn", DefaultRegion: "cn-north-1"}
	AWSUSGov = Partition{ID: "aws-us-gov", SigninHost: "signin.amazonaws-us-gov.com", ConsoleDomain: "console.amazonaws-us-gov.com", DefaultRegion: "us-gov-west-1"}
)

var partitions = map[string]Partition{AWS.ID: AWS, AWSCN.ID: AWSCN, AWSUSGov.ID: AWSUSGov}

// reRegion is the shape of an AWS region name.
var reRegion = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-\d+$`)

// regionPartition is the partition a region belongs to, by its prefix, or
// "" for a region of a partition without a public console (the isolated
// and sovereign ones).
func regionPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return AWSCN.ID
	case strings.HasPrefix(region, "us-gov-"):
		return AWSUSGov.ID
	case strings.Contains(region, "-iso"), strings.HasPrefix(region, "eusc-"):
		return ""
	}
	return AWS.ID
}

// PartitionFor picks the partition of a sign-in: from the ARN of the
// credentials (role, federated user) when they carry one of an AWS
// partition, else from the region. A region outside that partition is an
// error, and so is a partition without a public console.
func PartitionFor(arn, region string) (Partition, error) {
	if region != "" && !reRegion.MatchString(region) {
		return Partition{}, invalid("%q is not an AWS region such as eu-west-1", region)
	}
	fromARN := ""
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") {
		fromARN = parts[1]
		if _, ok := partitions[fromARN]; !ok {
			return Partition{}, invalid("the credentials belong to partition %s, whose console takes no federation sign-in links (supported: aws, aws-cn, aws-us-gov)", fromARN)
		}
	}
	fromRegion := ""
	if region != "" {
		fromRegion = regionPartition(region)
		if fromRegion == "" {
			return Partition{}, invalid("region %s belongs to a partition whose console takes no federation sign-in links (supported: aws, aws-cn, aws-us-gov)", region)
		}
	}
	switch {
	case fromARN != "" && fromRegion != "" && fromARN != fromRegion:
		return Partition{}, invalid("region %s is in partition %s, but the credentials are of partition %s: pick a region of %s", region, fromRegion, fromARN, fromARN)
	case fromARN != "":
		return partitions[fromARN], nil
	case fromRegion != "":
		return partitions[fromRegion], nil
	}
	return AWS, nil
}

// invalid makes an error of kind cred.ErrInvalid, with only its own
// message.
func invalid(format string, args ...any) error {
	return cred.Errorf(cred.ErrInvalid, format, args...)
}
