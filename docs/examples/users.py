"""Users with httpx: an admin creates an agent, then lists users page by page.

Needs: HELPLINE_URL, HELPLINE_API_KEY (an admin key: users:write).
"""

import os
import uuid

import httpx

client = httpx.Client(
    base_url=os.environ["HELPLINE_URL"] + "/api/v1",
    headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"},
)

# Create an agent: 201 with the user and its Location.
email = f"sam-{uuid.uuid4().hex[:8]}@example.com"
created = client.post("/users", json={"email": email, "name": "Sam Agent", "role": "agent"})
created.raise_for_status()
agent = created.json()
print(
    "created",
    agent["role"],
    "location",
    created.headers["Location"] == f"/api/v1/users/{agent['id']}",
)

# The email is unique case-insensitively: a second account is a 409 problem.
again = client.post("/users", json={"email": email.upper(), "name": "Sam", "role": "agent"})
print("duplicate", again.status_code, again.json()["type"])

# List every agent, following meta.next_cursor.
emails, cursor = [], None
while True:
    params = {"role": "agent", "limit": 50} | ({"cursor": cursor} if cursor else {})
    page = client.get("/users", params=params).json()
    emails += [u["email"] for u in page["data"]]
    if not page["meta"]["has_more"]:
        break
    cursor = page["meta"]["next_cursor"]
print("listed agents include sam:", email in emails)
