#!/usr/bin/env bash
# Ticket CRUD, metadata and conversations with curl.
# Needs: HELPLINE_URL (e.g. http://127.0.0.1:8000), HELPLINE_API_KEY (an agent or admin key),
# CUSTOMER_ID (a customer's user id).
set -euo pipefail
api="$HELPLINE_URL/api/v1"
auth=(-H "Authorization: Bearer $HELPLINE_API_KEY")
json=(-H "Content-Type: application/json")

# Create a ticket for a customer; the response is the ticket, with its id and version.
ticket=$(curl -sf "${auth[@]}" "${json[@]}" -X POST "$api/tickets" \
  -d "{\"title\": \"Cannot reset my password\", \"priority\": \"high\", \"customer_id\": \"$CUSTOMER_ID\"}")
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$ticket")
echo "created $id"

# Change its status, only if nobody changed it since (If-Match with the version we saw).
curl -sf "${auth[@]}" "${json[@]}" -X PATCH "$api/tickets/$id" -H 'If-Match: "1"' \
  -d '{"status": "open"}' >/dev/null
echo "opened"

# Attach metadata and reply to the customer.
curl -sf "${auth[@]}" "${json[@]}" -X PUT "$api/tickets/$id/metadata/plan" -d '{"value": "pro"}' >/dev/null
curl -sf "${auth[@]}" "${json[@]}" -X POST "$api/tickets/$id/conversations" \
  -d '{"message": "I have sent you a new reset link."}' >/dev/null

# Read it back: metadata is included, and the version counts every change.
curl -sf "${auth[@]}" "$api/tickets/$id" |
  python3 -c 'import json,sys; t=json.load(sys.stdin); print("status", t["status"], "version", t["version"], "metadata", t["metadata"])'

# Find it again: open, high-priority tickets of this customer mentioning "password".
curl -sf "${auth[@]}" -G "$api/tickets" --data-urlencode "status=open" --data-urlencode "priority=high" \
  --data-urlencode "customer_id=$CUSTOMER_ID" --data-urlencode "q=password" |
  python3 -c 'import json,sys; print("found", len(json.load(sys.stdin)["data"]))'

# Soft-delete it.
curl -sf "${auth[@]}" -X DELETE "$api/tickets/$id" -o /dev/null -w "deleted %{http_code}\n"
