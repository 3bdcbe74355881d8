"""Ticket CRUD, conditional requests and keyset pagination with httpx.

Needs: HELPLINE_URL, HELPLINE_API_KEY (agent or admin key), CUSTOMER_ID.
"""

import os

import httpx

client = httpx.Client(
    base_url=os.environ["HELPLINE_URL"] + "/api/v1",
    headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"},
)

# Create: 201 with the ticket; ETag carries its version.
created = client.post(
    "/tickets",
    json={"title": "Invoice shows the wrong VAT", "customer_id": os.environ["CUSTOMER_ID"]},
)
created.raise_for_status()
ticket = created.json()
print("created", ticket["id"], "version", ticket["version"], "etag", created.headers["ETag"])

# Conditional GET: an unchanged ticket answers 304 with no body.
again = client.get(f"/tickets/{ticket['id']}", headers={"If-None-Match": created.headers["ETag"]})
print("conditional get", again.status_code)

# Optimistic locking: a PATCH based on a stale version is merged when it sets other fields than
# the changes since; one that sets a field someone else changed gets 412 with both values.
client.patch(f"/tickets/{ticket['id']}", json={"priority": "urgent"}).raise_for_status()
merged = client.patch(
    f"/tickets/{ticket['id']}", json={"status": "pending"}, headers={"If-Match": '"1"'}
)
print("stale patch of another field", merged.status_code, "version", merged.json()["version"])
stale = client.patch(
    f"/tickets/{ticket['id']}", json={"priority": "low"}, headers={"If-Match": '"1"'}
)
problem = stale.json()
print("stale patch", stale.status_code, problem["type"], "current", problem["current_version"])
print("conflict", problem["conflicts"][0]["field"], problem["conflicts"][0]["current_value"])

# Errors are problem documents that name the field.
bad = client.post("/tickets", json={"title": "", "customer_id": os.environ["CUSTOMER_ID"]})
print("bad input", bad.status_code, bad.json()["errors"][0]["loc"])

# Keyset pagination: follow meta.next_cursor until has_more is false.
seen, cursor = 0, None
while True:
    params = {"limit": 2, "customer_id": os.environ["CUSTOMER_ID"]}
    if cursor:
        params["cursor"] = cursor
    page = client.get("/tickets", params=params).json()
    seen += len(page["data"])
    if not page["meta"]["has_more"]:
        break
    cursor = page["meta"]["next_cursor"]
print("paged through", seen, "tickets")
