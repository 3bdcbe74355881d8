#!/usr/bin/env bash
# API keys with curl: create a scoped key, rotate it with a grace period, revoke the old one.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (any key with api_keys:write).
set -euo pipefail
api="$HELPLINE_URL/api/v1"
json=(-H "Content-Type: application/json")
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
status() { curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $1" "$api/auth/me"; }

# Create a read-only key for an integration; the secret is in this response only.
created=$(curl -sf -H "Authorization: Bearer $HELPLINE_API_KEY" "${json[@]}" -X POST "$api/api-keys" \
  -d '{"name": "reporting", "scopes": ["tickets:read"]}')
old_id=$(field id <<<"$created"); old_key=$(field key <<<"$created")
curl -sf -H "Authorization: Bearer $old_key" "$api/auth/me" | field scopes | sed 's/^/scopes /'

# Rotate (with a key allowed to manage keys): a new secret; the old one keeps working for the
# grace period (here one hour), so clients can switch without downtime.
rotated=$(curl -sf -H "Authorization: Bearer $HELPLINE_API_KEY" "${json[@]}" -X POST "$api/api-keys/$old_id/rotate" \
  -d '{"grace_period_seconds": 3600}')
new_key=$(field key <<<"$rotated")
echo "during grace: old $(status "$old_key") new $(status "$new_key")"

# Once every client uses the new key, revoke the old one: it stops working at once.
curl -sf -H "Authorization: Bearer $HELPLINE_API_KEY" -X DELETE "$api/api-keys/$old_id" -o /dev/null -w "revoked %{http_code}\n"
echo "after revoke: old $(status "$old_key") new $(status "$new_key")"
