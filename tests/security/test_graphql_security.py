"""GraphQL security: visibility through every path of the graph, query-cost limits, lock-down.

Documented behaviour: an unseen ticket is ``null`` with a ``ticket-not-found`` error (as REST's
404); an unseen user is ``null`` (nested) or ``user-not-found`` (top level); lists leave unseen
items out; internal notes never reach customers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpline.app import create_app
from helpline.config import Environment
from helpline.graphql import limits
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_history, make_message, make_ticket

pytestmark = pytest.mark.security


async def gql(client, actor, query: str, variables: dict[str, Any] | None = None) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.fixture
async def tickets(session, cast: Cast):
    mine = await make_ticket(session, cast.alice.id, assigned_to=cast.agent.id)
    theirs = await make_ticket(session, cast.bob.id, title="Bob's secret")
    for ticket_id in (mine, theirs):
        await make_message(
            session, ticket_id, cast.agent.id, message="public reply", sender_type="agent"
        )
        await make_message(
            session,
            ticket_id,
            cast.agent.id,
            message="INTERNAL NOTE",
            sender_type="agent",
            is_internal=True,
        )
        await make_history(
            session,
            ticket_id,
            change_type="assignee_changed",
            old_value=None,
            new_value=str(cast.agent.id),
        )
    await session.commit()
    return mine, theirs


class TestCustomerIsolation:
    async def test_ticket_of_another_customer_is_not_found(self, client, cast: Cast, tickets):
        _, theirs = tickets
        body = await gql(
            client, cast.alice, "query($id: ID!) { ticket(id: $id) { title } }", {"id": str(theirs)}
        )
        assert body["data"] == {"ticket": None}
        assert codes(body) == ["ticket-not-found"]

    async def test_tickets_list_and_filters_never_show_another_customer(
        self, client, cast: Cast, tickets
    ):
        mine, _theirs = tickets
        body = await gql(
            client,
            cast.alice,
            """query($c: ID!) {
            all: tickets { edges { node { id } } }
            theirs: tickets(filter: {customerId: $c}) { edges { node { id } } }
            search: tickets(filter: {q: "secret"}) { edges { node { id } } }
        }""",
            {"c": str(cast.bob.id)},
        )
        data = body["data"]
        assert [e["node"]["id"] for e in data["all"]["edges"]] == [str(mine)]
        assert data["theirs"]["edges"] == []
        assert data["search"]["edges"] == []

    async def test_nested_user_paths_do_not_lead_to_other_customers(
        self, client, cast: Cast, tickets
    ):
        mine, _ = tickets
        body = await gql(
            client,
            cast.alice,
            """query($bob: ID!, $me: ID!) {
            bob: user(id: $bob) { tickets { edges { node { id } } } }
            self: user(id: $me) { tickets { edges { node { id customer { tickets {
                edges { node { id } } } } } } } }
            me { user { tickets { edges { node { id } } } } }
        }""",
            {"bob": str(cast.bob.id), "me": str(cast.alice.id)},
        )
        assert body["data"]["bob"] is None
        assert "user-not-found" in codes(body)
        nodes = body["data"]["self"]["tickets"]["edges"]
        assert [n["node"]["id"] for n in nodes] == [str(mine)]
        assert [e["node"]["id"] for e in nodes[0]["node"]["customer"]["tickets"]["edges"]] == [
            str(mine)
        ]
        assert [e["node"]["id"] for e in body["data"]["me"]["user"]["tickets"]["edges"]] == [
            str(mine)
        ]

    async def test_user_tickets_of_another_customer_is_empty_even_for_a_staff_view(
        self, client, cast: Cast, tickets
    ):
        # the agent sees bob's tickets; alice's view of the same path is closed at `user`
        body = await gql(
            client,
            cast.agent,
            "query($b: ID!) { user(id: $b) { tickets { edges { node { id } } } } }",
            {"b": str(cast.bob.id)},
        )
        assert len(body["data"]["user"]["tickets"]["edges"]) == 1

    async def test_internal_notes_and_staff_history_never_reach_customers(
        self, client, cast: Cast, tickets
    ):
        mine, _ = tickets
        query = """query($id: ID!) {
            ticket(id: $id) {
              messages { edges { node { message isInternal } } }
              lastMessages(count: 5) { message isInternal }
              history { edges { node { changeType } } }
              assignee { email }
            }
            tickets { edges { node { lastMessages { message } messages { nodes { message } } } } }
            ticketHistory(ticketId: $id) { nodes { changeType } }
        }"""
        body = await gql(client, cast.alice, query, {"id": str(mine)})
        assert "errors" not in body, body
        text = str(body["data"])
        assert "INTERNAL NOTE" not in text
        assert "assignee_changed" not in text
        assert "public reply" in text
        assert body["data"]["ticket"]["assignee"] is None  # agents' records need users:read
        staff = await gql(client, cast.agent, query, {"id": str(mine)})
        assert "INTERNAL NOTE" in str(staff["data"])
        assert "assignee_changed" in str(staff["data"])

    async def test_customers_cannot_list_users_or_audit(self, client, cast: Cast):
        body = await gql(client, cast.alice, "{ users { nodes { id } } }")
        assert codes(body) == ["permission-denied"]
        body = await gql(client, cast.agent, "{ auditEvents { nodes { id } } }")
        assert codes(body) == ["permission-denied"]


def _aliases(n: int) -> str:
    return " ".join(f"a{i}: __typename" for i in range(n))


class TestLimits:
    """Every limit rejects before any resolver runs (no SQL beyond authentication)."""

    @pytest.fixture
    def no_resolvers(self, monkeypatch):
        called = []
        from helpline.graphql import ticket

        async def boom(*args, **kwargs):
            called.append(True)
            raise AssertionError("resolver ran")

        monkeypatch.setattr(ticket.ticket_service, "list_tickets", boom)
        monkeypatch.setattr(ticket.ticket_service, "get_ticket", boom)
        return called

    async def test_depth(self, client, cast: Cast, no_resolvers):
        deep = (
            "{ tickets { edges { node { customer { tickets { edges { node { customer "
            "{ tickets { edges { node { id } } } } } } } } } } } }"
        )
        body = await gql(client, cast.agent, deep)
        assert codes(body) == ["bad-request"]
        assert body["errors"][0]["extensions"]["limit"] == "depth"
        assert body.get("data") is None
        assert not no_resolvers

    async def test_depth_through_fragments(self, client, cast: Cast, no_resolvers):
        query = """{ tickets { ...A } }
        fragment A on TicketConnection { edges { node { customer { tickets { ...B } } } } }
        fragment B on TicketConnection { edges { node { customer { tickets { ...C } } } } }
        fragment C on TicketConnection { edges { node { id } } }"""
        body = await gql(client, cast.agent, query)
        assert body["errors"][0]["extensions"]["limit"] == "depth"
        assert not no_resolvers

    async def test_aliases(self, client, cast: Cast, no_resolvers):
        body = await gql(client, cast.agent, f"{{ {_aliases(limits.MAX_ALIASES + 1)} }}")
        assert body["errors"][0]["extensions"]["limit"] == "aliases"

    async def test_aliases_hidden_in_fragment_spreads_are_counted(
        self, client, cast: Cast, no_resolvers
    ):
        # 5 aliases in a fragment spread 5 times: 25 > 20 although the operation itself has none
        query = (
            "{ ...F ...F ...F ...F ...F tickets { edges { cursor } } }\n"
            f"fragment F on Query {{ {_aliases(5)} }}"
        )
        body = await gql(client, cast.agent, query)
        assert body["errors"][0]["extensions"]["limit"] == "aliases"
        assert not no_resolvers

    async def test_fragment_bomb_is_measured_quickly_and_rejected(self, client, cast: Cast):
        fragments = ["fragment F0 on Query { a: __typename }"]
        for i in range(1, 30):
            fragments.append(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}")
        body = await gql(client, cast.agent, "{ ...F29 }\n" + "\n".join(fragments))
        assert "aliases" in [e["extensions"].get("limit") for e in body["errors"]]

    async def test_tokens(self, client, cast: Cast, no_resolvers):
        query = "{ tickets { edges { cursor " + "cursor " * limits.MAX_TOKENS + "} } }"
        body = await gql(client, cast.agent, query)
        assert codes(body) == ["bad-request"]
        assert "tokens" in body["errors"][0]["message"]
        assert not no_resolvers

    async def test_batch_size(self, client, cast: Cast, no_resolvers):
        batch = [{"query": "{ __typename }"}] * (limits.MAX_BATCH + 1)
        response = await client.post("/graphql", json=batch, headers=cast.agent.headers)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert not no_resolvers

    async def test_page_size(self, client, cast: Cast):
        body = await gql(client, cast.agent, "{ tickets(first: 101) { nodes { id } } }")
        assert codes(body) == ["validation-error"]


class TestRateLimit:
    async def test_each_operation_and_each_mutation_alias_counts(
        self, client, cast: Cast, session, monkeypatch
    ):
        from helpline.graphql import limits as limits_module

        hits = []

        async def count(request, principal):
            hits.append(principal.user_id)

        monkeypatch.setattr(limits_module, "limit_principal", count)
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        mutation = """mutation($t: ID!) {
            a: addMessage(input: {ticketId: $t, message: "1"}) { id }
            b: addMessage(input: {ticketId: $t, message: "2"}) { id }
            c: addMessage(input: {ticketId: $t, message: "3"}) { id }
        }"""
        await gql(client, cast.agent, mutation, {"t": str(ticket_id)})
        assert len(hits) == 2  # 3 aliases: the request's own hit + 2 more
        hits.clear()
        batch = [{"query": "{ __typename }"}] * 3
        await client.post("/graphql", json=batch, headers=cast.agent.headers)
        assert len(hits) == 2  # 3 operations: the request's own hit + 2 more


class TestProductionLockDown:
    @pytest.fixture
    async def prod_client(self, settings, db, redis, clock):
        prod = settings.model_copy(update={"env": Environment.production})
        app = create_app(prod, background=False, database=db, redis=redis, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://h.test") as c:
                yield c

    async def test_introspection_and_suggestions_are_off(self, prod_client, cast: Cast):
        body = await gql(prod_client, cast.agent, "{ __schema { types { name } } }")
        assert body.get("data") is None
        assert set(codes(body)) == {"bad-request"}
        body = await gql(prod_client, cast.agent, "{ tickts { nodes { id } } }")
        assert "Did you mean" not in body["errors"][0]["message"]

    async def test_introspection_on_in_test_profile(self, client, cast: Cast):
        body = await gql(client, cast.agent, "{ __schema { queryType { name } } }")
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
