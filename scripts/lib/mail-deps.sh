#!/usr/bin/env bash
# Install what the email channel's integration tests start (tests/fixtures/dovecot.py) when it
# is missing: Debian's dovecot IMAP server (dovecot-core + dovecot-imapd). Idempotent; needs root
# for apt-get. Used by .ci/run and, when dovecot is absent, by the test fixture itself.
set -euo pipefail
have() { [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ]; }
have && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "the mail tests need Debian's dovecot-imapd (install it with apt-get as root)" >&2
  exit 1
fi
echo "==> installing dovecot-imapd" >&2
export DEBIAN_FRONTEND=noninteractive
# The package's postinst starts a system dovecot where an init system runs; the tests start
# their own, so keep that one from starting (policy-rc.d 101 = "action not allowed").
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT
for attempt in $(seq 1 30); do  # another apt-get may hold the lock for a while
  if apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd >/dev/null 2>&1; then
    have && exit 0
  fi
  # The package lists may be missing or stale (a fresh container): refresh them, then retry.
  apt-get update -qq >/dev/null 2>&1 || true
  [ "$attempt" -gt 1 ] && sleep 5
done
echo "apt-get install dovecot-imapd failed" >&2
exit 1
