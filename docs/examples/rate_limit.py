"""Rate limits with httpx: on 429, wait the Retry-After seconds the server names, then retry.

Needs: HELPLINE_URL, HELPLINE_API_KEY.
"""

import os
import time

import httpx

client = httpx.Client(
    base_url=os.environ["HELPLINE_URL"] + "/api/v1",
    headers={"Authorization": f"Bearer {os.environ['HELPLINE_API_KEY']}"},
)


def get(path: str, max_attempts: int = 5) -> httpx.Response:
    """GET that honours Retry-After on 429 (the only status it retries)."""
    for _ in range(max_attempts):
        response = client.get(path)
        if response.status_code != 429:
            return response
        wait = int(response.headers["Retry-After"])
        print(f"429 {response.json()['type']}, retrying after {wait}s")
        time.sleep(wait)
    raise RuntimeError(f"still rate limited after {max_attempts} attempts")


for i in range(1, 6):
    response = get("/tickets?limit=1")
    # RateLimit: "api-key";r=<requests remaining>;t=<seconds until the window frees up>
    print(f"request {i}: {response.status_code} {response.headers['RateLimit']}")
