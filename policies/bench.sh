#!/usr/bin/env bash
# Gateway overhead of the policy chain: time inside the Mono process spent in the policy expressions per request,
# for a typical chat request and 1 MiB and 8 MiB bodies, streamed and not (GatewayOverheadBenchmark). Needs mcs,
# mono and Newtonsoft.Json (apt-get install -y mono-mcs libnewtonsoft-json-cil-dev). Prints a Markdown table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./mvnw -B -q -pl testkit,policies -am verify -DskipITs -Dtest=GatewayOverheadBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsurefire.useFile=false "$@" | sed -n '/^| request/,/^$/p'
