"""The change feed and webhooks through GraphQL: same services, same visibility as REST."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpline.app import create_app
from helpline.config import Settings
from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

FEED = """
query Feed($after: String, $first: Int!, $ticketId: ID) {
  events(after: $after, first: $first, ticketId: $ticketId) {
    edges { cursor node { id type ticketId data } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def gql(client, actor, query: str, variables: dict[str, Any] | None = None) -> dict:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def hook_client(settings: Settings, db, redis, clock):
    allowed = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
    application = create_app(allowed, background=False, database=db, redis=redis, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as c:
            yield c


async def ticket_with_note(client, cast: Cast) -> str:
    r = await client.post(
        "/api/v1/tickets",
        json={"title": "Printer", "description": "", "customer_id": str(cast.alice.id)},
        headers=cast.agent.headers,
    )
    tid = r.json()["id"]
    for internal in (False, True):
        r = await client.post(
            f"/api/v1/tickets/{tid}/conversations",
            json={"message": f"internal={internal}", "is_internal": internal},
            headers=cast.agent.headers,
        )
        assert r.status_code == 201
    return tid


class TestEventsQuery:
    async def test_feed_matches_rest_and_resumes(self, hook_client, cast: Cast):
        tid = await ticket_with_note(hook_client, cast)
        body = await gql(hook_client, cast.admin, FEED, {"first": 2, "ticketId": tid})
        page = body["data"]["events"]
        assert [e["node"]["type"] for e in page["edges"]] == ["ticket_created", "message_created"]
        assert page["pageInfo"]["hasNextPage"] is True
        rest = (
            await hook_client.get(
                "/api/v1/events", params={"ticket_id": tid}, headers=cast.admin.headers
            )
        ).json()["data"]
        assert [e["node"]["id"] for e in page["edges"]] == [str(e["id"]) for e in rest[:2]]
        rest_page = await gql(
            hook_client,
            cast.admin,
            FEED,
            {"first": 10, "ticketId": tid, "after": page["pageInfo"]["endCursor"]},
        )
        [last] = rest_page["data"]["events"]["edges"]
        assert last["node"]["data"]["is_internal"] is True

    async def test_customer_never_sees_internal_notes(self, hook_client, cast: Cast):
        tid = await ticket_with_note(hook_client, cast)
        body = await gql(hook_client, cast.alice, FEED, {"first": 10, "ticketId": tid})
        data = [e["node"]["data"] for e in body["data"]["events"]["edges"]]
        assert [d.get("excerpt") for d in data] == [None, "internal=False"]


class TestWebhookMutations:
    async def test_create_rotate_disable_as_admin_only(self, hook_client, cast: Cast):
        create = """mutation($input: CreateWebhookInput!) {
          createWebhook(input: $input) { secret webhook { id url enabled eventTypes } } }"""
        body = await gql(
            hook_client,
            cast.admin,
            create,
            {"input": {"url": "http://127.0.0.1:9/h", "eventTypes": ["ticket_created"]}},
        )
        created = body["data"]["createWebhook"]
        assert created["secret"].startswith("whsec_")
        assert created["webhook"]["eventTypes"] == ["ticket.created"]
        wid = created["webhook"]["id"]
        rotate = """mutation($input: RotateWebhookSecretInput!) {
          rotateWebhookSecret(input: $input) { secret webhook { previousSecretExpiresAt } } }"""
        rotated = (await gql(hook_client, cast.admin, rotate, {"input": {"id": wid}}))["data"]
        assert rotated["rotateWebhookSecret"]["secret"] != created["secret"]
        assert rotated["rotateWebhookSecret"]["webhook"]["previousSecretExpiresAt"] is not None
        update = """mutation($input: UpdateWebhookInput!) {
          updateWebhook(input: $input) { enabled disabledReason } }"""
        off = await gql(hook_client, cast.admin, update, {"input": {"id": wid, "enabled": False}})
        assert off["data"]["updateWebhook"] == {
            "enabled": False,
            "disabledReason": "disabled by an admin",
        }
        listed = await gql(hook_client, cast.admin, "{ webhooks { id enabled } }")
        assert listed["data"]["webhooks"] == [{"id": wid, "enabled": False}]
        denied = await gql(hook_client, cast.agent, "{ webhooks { id } }")
        assert denied["data"] is None
        assert denied["errors"][0]["extensions"]["status"] == 403

    async def test_private_target_refused(self, hook_client, cast: Cast):
        create = """mutation($input: CreateWebhookInput!) {
          createWebhook(input: $input) { secret } }"""
        body = await gql(
            hook_client, cast.admin, create, {"input": {"url": "http://169.254.169.254/"}}
        )
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["type"] == "/problems/webhook-target-refused"
