#!/usr/bin/env bash
# The NAT lab by hand: network namespaces with NAT routers of several kinds (see NAT-LAB.md).
#   bash netns-scripts/nat-lab.sh up [PREFIX] [NAME=KIND ...]   (re)build; default prefix "nl"
#   bash netns-scripts/nat-lab.sh down [PREFIX]
#   bash netns-scripts/nat-lab.sh status [PREFIX]
#   bash netns-scripts/nat-lab.sh kind PREFIX NAME KIND | flush PREFIX NAME
# A thin wrapper: the topology lives in e2e/lib/nat-lab.ts. It runs the compiled
# dist/e2e/lib/nat-lab-cli.js when that is newer than the sources, else the TypeScript itself.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "nat-lab: needs root (network namespaces)" >&2; exit 1; }
for b in ip nft conntrack sysctl node; do
  command -v "$b" >/dev/null || { echo "nat-lab: $b is missing (run: bash netns-scripts/install-deps.sh)" >&2; exit 1; }
done

js=dist/e2e/lib/nat-lab-cli.js
fresh=1
[ -f "$js" ] || fresh=0
for src in e2e/lib/*.ts; do
  [ "$fresh" = 1 ] && [ "$src" -nt "$js" ] && fresh=0
done
if [ "$fresh" = 1 ]; then
  exec node "$js" "$@"
fi
# Same loader as the test runner, without type checking (npm run typecheck does that).
TS_NODE_TRANSPILE_ONLY=1 exec node --import=@tapjs/typescript/import e2e/lib/nat-lab-cli.ts "$@"
