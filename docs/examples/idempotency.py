"""Idempotent retries with httpx: retry a POST safely with an Idempotency-Key.

Needs: HELPLINE_URL, HELPLINE_API_KEY (agent or admin key), CUSTOMER_ID.
"""

import os
import uuid

import httpx

client = httpx.Client(
    base_url=os.environ["HELPLINE_URL"] + "/api/v1",
    headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"},
)
body = {"title": "Charged twice", "customer_id": os.environ["CUSTOMER_ID"]}
headers = {"Idempotency-Key": str(uuid.uuid4())}  # one key per logical operation, reused by retries

first = client.post("/tickets", json=body, headers=headers)
retry = client.post("/tickets", json=body, headers=headers)  # e.g. after a network timeout
print("first", first.status_code, "replayed", first.headers.get("Idempotent-Replayed"))
print("retry", retry.status_code, "replayed", retry.headers.get("Idempotent-Replayed"))
print("same ticket", first.json()["id"] == retry.json()["id"])

# The same key with a different body is a client bug, not a retry: 422.
other = client.post("/tickets", json={**body, "title": "Something else"}, headers=headers)
print("different body", other.status_code, other.json()["type"])
