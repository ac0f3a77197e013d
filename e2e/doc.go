// Package e2e runs credd end to end against real peers: the AWS SDK
// clients that judge its endpoints (aws-sdk-go-v2, boto3, the AWS CLI, the
// JavaScript SDK) and MinIO as a real STS. It holds tests only.
//
// Peers that are not installed are skipped, unless CREDD_REQUIRE_PEERS=1
// (set by .ci/run), which turns every skip into a failure.
package e2e
