#!/bin/sh
# Dev container feature "credd": make the container's AWS SDKs and CLI
# fetch credentials from the host's credd over IMDSv2. The feature's
# containerEnv sets the default endpoint for every process; this script
# writes the chosen options for login shells too (/etc/profile.d), which is
# where a non-default endpoint or region takes effect.
#
# Options arrive as environment variables: ENDPOINT, REGION.
set -eu

endpoint=${ENDPOINT:-http://host.docker.internal:9955/}
region=${REGION:-}
profile=${CREDD_FEATURE_PROFILE:-/etc/profile.d/credd.sh} # tests write elsewhere

case "$endpoint" in
http://*/ | https://*/) ;;
http://* | https://*) endpoint="$endpoint/" ;; # old botocore glues endpoint and path: keep the slash
*)
  echo "credd feature: endpoint must be an http(s) URL, got '$endpoint'" >&2
  exit 1
  ;;
esac

quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

{
  echo "# Written by the credd dev container feature: AWS credentials from the host's credd."
  echo "export AWS_EC2_METADATA_SERVICE_ENDPOINT=$(quote "$endpoint")"
  echo "export AWS_EC2_METADATA_V1_DISABLED=true"
  if [ -n "$region" ]; then
    echo "export AWS_REGION=$(quote "$region")"
    echo "export AWS_DEFAULT_REGION=$(quote "$region")"
  fi
} >"$profile"
chmod 0644 "$profile"
echo "credd feature: AWS SDKs in this container use $endpoint"
