#!/usr/bin/env bash
# Install what `scripts/bench http` drives the servers with when it is missing: Debian's wrk.
# Idempotent; needs root for apt-get. Called by the HTTP benchmarks before their first wrk run,
# so a fresh machine benchmarks without a manual step.
set -euo pipefail
command -v wrk >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "the HTTP benchmarks need wrk (install it with apt-get as root: apt-get install -y wrk)" >&2
  exit 1
fi
echo "==> installing wrk" >&2
export DEBIAN_FRONTEND=noninteractive
for attempt in $(seq 1 30); do  # another apt-get may hold the lock for a while
  if apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1; then
    command -v wrk >/dev/null && exit 0
  fi
  # The package lists may be missing or stale (a fresh container): refresh them, then retry.
  apt-get update -qq >/dev/null 2>&1 || true
  [ "$attempt" -gt 1 ] && sleep 5
done
echo "apt-get install wrk failed" >&2
exit 1
