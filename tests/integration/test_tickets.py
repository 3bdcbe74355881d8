"""Ticket REST API through the real app, PostgreSQL and Redis."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from helpline.models import Ticket
from tests.fixtures.actors import Cast
from tests.fixtures.factories import make_ticket

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def create(client, actor, **body):
    response = await client.post(API, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


class TestCreateTicket:
    async def test_staff_create_for_customer(self, client, cast: Cast, session):
        body = await create(
            client,
            cast.agent,
            title="Printer on fire",
            description="Smoke",
            priority="high",
            customer_id=str(cast.alice.id),
            assigned_to=str(cast.agent.id),
        )
        assert body["title"] == "Printer on fire"
        assert body["status"] == "new"
        assert body["priority"] == "high"
        assert body["version"] == 1
        assert body["customer_id"] == str(cast.alice.id)
        assert body["assigned_to"] == str(cast.agent.id)
        assert uuid.UUID(body["id"]).version == 7
        row = (
            await session.execute(select(Ticket).where(Ticket.id == uuid.UUID(body["id"])))
        ).scalar_one()
        assert row.description == "Smoke"

    async def test_customer_ticket_is_their_own(self, client, cast: Cast):
        body = await create(client, cast.alice, title="Help")
        assert body["customer_id"] == str(cast.alice.id)

    async def test_staff_must_name_customer(self, client, cast: Cast):
        r = await client.post(API, json={"title": "x"}, headers=cast.agent.headers)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["body", "customer_id"]

    async def test_customer_id_must_be_a_customer(self, client, cast: Cast):
        r = await client.post(
            API, json={"title": "x", "customer_id": str(cast.agent.id)}, headers=cast.admin.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "customer_id"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": ""}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": "ok", "description": "x" * 100_001}, "description"),
            ({"title": "ok", "status": "bogus"}, "status"),
            ({"title": "ok", "priority": 3}, "priority"),
            ({"title": "ok", "unknown": 1}, "unknown"),
            ({"title": 5}, "title"),
        ],
    )
    async def test_bad_input_names_the_field_and_changes_nothing(
        self, client, cast: Cast, session, body, field
    ):
        before = (await session.execute(text("SELECT count(*) FROM tickets"))).scalar_one()
        r = await client.post(API, json=body, headers=cast.alice.headers)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["type"] == "/problems/validation-error"
        assert any(field in e["loc"] for e in problem["errors"])
        assert (await session.execute(text("SELECT count(*) FROM tickets"))).scalar_one() == before

    async def test_customer_cannot_set_staff_fields(self, client, cast: Cast):
        r = await client.post(
            API, json={"title": "x", "priority": "urgent"}, headers=cast.alice.headers
        )
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        assert r.json()["errors"][0]["loc"] == ["body", "priority"]

    async def test_malformed_json_is_400(self, client, cast: Cast):
        r = await client.post(
            API,
            content=b"{not json",
            headers={**cast.alice.headers, "content-type": "application/json"},
        )
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/bad-request"

    async def test_wrong_content_type_is_415(self, client, cast: Cast):
        r = await client.post(
            API,
            content=b"title=x",
            headers={**cast.alice.headers, "content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 415
        assert r.json()["type"] == "/problems/unsupported-media-type"

    async def test_oversized_body_is_413(self, client, cast: Cast):
        r = await client.post(
            API, json={"title": "x", "description": "y" * 2_000_000}, headers=cast.alice.headers
        )
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/payload-too-large"

    async def test_nul_byte_is_a_client_error(self, client, cast: Cast):
        r = await client.post(API, json={"title": "a\u0000b"}, headers=cast.alice.headers)
        assert r.status_code == 422
        assert r.json()["status"] == 422


class TestGetTicket:
    async def test_get_includes_metadata_and_etag(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Hello")
        put = await client.put(
            f"{API}/{t['id']}/metadata/plan", json={"value": "pro"}, headers=cast.agent.headers
        )
        assert put.status_code == 200
        r = await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)
        assert r.status_code == 200
        body = r.json()
        assert body["metadata"] == {"plan": "pro"}
        assert body["version"] == 2
        assert r.headers["etag"] == '"2"'

    async def test_if_none_match_gives_304_without_body(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Hello")
        r = await client.get(
            f"{API}/{t['id']}", headers={**cast.alice.headers, "If-None-Match": '"1"'}
        )
        assert r.status_code == 304
        assert r.content == b""
        stale = await client.get(
            f"{API}/{t['id']}", headers={**cast.alice.headers, "If-None-Match": '"0"'}
        )
        assert stale.status_code == 200
        assert stale.json()["id"] == t["id"]

    async def test_unknown_ticket_is_404_problem(self, client, cast: Cast):
        r = await client.get(f"{API}/{uuid.uuid4()}", headers=cast.agent.headers)
        assert r.status_code == 404
        assert r.json()["type"] == "/problems/ticket-not-found"
        assert r.json()["request_id"] == r.headers["x-request-id"]

    async def test_bad_uuid_is_422(self, client, cast: Cast):
        r = await client.get(f"{API}/not-a-uuid", headers=cast.agent.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["path", "ticket_id"]


class TestUpdateTicket:
    async def test_patch_changes_only_given_fields_and_bumps_version(self, client, cast: Cast):
        t = await create(
            client, cast.agent, title="Old", description="Keep", customer_id=str(cast.alice.id)
        )
        r = await client.patch(
            f"{API}/{t['id']}", json={"title": "New", "status": "open"}, headers=cast.agent.headers
        )
        assert r.status_code == 200
        body = r.json()
        assert (body["title"], body["description"], body["status"], body["version"]) == (
            "New",
            "Keep",
            "open",
            2,
        )
        assert body["updated_at"] > t["updated_at"]
        assert r.headers["etag"] == '"2"'

    async def test_noop_patch_keeps_version(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Same")
        r = await client.patch(
            f"{API}/{t['id']}", json={"title": "Same"}, headers=cast.alice.headers
        )
        assert r.json()["version"] == 1

    async def test_stale_if_match_is_412_with_current_version(self, client, cast: Cast):
        t = await create(client, cast.alice, title="A")
        ok = await client.patch(
            f"{API}/{t['id']}",
            json={"title": "B"},
            headers={**cast.alice.headers, "If-Match": '"1"'},
        )
        assert ok.status_code == 200
        assert ok.json()["version"] == 2
        stale = await client.patch(
            f"{API}/{t['id']}",
            json={"title": "C"},
            headers={**cast.alice.headers, "If-Match": '"1"'},
        )
        assert stale.status_code == 412
        assert stale.json()["current_version"] == 2
        again = await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)
        assert again.json()["title"] == "B"

    async def test_closed_is_terminal(self, client, cast: Cast):
        t = await create(client, cast.alice, title="A")
        closed = await client.patch(
            f"{API}/{t['id']}", json={"status": "closed"}, headers=cast.agent.headers
        )
        assert closed.json()["status"] == "closed"
        for path, method, body in [
            (f"{API}/{t['id']}", "PATCH", {"status": "open"}),
            (f"{API}/{t['id']}/metadata/k", "PUT", {"value": 1}),
            (f"{API}/{t['id']}/conversations", "POST", {"message": "hi"}),
        ]:
            r = await client.request(method, path, json=body, headers=cast.agent.headers)
            assert r.status_code == 409, (method, path)
            assert r.json()["type"] == "/problems/ticket-closed"
        agent_delete = await client.delete(f"{API}/{t['id']}", headers=cast.agent.headers)
        assert agent_delete.status_code == 409
        admin_delete = await client.delete(f"{API}/{t['id']}", headers=cast.admin.headers)
        assert admin_delete.status_code == 204

    async def test_customer_cannot_reassign_or_reprioritise(self, client, cast: Cast):
        t = await create(client, cast.alice, title="A")
        for body in ({"priority": "urgent"}, {"assigned_to": str(cast.agent.id)}):
            r = await client.patch(f"{API}/{t['id']}", json=body, headers=cast.alice.headers)
            assert r.status_code == 403
        unchanged = await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)
        assert unchanged.json()["priority"] == "normal"
        assert unchanged.json()["version"] == 1

    async def test_null_title_rejected(self, client, cast: Cast):
        t = await create(client, cast.alice, title="A")
        r = await client.patch(f"{API}/{t['id']}", json={"title": None}, headers=cast.alice.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "title"]

    async def test_unassign_with_null(self, client, cast: Cast):
        t = await create(
            client,
            cast.agent,
            title="A",
            customer_id=str(cast.alice.id),
            assigned_to=str(cast.agent.id),
        )
        r = await client.patch(
            f"{API}/{t['id']}", json={"assigned_to": None}, headers=cast.agent.headers
        )
        assert r.json()["assigned_to"] is None


class TestDeleteTicket:
    async def test_soft_delete_hides_ticket(self, client, cast: Cast, session):
        t = await create(client, cast.alice, title="A")
        r = await client.delete(f"{API}/{t['id']}", headers=cast.agent.headers)
        assert r.status_code == 204
        assert (await client.get(f"{API}/{t['id']}", headers=cast.agent.headers)).status_code == 404
        deleted_at = (
            await session.execute(select(Ticket.deleted_at).where(Ticket.id == uuid.UUID(t["id"])))
        ).scalar_one()
        assert deleted_at is not None

    async def test_customer_cannot_delete(self, client, cast: Cast, session):
        t = await create(client, cast.alice, title="A")
        r = await client.delete(f"{API}/{t['id']}", headers=cast.alice.headers)
        assert r.status_code == 403
        assert r.json()["type"] == "/problems/permission-denied"
        still = await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)
        assert (still.status_code, still.json()["title"]) == (200, "A")
        deleted_at = await session.scalar(
            select(Ticket.deleted_at).where(Ticket.id == uuid.UUID(t["id"]))
        )
        assert deleted_at is None


class TestListTickets:
    async def test_keyset_pages_cover_everything_once(self, client, cast: Cast):
        made = {(await create(client, cast.alice, title=f"T{i}"))["id"] for i in range(7)}
        seen, cursor = [], None
        while True:
            params = {"limit": 3, "customer_id": str(cast.alice.id)}
            if cursor:
                params["cursor"] = cursor
            r = await client.get(API, params=params, headers=cast.agent.headers)
            assert r.status_code == 200
            page = r.json()
            seen += [t["id"] for t in page["data"]]
            assert page["meta"]["has_more"] == (page["meta"]["next_cursor"] is not None)
            cursor = page["meta"]["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7
        assert set(seen) == made
        assert seen == sorted(seen, reverse=True)  # -updated_at; ids are time-ordered too

    async def test_filters(self, client, cast: Cast):
        a = await create(
            client,
            cast.agent,
            title="Alpha router",
            customer_id=str(cast.alice.id),
            priority="high",
            status="open",
        )
        b = await create(
            client,
            cast.agent,
            title="Beta modem",
            customer_id=str(cast.alice.id),
            priority="low",
            status="pending",
        )
        await client.put(
            f"{API}/{b['id']}/metadata/plan", json={"value": "pro"}, headers=cast.agent.headers
        )
        await client.put(
            f"{API}/{a['id']}/metadata/seats", json={"value": 25}, headers=cast.agent.headers
        )

        async def ids(**params):
            r = await client.get(
                API,
                params={"customer_id": str(cast.alice.id), **params},
                headers=cast.agent.headers,
            )
            assert r.status_code == 200, r.text
            return {t["id"] for t in r.json()["data"]}

        assert await ids(status="open,pending") == {a["id"], b["id"]}
        assert await ids(status="open") == {a["id"]}
        assert await ids(priority="low") == {b["id"]}
        assert await ids(q="router") == {a["id"]}
        assert await ids(**{"metadata.plan": "pro"}) == {b["id"]}
        assert await ids(**{"metadata.seats": "25"}) == {a["id"]}
        assert await ids(**{"metadata.plan": "free"}) == set()
        assert (
            await ids(created_after="2000-01-01T00:00:00Z", created_before="2000-01-02T00:00:00Z")
            == set()
        )

    async def test_bad_filters_are_422(self, client, cast: Cast):
        for params in (
            {"status": "open,nope"},
            {"limit": 0},
            {"limit": 101},
            {"sort": "title"},
            {"created_after": "yesterday"},
            {"metadata.BAD KEY": "x"},
            {f"metadata.k{i}": "v" for i in range(6)},
            {"metadata.plan": "x" * 1025},
        ):
            r = await client.get(API, params=params, headers=cast.agent.headers)
            assert r.status_code == 422, params
            assert r.json()["errors"], params

    async def test_forged_cursor_is_400(self, client, cast: Cast):
        r = await client.get(
            API, params={"cursor": "AAAAAAAAAAAAAAAAAAAAAAAA"}, headers=cast.agent.headers
        )
        assert r.status_code == 400
        assert r.json()["type"] == "/problems/invalid-cursor"


class TestCustomerStatusTransitions:
    """Customers mark their ticket solved and reopen a solved one; nothing else."""

    async def test_customer_may_solve_and_reopen(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Solve me")
        solved = await client.patch(
            f"{API}/{t['id']}", json={"status": "solved"}, headers=cast.alice.headers
        )
        assert solved.status_code == 200, solved.text
        assert solved.json()["status"] == "solved"
        reopened = await client.patch(
            f"{API}/{t['id']}", json={"status": "open"}, headers=cast.alice.headers
        )
        assert reopened.status_code == 200
        assert (reopened.json()["status"], reopened.json()["version"]) == ("open", 3)

    @pytest.mark.parametrize("target", ["pending", "on_hold", "closed", "new", "open"])
    async def test_other_transitions_are_refused_and_change_nothing(
        self, client, cast: Cast, target
    ):
        t = await create(client, cast.alice, title="Not yours to close")
        r = await client.patch(
            f"{API}/{t['id']}", json={"status": target, "title": "X"}, headers=cast.alice.headers
        )
        if target == "new":  # the status it already has: not a transition
            assert r.status_code == 200
            return
        assert r.status_code == 403, r.text
        assert r.json()["type"] == "/problems/status-transition-forbidden"
        assert r.json()["errors"][0]["loc"] == ["body", "status"]
        after = (await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)).json()
        assert (after["status"], after["title"], after["version"]) == (
            "new",
            "Not yours to close",
            1,
        )

    async def test_staff_set_any_status(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Staff")
        for status in ("pending", "on_hold", "solved", "open", "closed"):
            r = await client.patch(
                f"{API}/{t['id']}", json={"status": status}, headers=cast.agent.headers
            )
            assert r.status_code == 200, (status, r.text)
            assert r.json()["status"] == status


class TestStaleEditsMerge:
    """If-Match of an older version: other fields merge, the same field conflicts."""

    async def test_different_fields_merge(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Merge", description="old")
        first = await client.patch(
            f"{API}/{t['id']}",
            json={"priority": "urgent"},
            headers={**cast.agent.headers, "If-Match": '"1"'},
        )
        assert first.status_code == 200
        second = await client.patch(
            f"{API}/{t['id']}",
            json={"description": "new text"},
            headers={**cast.admin.headers, "If-Match": '"1"'},  # saw version 1: stale
        )
        assert second.status_code == 200, second.text
        body = second.json()
        assert (body["priority"], body["description"], body["version"]) == (
            "urgent",
            "new text",
            3,
        )
        assert second.headers["etag"] == '"3"'

    async def test_same_field_conflicts_with_both_values(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Same field")
        await client.patch(
            f"{API}/{t['id']}",
            json={"priority": "urgent", "title": "Theirs"},
            headers={**cast.agent.headers, "If-Match": '"1"'},
        )
        r = await client.patch(
            f"{API}/{t['id']}",
            json={"priority": "low", "description": "mine too"},
            headers={**cast.admin.headers, "If-Match": '"1"'},
        )
        assert r.status_code == 412
        problem = r.json()
        assert problem["type"] == "/problems/precondition-failed"
        assert problem["current_version"] == 2
        assert problem["conflicts"] == [
            {"field": "priority", "your_value": "low", "current_value": "urgent"}
        ]
        after = (await client.get(f"{API}/{t['id']}", headers=cast.agent.headers)).json()
        assert (after["priority"], after["description"], after["version"]) == (
            "urgent",
            t["description"],
            2,
        )  # a refused change changes nothing, not even its other field

    async def test_same_value_is_no_conflict(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Agree")
        await client.patch(
            f"{API}/{t['id']}", json={"priority": "high"}, headers=cast.agent.headers
        )
        r = await client.patch(
            f"{API}/{t['id']}",
            json={"priority": "high"},
            headers={**cast.admin.headers, "If-Match": '"1"'},
        )
        assert r.status_code == 200
        assert r.json()["version"] == 2

    async def test_a_message_since_is_no_conflict(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Talk")
        msg = await client.post(
            f"{API}/{t['id']}/conversations", json={"message": "hi"}, headers=cast.alice.headers
        )
        assert msg.status_code == 201
        r = await client.patch(
            f"{API}/{t['id']}",
            json={"status": "open"},
            headers={**cast.agent.headers, "If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "open"

    async def test_history_without_versions_still_conflicts(self, client, cast: Cast, session):
        t = await create(client, cast.alice, title="Legacy")
        await client.patch(f"{API}/{t['id']}", json={"title": "Later"}, headers=cast.agent.headers)
        # rows written before versions were recorded have none
        await session.execute(
            text("UPDATE ticket_history SET version = NULL WHERE ticket_id = :t"), {"t": t["id"]}
        )
        r = await client.patch(
            f"{API}/{t['id']}",
            json={"title": "Mine"},
            headers={**cast.agent.headers, "If-Match": '"1"'},
        )
        assert r.status_code == 412
        assert r.json()["conflicts"][0]["field"] == "title"

    async def test_a_future_version_is_412(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Future")
        r = await client.patch(
            f"{API}/{t['id']}",
            json={"title": "x"},
            headers={**cast.alice.headers, "If-Match": '"7"'},
        )
        assert r.status_code == 412
        assert "conflicts" not in r.json()


class TestBidiControls:
    @pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u061c"])
    async def test_titles_with_bidi_controls_are_refused(self, client, cast: Cast, char):
        r = await client.post(
            API, json={"title": f"invoice{char}gpj.exe"}, headers=cast.alice.headers
        )
        assert r.status_code == 422
        problem = r.json()
        assert problem["type"] == "/problems/validation-error"
        assert problem["errors"][0]["loc"][-1] == "title"
        assert f"U+{ord(char):04X}" in problem["errors"][0]["msg"]
        t = await create(client, cast.alice, title="Plain")
        patched = await client.patch(
            f"{API}/{t['id']}", json={"title": f"a{char}b"}, headers=cast.alice.headers
        )
        assert patched.status_code == 422
        after = (await client.get(f"{API}/{t['id']}", headers=cast.alice.headers)).json()
        assert after["title"] == "Plain"

    async def test_right_to_left_text_is_fine(self, client, cast: Cast):
        t = await create(client, cast.alice, title="فاتورة לא עובד")
        assert t["title"] == "فاتورة לא עובד"


class TestCounts:
    async def test_counts_per_status_under_the_filters_and_visibility(
        self, client, cast: Cast, session
    ):
        for status, n in (("new", 3), ("open", 2), ("closed", 1)):
            for _ in range(n):
                await make_ticket(session, cast.alice.id, status=status, priority="high")
        await make_ticket(session, cast.alice.id, status="open", priority="low")
        await make_ticket(session, cast.bob.id, status="open", priority="high")
        await session.commit()
        r = await client.get(
            f"{API}/counts",
            params={"priority": "high", "status": "new"},  # status is ignored
            headers=cast.alice.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["by"], body["cap"]) == ("status", 1000)
        assert {c["status"]: (c["count"], c["capped"]) for c in body["counts"]} == {
            "new": (3, False),
            "open": (2, False),  # bob's ticket is not alice's to count
            "pending": (0, False),
            "on_hold": (0, False),
            "solved": (0, False),
            "closed": (1, False),
        }
        staff = (
            await client.get(
                f"{API}/counts",
                params={"priority": "high", "customer_id": str(cast.bob.id)},
                headers=cast.agent.headers,
            )
        ).json()
        assert {c["status"]: c["count"] for c in staff["counts"]}["open"] == 1
        again = await client.get(
            f"{API}/counts",
            params={"priority": "high"},
            headers={**cast.alice.headers, "If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304

    async def test_counts_stop_at_the_cap(self, client, cast: Cast, session, monkeypatch):
        from helpline.ticket import service

        monkeypatch.setattr(service, "COUNT_CAP", 3)
        for _ in range(5):
            await make_ticket(session, cast.alice.id)
        await session.commit()
        body = (
            await client.get(
                f"{API}/counts",
                params={"customer_id": str(cast.alice.id)},
                headers=cast.agent.headers,
            )
        ).json()
        new = next(c for c in body["counts"] if c["status"] == "new")
        assert (body["cap"], new["count"], new["capped"]) == (3, 3, True)

    async def test_counts_follow_writes(self, client, cast: Cast):
        t = await create(client, cast.alice, title="Counted")
        first = (await client.get(f"{API}/counts", headers=cast.alice.headers)).json()
        assert {c["status"]: c["count"] for c in first["counts"]}["new"] == 1
        await client.patch(
            f"{API}/{t['id']}", json={"status": "solved"}, headers=cast.alice.headers
        )
        after = (await client.get(f"{API}/counts", headers=cast.alice.headers)).json()
        counts = {c["status"]: c["count"] for c in after["counts"]}
        assert (counts["new"], counts["solved"]) == (0, 1)

    async def test_unknown_grouping_is_422(self, client, cast: Cast):
        r = await client.get(f"{API}/counts", params={"by": "priority"}, headers=cast.alice.headers)
        assert r.status_code == 422
