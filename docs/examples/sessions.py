"""Login sessions (the web interface's way in) with httpx: log in, use the CSRF token, change
the password, log out.

Needs: HELPLINE_URL, HELPLINE_API_KEY (an admin key, to create the user who logs in).
"""

import os
import uuid

import httpx

base = os.environ["HELPLINE_URL"] + "/api/v1"
admin = httpx.Client(
    base_url=base, headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"}
)

# An admin creates a user with a password (≥ 12 characters, not common, not the email or name).
email = f"robin-{uuid.uuid4().hex[:8]}@example.com"
password = "amber-Falcon-62-rivet"  # noqa: S105 - an example account
admin.post(
    "/users", json={"email": email, "name": "Robin", "role": "agent", "password": password}
).raise_for_status()

# The browser side: a client that keeps cookies. Login sets an HttpOnly session cookie and
# returns the CSRF token to send as X-CSRF-Token on every unsafe request.
web = httpx.Client(base_url=base)
login = web.post("/auth/login", json={"email": email, "password": password})
csrf = login.json()["csrf_token"]
print("login", login.status_code, "expires_in", login.json()["expires_in"])
print("me via", web.get("/auth/me").json()["authenticated_by"])

# Unsafe methods without the CSRF token are refused (403), with it they work.
new_password = "cobalt-Meadow-18-signal"  # noqa: S105 - an example account
change = {"current_password": password, "new_password": new_password}
print("without csrf", web.post("/auth/password", json=change).json()["type"])
changed = web.post("/auth/password", json=change, headers={"X-CSRF-Token": csrf})
print(
    "password changed",
    changed.status_code,
    "this session still works:",
    web.get("/auth/me").status_code,
)

# Logging out ends the session on the server.
print("logout", web.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code)
print("after logout", web.get("/auth/me").json()["type"])
