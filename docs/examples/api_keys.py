"""API keys with httpx: create with scopes, rotate with a grace period, revoke.

Needs: HELPLINE_URL, HELPLINE_API_KEY (any key with api_keys:write).
"""

import os

import httpx

api = os.environ["HELPLINE_URL"] + "/api/v1"


def client(key: str) -> httpx.Client:
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"})


admin = client(os.environ["HELPLINE_API_KEY"])

# Create a key that may only read and write tickets; `key` is shown only now, store it.
created = admin.post(
    "/api-keys", json={"name": "billing sync", "scopes": ["tickets:read", "tickets:write"]}
)
created.raise_for_status()
old = created.json()
print("created", old["prefix"] == old["key"][: len(old["prefix"])], "scopes", old["scopes"])

# Scopes are enforced: this key may not list users.
print("users with a tickets key", client(old["key"]).get("/users").status_code)

# Rotate with a 10-minute grace period: both secrets work until it ends.
rotated = admin.post(f"/api-keys/{old['id']}/rotate", json={"grace_period_seconds": 600})
new = rotated.json()
print("rotated", rotated.status_code, "same lineage", new["lineage_id"] == old["lineage_id"])
print("old key during grace", client(old["key"]).get("/auth/me").status_code)

# Revoke the old key: it fails with 401 at once, the new key keeps working.
print("revoke", admin.delete(f"/api-keys/{old['id']}").status_code)
gone = client(old["key"]).get("/auth/me")
print("old key after revoke", gone.status_code, gone.json()["type"])
print("new key", client(new["key"]).get("/auth/me").status_code)
