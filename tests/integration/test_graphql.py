"""GraphQL API through the real app: parity with REST, errors, transactions, DataLoaders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, select

from helpline.models import Ticket
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_message, make_metadata, make_ticket

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"
TICKET_FIELDS = (
    "id number title description status priority createdAt updatedAt assignedTo customerId version"
    " teamId tags"
)


async def gql(client, actor, query: str, variables: dict[str, Any] | None = None, **kw) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=actor.headers, **kw
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def snake(ticket: dict) -> dict:
    """A GraphQL ticket in the REST representation's field names."""
    names = {
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "assignedTo": "assigned_to",
        "customerId": "customer_id",
        "teamId": "team_id",
    }
    return {names.get(k, k): v for k, v in ticket.items()}


def rest_time(value: str) -> str:
    return value.replace("Z", "+00:00")


CREATE = f"""
mutation($input: CreateTicketInput!) {{ createTicket(input: $input) {{ {TICKET_FIELDS} }} }}
"""
UPDATE = f"""
mutation($input: UpdateTicketInput!) {{ updateTicket(input: $input) {{ {TICKET_FIELDS} }} }}
"""


class TestTicketParity:
    async def test_get_ticket_matches_rest(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id, assigned_to=cast.agent.id)
        await make_metadata(session, ticket_id, "plan", "pro")
        await session.commit()
        rest = (await client.get(f"{API}/{ticket_id}", headers=cast.agent.headers)).json()
        body = await gql(
            client,
            cast.agent,
            f"query($id: ID!) {{ ticket(id: $id) {{ {TICKET_FIELDS} metadata sla {{ policy }} }} }}",
            {"id": str(ticket_id)},
        )
        assert "errors" not in body
        got = snake(body["data"]["ticket"])
        for key in ("created_at", "updated_at"):
            assert got.pop(key).replace("+00:00", "Z")[:19] == rest.pop(key)[:19]
        assert rest["sla"] is None  # staff see the block; no policy applies here
        assert got == rest

    async def test_list_with_filters_and_pages_matches_rest(self, client, cast: Cast, session):
        for i in range(5):
            ticket_id = await make_ticket(
                session, cast.alice.id, title=f"Printer {i}", status="open" if i % 2 else "new"
            )
            await make_metadata(session, ticket_id, "tier", "gold" if i < 3 else "silver")
        await make_ticket(session, cast.bob.id, title="Printer bob")
        await session.commit()
        params = {"status": "new,open", "q": "printer", "metadata.tier": "gold", "limit": 2}
        rest_ids, cursor = [], None
        while True:
            page = (
                await client.get(
                    API,
                    params={**params, **({"cursor": cursor} if cursor else {})},
                    headers=cast.alice.headers,
                )
            ).json()
            rest_ids += [t["id"] for t in page["data"]]
            if not (cursor := page["meta"]["next_cursor"]):
                break
        query = """
        query($after: String) {
          tickets(first: 2, after: $after, sort: updated_desc,
                  filter: {status: [new, open], q: "printer", metadata: [{key: "tier", value: "gold"}]}) {
            edges { cursor node { id } } pageInfo { hasNextPage endCursor }
          }
        }"""
        gql_ids, after = [], None
        while True:
            body = await gql(client, cast.alice, query, {"after": after})
            conn = body["data"]["tickets"]
            gql_ids += [e["node"]["id"] for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
            assert after == conn["edges"][-1]["cursor"]
        assert gql_ids == rest_ids
        assert len(gql_ids) == 3

    async def test_a_forged_cursor_is_the_invalid_cursor_problem_as_in_rest(
        self, client, cast: Cast
    ):
        body = await gql(
            client,
            cast.agent,
            "query($after: String) { tickets(first: 2, after: $after) { edges { cursor } } }",
            {"after": "not-a-cursor"},
        )
        assert codes(body) == ["invalid-cursor"]
        assert body["errors"][0]["extensions"]["status"] == 400
        assert body["data"] is None or body["data"].get("tickets") is None

    async def test_create_update_delete_like_rest(self, client, cast: Cast, session):
        body = await gql(
            client,
            cast.agent,
            CREATE,
            {
                "input": {
                    "title": "Printer on fire",
                    "priority": "high",
                    "customerId": str(cast.alice.id),
                    "assignedTo": str(cast.agent.id),
                }
            },
        )
        ticket = body["data"]["createTicket"]
        assert ticket["status"] == "new"
        assert ticket["priority"] == "high"
        assert ticket["version"] == 1
        assert uuid.UUID(ticket["id"]).version == 7
        body = await gql(
            client,
            cast.agent,
            UPDATE,
            {
                "input": {
                    "id": ticket["id"],
                    "status": "open",
                    "assignedTo": None,
                    "expectedVersion": 1,
                }
            },
        )
        updated = body["data"]["updateTicket"]
        assert updated["status"] == "open"
        assert updated["assignedTo"] is None
        assert updated["version"] == 2
        rest = (await client.get(f"{API}/{ticket['id']}", headers=cast.agent.headers)).json()
        assert rest["status"] == "open"
        assert rest["version"] == 2
        body = await gql(
            client,
            cast.agent,
            "mutation($i: DeleteTicketInput!) { deleteTicket(input: $i) { id } }",
            {"i": {"id": ticket["id"]}},
        )
        assert body["data"]["deleteTicket"]["id"] == ticket["id"]
        row = (
            await session.execute(
                select(Ticket.deleted_at).where(Ticket.id == uuid.UUID(ticket["id"]))
            )
        ).scalar_one()
        assert row is not None

    async def test_messages_and_metadata_mutations(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        body = await gql(
            client,
            cast.agent,
            """
            mutation($t: ID!) {
              note: addMessage(input: {ticketId: $t, message: "internal", isInternal: true}) { id isInternal }
              meta: setTicketMetadata(input: {ticketId: $t, key: "plan", value: {seats: 25}}) { key value }
            }""",
            {"t": str(ticket_id)},
        )
        assert "errors" not in body, body
        assert body["data"]["meta"] == {"key": "plan", "value": {"seats": 25}}
        rest = (await client.get(f"{API}/{ticket_id}/metadata", headers=cast.agent.headers)).json()
        assert rest == {"plan": {"seats": 25}}
        body = await gql(
            client,
            cast.agent,
            """
            mutation($t: ID!) { removeTicketMetadata(input: {ticketId: $t, key: "plan"}) { key } }""",
            {"t": str(ticket_id)},
        )
        assert body["data"]["removeTicketMetadata"]["key"] == "plan"
        body = await gql(
            client,
            cast.agent,
            """
            mutation($t: ID!) { removeTicketMetadata(input: {ticketId: $t, key: "plan"}) { key } }""",
            {"t": str(ticket_id)},
        )
        assert codes(body) == ["metadata-key-not-found"]
        assert body["errors"][0]["extensions"]["status"] == 404


class TestErrors:
    async def test_metadata_key_with_a_trailing_newline_is_refused_by_the_app(
        self, client, cast: Cast, session
    ):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        body = await gql(
            client,
            cast.agent,
            "mutation($t: ID!, $k: String!) {"
            " setTicketMetadata(input: {ticketId: $t, key: $k, value: 1}) { key } }",
            {"t": str(ticket_id), "k": "vip\n"},
        )
        [error] = body["errors"]
        assert error["extensions"]["code"] == "validation-error"
        assert error["extensions"]["errors"][0]["type"] == "pattern"  # not the database's check
        assert error["message"] == "Invalid metadata key."

    async def test_domain_errors_carry_the_rest_slug(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id, status="closed")
        await session.commit()
        body = await gql(
            client, cast.agent, UPDATE, {"input": {"id": str(ticket_id), "title": "x"}}
        )
        assert body["data"] is None
        assert codes(body) == ["ticket-closed"]
        assert body["errors"][0]["extensions"]["status"] == 409
        assert body["errors"][0]["extensions"]["type"] == "/problems/ticket-closed"

    async def test_stale_expected_version_is_precondition_failed(self, client, cast: Cast, session):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        body = await gql(
            client,
            cast.agent,
            UPDATE,
            {"input": {"id": str(ticket_id), "title": "x", "expectedVersion": 7}},
        )
        assert codes(body) == ["precondition-failed"]
        assert body["errors"][0]["extensions"]["current_version"] == 1

    async def test_validation_errors_name_the_input_field(self, client, cast: Cast):
        body = await gql(client, cast.alice, CREATE, {"input": {"title": "x" * 201}})
        assert codes(body) == ["validation-error"]
        assert body["errors"][0]["extensions"]["errors"][0]["loc"] == ["input", "title"]

    async def test_customer_may_not_set_staff_fields(self, client, cast: Cast):
        body = await gql(
            client, cast.alice, CREATE, {"input": {"title": "x", "priority": "urgent"}}
        )
        assert codes(body) == ["permission-denied"]

    async def test_bad_id_is_validation_error(self, client, cast: Cast):
        body = await gql(client, cast.agent, '{ ticket(id: "nope") { id } }')
        assert codes(body) == ["validation-error"]
        assert body["data"] == {"ticket": None}

    async def test_document_errors_are_bad_request(self, client, cast: Cast):
        body = await gql(client, cast.agent, "{ ticket(id: 1) { nope } }")
        assert set(codes(body)) == {"bad-request"}

    async def test_missing_scope_is_permission_denied(self, client, cast: Cast, session):
        from tests.fixtures.factories import make_api_key

        key = await make_api_key(session, cast.agent.id, cast.agent.role, scopes=["tickets:read"])
        await session.commit()
        response = await client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "query": CREATE,
                "variables": {"input": {"title": "x", "customerId": str(cast.alice.id)}},
            },
        )
        assert codes(response.json()) == ["permission-denied"]

    async def test_no_credentials_is_a_401_problem_before_execution(self, client):
        response = await client.post("/graphql", json={"query": "{ tickets { edges { cursor } } }"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/unauthenticated"

    async def test_get_queries_are_refused(self, client, cast: Cast):
        response = await client.get(
            "/graphql", params={"query": "{ __typename }"}, headers=cast.agent.headers
        )
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == "POST"
        assert response.json()["type"] == "/problems/method-not-allowed"
        assert "__typename" not in response.text  # not executed


class TestTransactions:
    async def test_a_failed_mutation_rolls_back_the_whole_operation(
        self, client, cast: Cast, session
    ):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        body = await gql(
            client,
            cast.agent,
            """
            mutation($t: ID!) {
              a: updateTicket(input: {id: $t, title: "renamed"}) { version }
              b: updateTicket(input: {id: $t, title: "other", expectedVersion: 1}) { version }
            }""",
            {"t": str(ticket_id)},
        )
        assert body["data"] is None
        assert codes(body) == ["precondition-failed"]
        title = (
            await session.execute(select(Ticket.title).where(Ticket.id == ticket_id))
        ).scalar_one()
        assert title != "renamed"

    async def test_batch_runs_each_operation_in_its_own_savepoint(
        self, client, cast: Cast, session
    ):
        ticket_id = await make_ticket(session, cast.alice.id)
        await session.commit()
        ops = [
            {"query": UPDATE, "variables": {"input": {"id": str(ticket_id), "title": "one"}}},
            {
                "query": UPDATE,
                "variables": {
                    "input": {"id": str(ticket_id), "expectedVersion": 1, "title": "two"}
                },
            },
            {"query": "{ tickets { edges { node { title } } } }"},
        ]
        response = await client.post("/graphql", json=ops, headers=cast.agent.headers)
        results = response.json()
        assert results[0]["data"]["updateTicket"]["version"] == 2
        assert codes(results[1]) == ["precondition-failed"]
        assert results[2]["data"]["tickets"]["edges"][0]["node"]["title"] == "one"


class TestDataLoaders:
    async def test_inbox_query_runs_a_constant_number_of_statements(
        self, client, cast: Cast, session, engine
    ):
        for i in range(100):
            customer = cast.alice.id if i % 2 else cast.bob.id
            ticket_id = await make_ticket(session, customer, assigned_to=cast.agent.id)
            await make_metadata(session, ticket_id, "n", i)
            for j in range(7):
                await make_message(session, ticket_id, customer, message=f"m{j}")
        await session.commit()
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        query = """{
          tickets(first: 100) { edges { node {
            id customer { id name } assignee { id name } metadata
            lastMessages(count: 5) { id message sender { id } }
            messages(first: 2) { edges { node { id } } pageInfo { hasNextPage } }
          } } }
        }"""
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            body = await gql(client, cast.agent, query)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert "errors" not in body, body["errors"][:2]
        edges = body["data"]["tickets"]["edges"]
        assert len(edges) == 100
        node = edges[0]["node"]
        assert [m["message"] for m in node["lastMessages"]] == ["m2", "m3", "m4", "m5", "m6"]
        assert node["messages"]["pageInfo"]["hasNextPage"] is True
        assert node["assignee"]["id"] == str(cast.agent.id)
        # auth + key use, list, users, metadata, last messages, first messages: not 100 x anything
        assert len(statements) <= 12, statements
