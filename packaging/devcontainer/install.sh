#!/bin/sh
# Dev container feature "credd": make the container's AWS SDKs and CLI
# fetch credentials from the host's credd over IMDSv2. The feature's
# containerEnv sets the default endpoint, http://host.docker.internal:9955/,
# for every process (a feature's containerEnv cannot come from an option);
# this script writes the chosen options to /etc/profile.d, so a non-default
# endpoint or a region reaches login shells only. On Linux Docker Engine the
# supported way is the default endpoint plus, in devcontainer.json,
# "runArgs": ["--add-host=host.docker.internal:host-gateway"].
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
default=http://host.docker.internal:9955/
if [ "$endpoint" = "$default" ]; then
  echo "credd feature: AWS SDKs in this container use $endpoint"
else
  echo "credd feature: login shells use $endpoint; every other process (editor, tasks, debuggers) keeps $default from containerEnv." >&2
  echo "credd feature: on Linux Docker Engine keep the default endpoint and add \"runArgs\": [\"--add-host=host.docker.internal:host-gateway\"] to devcontainer.json instead." >&2
fi
