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

        hits: list[int] = []

        async def count(request, principal, cost=1):
            hits.extend([cost] * cost)

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


def remaining(response: httpx.Response) -> int:
    """The `r` of the RateLimit header: requests left in the window."""
    return int(response.headers["ratelimit"].split(";r=")[1].split(";")[0])


PROBE = (  # the black-box probe's query: 100 x 100 x 100 tickets, one million nodes
    "{ tickets(first:100){ nodes{ customer{ tickets(first:100){ nodes{ customer{ "
    "tickets(first:100){ nodes{ id }}}}}}}}}"
)


class TestCost:
    """Static cost: list sizes multiply; too costly is refused before anything runs; the rate
    limit is charged ceil(nodes / 100)."""

    @pytest.fixture
    def no_resolvers(self, monkeypatch):
        called = []
        from helpline.graphql import ticket

        async def boom(*args, **kwargs):
            called.append(True)
            raise AssertionError("resolver ran")

        for name in ("list_tickets", "get_ticket", "create_ticket"):
            monkeypatch.setattr(ticket.ticket_service, name, boom)
        return called

    async def test_the_probes_million_node_query_is_refused_with_cost_and_limit(
        self, client, cast: Cast, no_resolvers
    ):
        for actor in (cast.alice, cast.agent):
            response = await client.post("/graphql", json={"query": PROBE}, headers=actor.headers)
            assert response.status_code == 200
            body = response.json()
            assert body["data"] is None
            [error] = body["errors"]
            extensions = error["extensions"]
            assert extensions["code"] == "query-too-costly"
            assert extensions["type"] == "/problems/query-too-costly"
            assert extensions["status"] == 400
            assert extensions["cost"] == 100 + 100 * 100 + 100 * 100 * 100
            assert extensions["limit"] == 10_000
            assert "1,010,100" in error["message"]
            assert "10,000" in error["message"]
        assert not no_resolvers

    async def test_a_customers_smaller_probe_is_refused_too(self, client, cast: Cast):
        query = (
            "{ tickets(first:100){ nodes{ customer{ tickets(first:100){ nodes{ customer{ "
            "tickets(first:5){ nodes{ id }}}}}}}}}"
        )
        body = await gql(client, cast.alice, query)
        assert codes(body) == ["query-too-costly"]
        assert body["errors"][0]["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 5

    async def test_absent_sizes_count_their_default_page_size(self, client, cast: Cast):
        query = (
            "{ tickets { nodes { customer { tickets { nodes { messages { nodes { id } } } } } } } }"
        )
        body = await gql(client, cast.agent, query)
        assert codes(body) == ["query-too-costly"]
        assert body["errors"][0]["extensions"]["cost"] == 25 * (1 + 25 * (1 + 25))

    async def test_variables_and_fragments_are_counted(self, client, cast: Cast):
        query = """query Q($n: Int!) { tickets(first: $n) { ...T } }
        fragment T on TicketConnection { nodes { customer { tickets(first: $n) { nodes { id } } } } }
        """
        body = await gql(client, cast.agent, query, {"n": 100})
        assert codes(body) == ["query-too-costly"]
        assert body["errors"][0]["extensions"]["cost"] == 100 * (1 + 100)
        body = await gql(client, cast.agent, query, {"n": 50})
        assert "errors" not in body, body
        assert body["extensions"]["cost"] == {"nodes": 2550, "requests": 26, "limit": 10_000}

    async def test_a_too_costly_mutation_changes_nothing(self, client, cast: Cast, session):
        from sqlalchemy import func, select

        from helpline.models import Ticket

        before = await session.scalar(select(func.count()).select_from(Ticket))
        mutation = """mutation { createTicket(input: {title: "costly"}) { id
            customer { tickets(first: 100) { nodes { messages(first: 100) { nodes { id } } } } }
        } }"""
        body = await gql(client, cast.alice, mutation)
        assert codes(body) == ["query-too-costly"]
        assert body["data"] is None
        assert await session.scalar(select(func.count()).select_from(Ticket)) == before

    async def test_the_rate_limit_is_charged_by_cost(self, client, cast: Cast):
        cheap = await client.post(
            "/graphql", json={"query": "{ me { scopes } }"}, headers=cast.agent.headers
        )
        assert cheap.json()["extensions"]["cost"] == {"nodes": 0, "requests": 1, "limit": 10_000}
        query = (
            "{ tickets(first: 50) { nodes { customer { tickets(first: 50) { nodes { id } } } } } }"
        )
        costly = await client.post("/graphql", json={"query": query}, headers=cast.agent.headers)
        assert costly.json()["extensions"]["cost"]["requests"] == 26  # ceil(2550 / 100)
        assert remaining(cheap) - remaining(costly) == 26

    async def test_several_operations_need_an_operation_name(
        self, client, cast: Cast, no_resolvers
    ):
        document = "query A { me { scopes } } query B { tickets { nodes { id } } }"
        body = await gql(client, cast.agent, document)
        assert codes(body) == ["operation-name-required"]
        assert body["errors"][0]["extensions"]["status"] == 400
        assert body["data"] is None
        named = await client.post(
            "/graphql",
            json={"query": document, "operationName": "A"},
            headers=cast.agent.headers,
        )
        assert named.json()["data"]["me"]["scopes"]
        assert not no_resolvers

    @pytest.mark.parametrize("params", [{}, {"query": "{ me { scopes } }"}])
    async def test_get_is_a_405_problem_that_agrees_with_the_catalogue(
        self, client, cast: Cast, params
    ):
        response = await client.get("/graphql", params=params, headers=cast.agent.headers)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "/problems/method-not-allowed"
        assert body["status"] == 405


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
