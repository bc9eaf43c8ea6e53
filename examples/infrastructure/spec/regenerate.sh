#!/usr/bin/env bash
# regenerate.sh rebuilds ../testdata/resource-spec.json from the npm package
# @aws-cdk/aws-service-spec (latest, or AWS_SERVICE_SPEC_VERSION), installed
# into a temporary directory that is removed afterwards. Needs node and npm.
#
#   bash examples/infrastructure/spec/regenerate.sh
#   AWS_SERVICE_SPEC_VERSION=0.1.216 bash examples/infrastructure/spec/regenerate.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=${AWS_SERVICE_SPEC_VERSION:-latest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm install --no-save --no-audit --no-fund --silent --prefix "$tmp" "@aws-cdk/aws-service-spec@${version}"
node "$here/extract.mjs" "$tmp/node_modules/@aws-cdk/aws-service-spec"
