#!/usr/bin/env bash
# Install the engines the scale-out tests start (scripts/lib/scaleout.py) when they are
# missing: Debian's PgBouncer; PostgreSQL server binaries and redis-server are on the machine
# already (checked here so a missing one fails with a clear message). Needs root for apt-get.
set -euo pipefail
pg_bin="${HELPLINE_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}"
missing=()
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ -x "$pg_bin/pg_basebackup" ] || missing+=(postgresql-15)
command -v redis-server >/dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "scale-out tests need: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "==> installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
for _ in $(seq 1 30); do  # another apt-get may hold the lock for a while
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then exit 0; fi
  apt-get update -qq >/dev/null 2>&1 || true
  sleep 5
done
echo "apt-get install ${missing[*]} failed" >&2
exit 1
