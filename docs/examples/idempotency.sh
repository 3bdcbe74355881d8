#!/usr/bin/env bash
# Idempotent retries with curl: the same POST sent twice with one Idempotency-Key creates one ticket.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (agent or admin key), CUSTOMER_ID.
set -euo pipefail
key=$(python3 -c 'import uuid; print(uuid.uuid4())')  # one fresh key per logical operation
create() {
  curl -sf -D - -o /tmp/idem-body.$$ -H "Authorization: Bearer $HELPLINE_API_KEY" \
    -H "Content-Type: application/json" -H "Idempotency-Key: $key" -X POST "$HELPLINE_URL/api/v1/tickets" \
    -d "{\"title\": \"Refund not received\", \"customer_id\": \"$CUSTOMER_ID\"}" |
    tr -d '\r' | grep -i '^idempotent-replayed:' || echo "idempotent-replayed: (absent)"
  python3 -c 'import json,sys; print("ticket", json.load(open(sys.argv[1]))["id"])' /tmp/idem-body.$$
}
create   # the first attempt creates the ticket...
create   # ...a retry (say, after a timeout) replays the stored response
rm -f /tmp/idem-body.$$
