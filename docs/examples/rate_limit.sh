#!/usr/bin/env bash
# Rate limits with curl: read the RateLimit headers, and on 429 wait Retry-After seconds, then retry.
# Needs: HELPLINE_URL, HELPLINE_API_KEY.
set -euo pipefail
headers=$(mktemp); trap 'rm -f "$headers"' EXIT
for i in 1 2 3 4 5; do
  while true; do
    code=$(curl -s -D "$headers" -o /dev/null -w "%{http_code}" \
      -H "Authorization: Bearer $HELPLINE_API_KEY" "$HELPLINE_URL/api/v1/tickets?limit=1")
    [ "$code" != 429 ] && break
    wait=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')
    echo "request $i: 429, retrying after ${wait}s"
    sleep "$wait"
  done
  echo "request $i: $code $(tr -d '\r' <"$headers" | grep -i '^ratelimit:')"
done
