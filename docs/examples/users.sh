#!/usr/bin/env bash
# Users with curl: an admin creates an agent, then lists the agents.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (an admin key: users:write).
set -euo pipefail
api="$HELPLINE_URL/api/v1"
auth=(-H "Authorization: Bearer $HELPLINE_API_KEY")
email="dana-$(date +%s%N)@example.com"

# Create an agent; a password is optional (it enables login to the web interface).
curl -sf "${auth[@]}" -H "Content-Type: application/json" -X POST "$api/users" \
  -d "{\"email\": \"$email\", \"name\": \"Dana Agent\", \"role\": \"agent\"}" |
  python3 -c 'import json,sys; u=json.load(sys.stdin); print("created", u["role"], u["email"], "active", u["is_active"])'

# List users, filtered by role and paginated with a keyset cursor (meta.next_cursor).
curl -sf "${auth[@]}" -G "$api/users" --data-urlencode "role=agent" --data-urlencode "limit=100" |
  python3 -c 'import json,sys,os; p=json.load(sys.stdin); print("agents include dana:", any(u["email"] == sys.argv[1] for u in p["data"]))' "$email"

# Only admins create users: an unknown role is rejected with a problem naming the field.
curl -s "${auth[@]}" -H "Content-Type: application/json" -X POST "$api/users" \
  -d '{"email": "x@example.com", "name": "X", "role": "owner"}' |
  python3 -c 'import json,sys; p=json.load(sys.stdin); print("bad role", p["status"], p["errors"][0]["loc"])'
