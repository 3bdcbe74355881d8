"""GraphQL gaps closed: addMessage takes attachmentIds like REST; ticket lists share REST's cache."""

from __future__ import annotations

import pytest

from helpline.kit.cache import CACHE_REQUESTS
from tests.fixtures.actors import Cast
from tests.fixtures.attachments import app, attachment_settings, attachments_root, png, upload

pytestmark = pytest.mark.integration
__all__ = ["app", "attachment_settings", "attachments_root"]  # fixtures used by this module

ADD = """
mutation($i: AddMessageInput!) { addMessage(input: $i) { id attachments } }
"""


def list_hits() -> float:
    return CACHE_REQUESTS.get(cache="list", result="hit")


class TestAddMessageAttachments:
    async def test_attachment_ids_bind_uploads_as_rest_does(self, client, cast: Cast):
        ticket = await client.post(
            "/api/v1/tickets", json={"title": "with a file"}, headers=cast.alice.headers
        )
        ticket_id = ticket.json()["id"]
        uploaded = (await upload(client, cast.alice.headers, png())).json()
        r = await client.post(
            "/graphql",
            json={
                "query": ADD,
                "variables": {
                    "i": {
                        "ticketId": ticket_id,
                        "message": "see",
                        "attachmentIds": [uploaded["id"]],
                    }
                },
            },
            headers=cast.alice.headers,
        )
        body = r.json()
        assert "errors" not in body, body
        [descriptor] = body["data"]["addMessage"]["attachments"]
        assert descriptor["id"] == uploaded["id"]
        assert descriptor["sha256"] == uploaded["sha256"]
        listed = await client.get(
            f"/api/v1/tickets/{ticket_id}/conversations", headers=cast.alice.headers
        )
        [message] = listed.json()["data"]
        assert message["id"] == body["data"]["addMessage"]["id"]
        assert [a["id"] for a in message["attachments"]] == [uploaded["id"]]
        again = await client.post(
            "/graphql",
            json={
                "query": ADD,
                "variables": {
                    "i": {
                        "ticketId": ticket_id,
                        "message": "again",
                        "attachmentIds": [uploaded["id"]],
                    }
                },
            },
            headers=cast.alice.headers,
        )
        assert again.json()["errors"][0]["extensions"]["status"] in (404, 409, 422)

    async def test_a_malformed_attachment_id_is_a_validation_error(self, client, cast: Cast):
        ticket = await client.post(
            "/api/v1/tickets", json={"title": "bad id"}, headers=cast.alice.headers
        )
        r = await client.post(
            "/graphql",
            json={
                "query": ADD,
                "variables": {
                    "i": {
                        "ticketId": ticket.json()["id"],
                        "message": "x",
                        "attachmentIds": ["nope"],
                    }
                },
            },
            headers=cast.alice.headers,
        )
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "validation-error"
        assert error["extensions"]["errors"][0]["loc"] == ["input", "attachmentIds", "0"]


LIST = """
query { tickets(first: 5) { edges { cursor node { id title version } }
  pageInfo { hasNextPage endCursor } } }
"""


class TestTicketListCache:
    async def test_graphql_and_rest_share_the_list_cache(self, client, cast: Cast):
        for i in range(7):
            await client.post(
                "/api/v1/tickets", json={"title": f"t{i}"}, headers=cast.alice.headers
            )
        rest = await client.get("/api/v1/tickets?limit=5", headers=cast.alice.headers)  # fills
        before = list_hits()
        first = await client.post("/graphql", json={"query": LIST}, headers=cast.alice.headers)
        assert list_hits() == before + 1  # served from the entry REST filled
        data = first.json()["data"]["tickets"]
        assert [e["node"]["id"] for e in data["edges"]] == [t["id"] for t in rest.json()["data"]]
        assert data["pageInfo"] == {
            "hasNextPage": True,
            "endCursor": rest.json()["meta"]["next_cursor"],
        }
        assert data["edges"][-1]["cursor"] == data["pageInfo"]["endCursor"]
        second = await client.post("/graphql", json={"query": LIST}, headers=cast.alice.headers)
        assert list_hits() == before + 2
        assert second.json() == first.json()
        # a write invalidates it for both transports
        changed = await client.patch(
            f"/api/v1/tickets/{data['edges'][0]['node']['id']}",
            json={"title": "renamed"},
            headers=cast.alice.headers,
        )
        assert changed.status_code == 200
        third = await client.post("/graphql", json={"query": LIST}, headers=cast.alice.headers)
        assert third.json()["data"]["tickets"]["edges"][0]["node"]["title"] == "renamed"
