package console

import (
	"net/url"
	"sort"
	"strings"
)

// service is where a short destination name leads: a path on the console
// (with an optional #fragment), and whether the service is global (its
// console lives on the partition's console host, without a region).
type service struct {
	path   string
	global bool
}

// services are the short destination names. The paths are the consoles'
// stable entry points; each redirects to its current home page.
var services = map[string]service{
	"home":           {path: "console/home"},
	"console":        {path: "console/home"},
	"apigateway":     {path: "apigateway/home"},
	"athena":         {path: "athena/home"},
	"billing":        {path: "billing/home", global: true},
	"cloudformation": {path: "cloudformation/home"},
	"cloudfront":     {path: "cloudfront/home", global: true},
	"cloudtrail":     {path: "cloudtrail/home"},
	"cloudwatch":     {path: "cloudwatch/home"},
	"codebuild":      {path: "codesuite/codebuild/home"},
	"codecommit":     {path: "codesuite/codecommit/home"},
	"codepipeline":   {path: "codesuite/codepipeline/home"},
	"dynamodb":       {path: "dynamodbv2/home"},
	"ec2":            {path: "ec2/home"},
	"ecr":            {path: "ecr/home"},
	"ecs":            {path: "ecs/home"},
	"eks":            {path: "eks/home"},
	"glue":           {path: "glue/home"},
	"iam":            {path: "iam/home", global: true},
	"kms":            {path: "kms/home"},
	"lambda":         {path: "lambda/home"},
	"logs":           {path: "cloudwatch/home#logsV2:"},
	"organizations":  {path: "organizations/home", global: true},
	"rds":            {path: "rds/home"},
	"route53":        {path: "route53/home", global: true},
	"s3":             {path: "s3/home"},
	"sagemaker":      {path: "sagemaker/home"},
	"secretsmanager": {path: "secretsmanager/home"},
	"sns":            {path: "sns/home"},
	"sqs":            {path: "sqs/home"},
	"ssm":            {path: "systems-manager/home"},
	"stepfunctions":  {path: "states/home"},
	"vpc":            {path: "vpc/home"},
}

// Destinations lists the short destination names, sorted.
func Destinations() []string {
	out := make([]string, 0, len(services))
	for name := range services {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Destination expands what a user asked for into a console URL of
// partition p in region:
//   - "" is the console home;
//   - a short name (s3, ec2, iam, ...; see Destinations) is that service's
//     console;
//   - a path such as "ec2/home#Instances:" is taken as it is;
//   - a full https URL must stay within the partition's consoles
//     (*.aws.amazon.com for aws) and is kept as it is.
func Destination(raw, region string, p Partition) (string, error) {
	if region == "" {
		region = p.DefaultRegion
	}
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return consoleURL(p, region, services["home"]), nil
	case strings.Contains(raw, "://"):
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return "", invalid("destination %q is not an https URL of the AWS console", raw)
		}
		host := strings.ToLower(u.Hostname())
		if host != p.baseDomain() && !strings.HasSuffix(host, "."+p.baseDomain()) {
			return "", invalid("destination %q is not on the console of partition %s (*.%s)", raw, p.ID, p.baseDomain())
		}
		return raw, nil
	case strings.ContainsAny(raw, "/#?"):
		path, frag, _ := strings.Cut(strings.TrimPrefix(raw, "/"), "#")
		path, query, _ := strings.Cut(path, "?")
		u := url.URL{Scheme: "https", Host: p.consoleHost(region), Path: "/" + path, Fragment: frag}
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", invalid("destination %q has a malformed query: %v", raw, err)
		}
		if !q.Has("region") {
			q.Set("region", region)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	s, ok := services[strings.ToLower(raw)]
	if !ok {
		return "", invalid("unknown destination %q: use a console URL, a path such as ec2/home, or one of %s", raw, strings.Join(Destinations(), ", "))
	}
	return consoleURL(p, region, s), nil
}

func consoleURL(p Partition, region string, s service) string {
	path, frag, _ := strings.Cut(s.path, "#")
	u := url.URL{Scheme: "https", Host: p.consoleHost(region), Path: "/" + path, Fragment: frag}
	if s.global {
		u.Host = p.consoleHost("")
	} else {
		u.RawQuery = url.Values{"region": {region}}.Encode()
	}
	return u.String()
}
