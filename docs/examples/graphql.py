"""GraphQL with httpx: a createTicket mutation, then a first query over the tickets connection.

Needs: HELPLINE_URL, HELPLINE_API_KEY (agent or admin key), CUSTOMER_ID.
"""

import os

import httpx

client = httpx.Client(
    base_url=os.environ["HELPLINE_URL"],
    headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"},
)


def graphql(query: str, **variables: object) -> dict:
    """POST /graphql; errors come back with HTTP 200 in `errors` (each with extensions.code)."""
    result = client.post("/graphql", json={"query": query, "variables": variables}).json()
    if result.get("errors"):
        raise RuntimeError(result["errors"])
    return result["data"]


CREATE = """
mutation Create($input: CreateTicketInput!) {
  createTicket(input: $input) { id title status version }
}"""
ticket = graphql(
    CREATE, input={"title": "Dark mode is unreadable", "customerId": os.environ["CUSTOMER_ID"]}
)
print("created", ticket["createTicket"]["status"], "version", ticket["createTicket"]["version"])

REPLY = """
mutation Reply($ticket: ID!) {
  addMessage(input: {ticketId: $ticket, message: "Fixed in 2.3, please update."}) { senderType }
}"""
print("replied as", graphql(REPLY, ticket=ticket["createTicket"]["id"])["addMessage"]["senderType"])

# One request fetches tickets, their customers and last messages (batched on the server).
TICKETS = """
query Tickets($customer: ID!, $after: String) {
  tickets(first: 10, after: $after, filter: {customerId: $customer}) {
    nodes { id title customer { email } lastMessages(count: 1) { message } }
    pageInfo { hasNextPage endCursor }
  }
}"""
page = graphql(TICKETS, customer=os.environ["CUSTOMER_ID"])["tickets"]
mine = next(t for t in page["nodes"] if t["id"] == ticket["createTicket"]["id"])
print(
    "query:", mine["title"], "|", mine["customer"]["email"], "|", mine["lastMessages"][0]["message"]
)
print("has next page", page["pageInfo"]["hasNextPage"])
