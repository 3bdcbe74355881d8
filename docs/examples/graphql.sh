#!/usr/bin/env bash
# GraphQL with curl: create a ticket, reply to it, then a first query over the tickets connection.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (agent or admin key), CUSTOMER_ID.
set -euo pipefail
gql() {  # POST a GraphQL request (JSON on stdin); fail on any error
  curl -sf -H "Authorization: Bearer $HELPLINE_API_KEY" -H "Content-Type: application/json" \
    "$HELPLINE_URL/graphql" -d @- |
    python3 -c 'import json,sys; r=json.load(sys.stdin); assert not r.get("errors"), r; print(json.dumps(r["data"]))'
}

# A mutation: createTicket returns the new ticket (variables keep the query static).
created=$(gql <<JSON
{"query": "mutation Create(\$input: CreateTicketInput!) { createTicket(input: \$input) { id title status } }",
 "variables": {"input": {"title": "Export to CSV fails", "priority": "high", "customerId": "$CUSTOMER_ID"}}}
JSON
)
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["createTicket"]["id"])' <<<"$created")
echo "created $(python3 -c 'import json,sys; t=json.load(sys.stdin)["createTicket"]; print(t["title"], t["status"])' <<<"$created")"
gql >/dev/null <<JSON
{"query": "mutation { addMessage(input: {ticketId: \"$id\", message: \"Which browser do you use?\"}) { id } }"}
JSON

# A query: this customer's high-priority tickets, each with its customer and last message.
gql <<JSON | python3 -c 'import json,sys
for t in json.load(sys.stdin)["tickets"]["nodes"]:
    last = t["lastMessages"][0]["message"] if t["lastMessages"] else "-"
    print(t["title"], "|", t["customer"]["email"], "|", last)'
{"query": "query(\$customer: ID!) { tickets(first: 5, filter: {customerId: \$customer, priority: high}) { nodes { title customer { email } lastMessages(count: 1) { message } } pageInfo { hasNextPage endCursor } } }",
 "variables": {"customer": "$CUSTOMER_ID"}}
JSON
