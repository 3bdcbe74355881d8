"""GraphQL for teams, macros and rules (issue 25): the same answers and the same permissions as
`/api/v1/teams`, `/api/v1/macros` and `/api/v1/rules`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration


async def gql(client, actor, query: str, variables: dict[str, Any] | None = None) -> dict:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


TEAMS = "{ teams { id name description memberIds } }"
CREATE_TEAM = """
mutation($i: CreateTeamInput!) { createTeam(input: $i) { id name memberIds } }
"""
MACROS = "{ macros { id name body actions ownerId usageCount } }"
APPLY = """
mutation($i: ApplyMacroInput!) {
  applyMacro(input: $i) { reply changes applied ticket { id status tags version } }
}
"""
RULES = "{ rules { id name enabled conditions actions } }"
DRY_RUN = """
mutation($i: DryRunRuleInput!) {
  dryRunRule(input: $i) { evaluated matched { ticketId number dueAt changes } }
}
"""
EXECUTIONS = """
query($r: ID!) { ruleExecutions(ruleId: $r) { id eventId timerBasis status effects } }
"""


class TestTeams:
    async def test_staff_read_admins_write_customers_refused(self, client, cast: Cast):
        created = await gql(
            client,
            cast.admin,
            CREATE_TEAM,
            {"i": {"name": "Billing", "memberIds": [str(cast.agent.id)]}},
        )
        assert "errors" not in created, created
        team = created["data"]["createTeam"]
        assert team["memberIds"] == [str(cast.agent.id)]
        rest = await client.get("/api/v1/teams", headers=cast.agent.headers)
        listed = await gql(client, cast.agent, TEAMS)
        assert [t["id"] for t in listed["data"]["teams"]] == [t["id"] for t in rest.json()]
        assert listed["data"]["teams"][0]["name"] == "Billing"
        # an agent may read but not create; a customer may not read
        refused = await gql(client, cast.agent, CREATE_TEAM, {"i": {"name": "Mine"}})
        assert codes(refused) == ["permission-denied"]
        assert (
            await client.post("/api/v1/teams", json={"name": "Mine"}, headers=cast.agent.headers)
        ).status_code == 403
        assert codes(await gql(client, cast.alice, TEAMS)) == ["permission-denied"]
        assert (await client.get("/api/v1/teams", headers=cast.alice.headers)).status_code == 403

    async def test_update_and_delete(self, client, cast: Cast):
        team = (await gql(client, cast.admin, CREATE_TEAM, {"i": {"name": "Desk"}}))["data"][
            "createTeam"
        ]
        renamed = await gql(
            client,
            cast.admin,
            "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { name description } }",
            {"i": {"id": team["id"], "name": "Front desk", "description": "first line"}},
        )
        assert renamed["data"]["updateTeam"] == {"name": "Front desk", "description": "first line"}
        deleted = await gql(
            client, cast.admin, "mutation($id: ID!) { deleteTeam(id: $id) }", {"id": team["id"]}
        )
        assert deleted["data"]["deleteTeam"] == team["id"]
        gone = await gql(
            client, cast.admin, "query($id: ID!) { team(id: $id) { id } }", {"id": team["id"]}
        )
        assert codes(gone) == ["team-not-found"]


class TestMacros:
    async def test_list_preview_and_apply_as_rest(self, client, cast: Cast):
        macro = await client.post(
            "/api/v1/macros",
            json={
                "name": "Waiting",
                "body": "Hi {{ customer.name }}, #{{ ticket.number }} waits for you.",
                "actions": [
                    {"type": "set", "field": "status", "value": "pending"},
                    {"type": "add_tags", "tags": ["waiting"]},
                ],
            },
            headers=cast.agent.headers,
        )
        assert macro.status_code == 201, macro.text
        listed = await gql(client, cast.agent, MACROS)
        assert [m["id"] for m in listed["data"]["macros"]] == [macro.json()["id"]]
        assert listed["data"]["macros"][0]["actions"] == macro.json()["actions"]
        ticket = (
            await client.post("/api/v1/tickets", json={"title": "help"}, headers=cast.alice.headers)
        ).json()
        variables = {"i": {"macroId": macro.json()["id"], "ticketId": ticket["id"]}}
        preview = await gql(client, cast.agent, APPLY, variables)
        rest = await client.post(
            f"/api/v1/macros/{macro.json()['id']}/apply",
            json={"ticket_id": ticket["id"]},
            headers=cast.agent.headers,
        )
        assert preview["data"]["applyMacro"]["reply"] == rest.json()["reply"]
        assert preview["data"]["applyMacro"]["changes"] == rest.json()["changes"]
        assert preview["data"]["applyMacro"]["applied"] is False
        variables["i"]["apply"] = True
        applied = await gql(client, cast.agent, APPLY, variables)
        assert applied["data"]["applyMacro"]["applied"] is True
        assert applied["data"]["applyMacro"]["ticket"]["status"] == "pending"
        assert applied["data"]["applyMacro"]["ticket"]["tags"] == ["waiting"]
        # customers use no macros, by either API
        assert codes(await gql(client, cast.alice, MACROS)) == ["permission-denied"]
        assert codes(await gql(client, cast.alice, APPLY, variables)) == ["permission-denied"]


class TestRules:
    async def test_admins_list_dry_run_and_read_the_log(self, client, cast: Cast):
        rule = await client.post(
            "/api/v1/rules",
            json={
                "name": "urgent printers",
                "conditions": {"all": [{"field": "title", "op": "contains", "value": "printer"}]},
                "actions": [{"type": "set", "field": "priority", "value": "urgent"}],
            },
            headers=cast.admin.headers,
        )
        assert rule.status_code == 201, rule.text
        rule_id = rule.json()["id"]
        listed = await gql(client, cast.admin, RULES)
        assert [r["id"] for r in listed["data"]["rules"]] == [rule_id]
        assert listed["data"]["rules"][0]["conditions"] == rule.json()["conditions"]
        ticket = (
            await client.post(
                "/api/v1/tickets", json={"title": "printer on fire"}, headers=cast.alice.headers
            )
        ).json()
        dry = await gql(client, cast.admin, DRY_RUN, {"i": {"ruleId": rule_id, "limit": 10}})
        rest = await client.post(
            f"/api/v1/rules/{rule_id}/dry-run", json={"limit": 10}, headers=cast.admin.headers
        )
        assert dry["data"]["dryRunRule"]["evaluated"] == rest.json()["evaluated"]
        [match] = dry["data"]["dryRunRule"]["matched"]
        assert match["ticketId"] == ticket["id"]
        assert match["dueAt"] is None
        assert match["changes"] == [
            {"type": "set", "field": "priority", "from": "normal", "to": "urgent"}
        ]
        after = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=cast.admin.headers)
        assert after.json()["priority"] == "normal"  # a dry run changes nothing
        log = await gql(client, cast.admin, EXECUTIONS, {"r": rule_id})
        assert log["data"]["ruleExecutions"] == []

    async def test_agents_and_customers_are_refused(self, client, cast: Cast):
        for actor in (cast.agent, cast.alice):
            assert codes(await gql(client, actor, RULES)) == ["permission-denied"]
        bad = await gql(
            client,
            cast.admin,
            DRY_RUN,
            {"i": {"ruleId": "00000000-0000-7000-8000-000000000000"}},
        )
        assert codes(bad) == ["rule-not-found"]
