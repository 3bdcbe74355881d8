#!/usr/bin/env bash
# Audit events with curl: every change names who, with which key, in which request.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (an admin key: audit:read), CUSTOMER_ID.
set -euo pipefail
api="$HELPLINE_URL/api/v1"
auth=(-H "Authorization: Bearer $HELPLINE_API_KEY")
request_id="example-$(date +%s%N)"

# Make a change under a request id of our choosing (X-Request-ID is echoed and audited).
curl -sf "${auth[@]}" -H "Content-Type: application/json" -H "X-Request-ID: $request_id" \
  -X POST "$api/tickets" -d "{\"title\": \"Audit me\", \"customer_id\": \"$CUSTOMER_ID\"}" >/dev/null

# The events of that request (written by the database in the same transaction as the change).
curl -sf "${auth[@]}" -G "$api/audit-events" --data-urlencode "request_id=$request_id" |
  python3 -c 'import json,sys; p=json.load(sys.stdin); print([(e["action"], e["actor_type"], e["outcome"]) for e in p["data"]])'

# Filter by action (comma list) and page with meta.next_cursor, newest first.
curl -sf "${auth[@]}" -G "$api/audit-events" --data-urlencode "action=user.created" \
  --data-urlencode "limit=1" |
  python3 -c 'import json,sys; p=json.load(sys.stdin); print("user.created:", p["data"][0]["entity_type"], "more:", p["meta"]["has_more"])'

# A refused request is an event too (buffered, written within about a second).
curl -s -o /dev/null -H "Authorization: Bearer hl_not_a_real_key" -H "X-Request-ID: $request_id-bad" "$api/tickets"
for _ in $(seq 50); do
  found=$(curl -sf "${auth[@]}" -G "$api/audit-events" --data-urlencode "request_id=$request_id-bad" |
    python3 -c 'import json,sys; p=json.load(sys.stdin); print(" ".join(e["action"] + " " + e["outcome"] for e in p["data"]))')
  [ -n "$found" ] && break
  sleep 0.1
done
echo "refused: $found"
