"""Search over tickets and their messages: `GET /tickets/search` (ranked, excerpts) and the
list's `q_scope`, with the visibility rules (customers: own tickets, public messages only)."""

from __future__ import annotations

import pytest

from tests.fixtures.actors import Cast

pytestmark = pytest.mark.integration

API = "/api/v1/tickets"


async def create(client, actor, **body):
    response = await client.post(API, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def say(client, actor, ticket, message, *, internal=False):
    response = await client.post(
        f"{API}/{ticket['id']}/conversations",
        json={"message": message, "is_internal": internal},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def corpus(client, cast: Cast):
    """Alice's printer ticket (the word is in a public reply), her router ticket (the word is in
    an internal note only), Bob's ticket (the word in his title) and one without it."""
    printer = await create(client, cast.alice, title="Printer jams", description="Tray 2")
    await say(client, cast.alice, printer, "The toner gives off smoke when it warms up.")
    router = await create(client, cast.alice, title="Router blinks", description="Orange light")
    await say(client, cast.agent, router, "Vendor says smoke means a dead unit", internal=True)
    bobs = await create(client, cast.bob, title="Smoke alarm integration", description="API")
    other = await create(client, cast.bob, title="Invoice copy", description="For March")
    return {"printer": printer, "router": router, "bobs": bobs, "other": other}


def text_of(hit):
    return "".join(part["text"] for part in hit["excerpt"])


def matched(hit):
    return [part["text"].lower() for part in hit["excerpt"] if part["match"]]


class TestSearchEndpoint:
    async def test_staff_find_titles_replies_and_internal_notes_ranked(
        self, client, cast: Cast, corpus
    ):
        r = await client.get(f"{API}/search", params={"q": "smoke"}, headers=cast.agent.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        by_id = {hit["ticket_id"]: hit for hit in body["data"]}
        assert set(by_id) == {corpus[k]["id"] for k in ("printer", "router", "bobs")}
        assert body["meta"] == {
            "q": "smoke",
            "scope": "all",
            "limit": 20,
            "found": 3,
            "capped": False,
        }
        ranks = [hit["rank"] for hit in body["data"]]
        assert ranks == sorted(ranks, reverse=True)
        printer = by_id[corpus["printer"]["id"]]
        assert printer["message_id"] is not None
        assert printer["internal"] is False
        assert matched(printer) == ["smoke"]
        assert "toner gives off smoke" in text_of(printer)
        router = by_id[corpus["router"]["id"]]
        assert router["internal"] is True
        bobs = by_id[corpus["bobs"]["id"]]
        assert bobs["message_id"] is None  # the title matched
        assert bobs["number"] == corpus["bobs"]["number"]
        assert "Smoke alarm integration" in text_of(bobs)

    async def test_customers_find_own_tickets_and_public_messages_only(
        self, client, cast: Cast, corpus
    ):
        r = await client.get(f"{API}/search", params={"q": "smoke"}, headers=cast.alice.headers)
        hits = r.json()["data"]
        assert [hit["ticket_id"] for hit in hits] == [corpus["printer"]["id"]]
        assert all(not hit["internal"] for hit in hits)
        r = await client.get(
            f"{API}/search", params={"q": "vendor dead"}, headers=cast.alice.headers
        )
        assert r.json()["data"] == []  # the internal note's words never match for a customer
        r = await client.get(f"{API}/search", params={"q": "smoke"}, headers=cast.bob.headers)
        assert [hit["ticket_id"] for hit in r.json()["data"]] == [corpus["bobs"]["id"]]

    async def test_scope_messages_or_tickets(self, client, cast: Cast, corpus):
        only_messages = await client.get(
            f"{API}/search", params={"q": "smoke", "scope": "messages"}, headers=cast.agent.headers
        )
        assert {h["ticket_id"] for h in only_messages.json()["data"]} == {
            corpus["printer"]["id"],
            corpus["router"]["id"],
        }
        only_tickets = await client.get(
            f"{API}/search", params={"q": "smoke", "scope": "tickets"}, headers=cast.agent.headers
        )
        assert [h["ticket_id"] for h in only_tickets.json()["data"]] == [corpus["bobs"]["id"]]

    async def test_a_ticket_number_ranks_first(self, client, cast: Cast, corpus):
        number = corpus["other"]["number"]
        r = await client.get(
            f"{API}/search", params={"q": f"#{number}"}, headers=cast.agent.headers
        )
        assert r.json()["data"][0]["ticket_id"] == corpus["other"]["id"]

    async def test_deleted_tickets_are_not_found(self, client, cast: Cast, corpus):
        gone = await client.delete(f"{API}/{corpus['printer']['id']}", headers=cast.agent.headers)
        assert gone.status_code == 204
        r = await client.get(f"{API}/search", params={"q": "toner"}, headers=cast.agent.headers)
        assert r.json()["data"] == []

    async def test_markers_in_the_text_cannot_forge_a_highlight(self, client, cast: Cast):
        ticket = await create(client, cast.alice, title="Odd bytes", description="x")
        await say(client, cast.alice, ticket, "before \ue000forged\ue001 after kettle")
        r = await client.get(f"{API}/search", params={"q": "kettle"}, headers=cast.alice.headers)
        (hit,) = r.json()["data"]
        assert matched(hit) == ["kettle"]
        assert "\ue000" not in text_of(hit)
        assert "forged" in text_of(hit)

    async def test_queries_that_mean_nothing_find_nothing(self, client, cast: Cast, corpus):
        for q in ("!!!", "the", '"'):
            r = await client.get(f"{API}/search", params={"q": q}, headers=cast.agent.headers)
            assert r.status_code == 200, (q, r.text)
            assert r.json()["data"] == [], q

    async def test_quotes_and_backslashes_are_words_not_sql(self, client, cast: Cast, corpus):
        """The words are inlined into the statement (see ticket.repository._tsquery): quoted."""
        ticket = await create(client, cast.alice, title="O'Brien's kettle", description="x")
        for q in ("o'brien", "o\\'brien'; DROP TABLE tickets; --", "$$ smoke $$", "\\x00 :q"):
            for path, params in (
                (f"{API}/search", {"q": q}),
                (API, {"q": q, "q_scope": "all"}),
            ):
                r = await client.get(path, params=params, headers=cast.agent.headers)
                assert r.status_code == 200, (q, r.text)
        r = await client.get(f"{API}/search", params={"q": "o'brien"}, headers=cast.agent.headers)
        assert [hit["ticket_id"] for hit in r.json()["data"]] == [ticket["id"]]
        listed = await client.get(
            API, params={"q": "smoke", "q_scope": "all"}, headers=cast.agent.headers
        )
        assert len(listed.json()["data"]) == 3  # the tickets table is still there

    async def test_bad_parameters_are_problems(self, client, cast: Cast):
        for params in (
            {"q": "   "},
            {"q": ""},
            {"q": "x" * 201},
            {"q": "a", "limit": 0},
            {"q": "a", "scope": "everywhere"},
            {},
        ):
            r = await client.get(f"{API}/search", params=params, headers=cast.agent.headers)
            assert r.status_code == 422, params
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"].endswith("/validation-error")

    async def test_needs_a_key_with_tickets_read(self, client):
        r = await client.get(f"{API}/search", params={"q": "smoke"})
        assert r.status_code == 401
        assert r.json()["type"].endswith("/unauthenticated")


class TestListScope:
    async def ids(self, client, actor, **params):
        r = await client.get(API, params=params, headers=actor.headers)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["data"]}

    async def test_default_scope_is_the_ticket_itself(self, client, cast: Cast, corpus):
        assert await self.ids(client, cast.agent, q="smoke") == {corpus["bobs"]["id"]}

    async def test_messages_and_all(self, client, cast: Cast, corpus):
        assert await self.ids(client, cast.agent, q="smoke", q_scope="messages") == {
            corpus["printer"]["id"],
            corpus["router"]["id"],
        }
        assert await self.ids(client, cast.agent, q="smoke", q_scope="all") == {
            corpus["printer"]["id"],
            corpus["router"]["id"],
            corpus["bobs"]["id"],
        }
        # Customers: their own tickets, public messages only.
        assert await self.ids(client, cast.alice, q="smoke", q_scope="all") == {
            corpus["printer"]["id"]
        }

    async def test_counts_follow_the_scope(self, client, cast: Cast, corpus):
        r = await client.get(
            f"{API}/counts", params={"q": "smoke", "q_scope": "all"}, headers=cast.agent.headers
        )
        assert sum(c["count"] for c in r.json()["counts"]) == 3

    async def test_graphql_filter_scope(self, client, cast: Cast, corpus):
        query = """query($f: TicketFilterInput) { tickets(filter: $f) { nodes { id } } }"""
        r = await client.post(
            "/graphql",
            json={"query": query, "variables": {"f": {"q": "smoke", "qScope": "messages"}}},
            headers=cast.alice.headers,
        )
        assert "errors" not in r.json(), r.json()
        ids = {n["id"] for n in r.json()["data"]["tickets"]["nodes"]}
        assert ids == {corpus["printer"]["id"]}


class TestGraphqlSearch:
    QUERY = """query($q: String!, $scope: SearchScope!) {
      searchTickets(q: $q, scope: $scope) {
        found capped hits { ticketId messageId internal excerpt { text match } }
      }
    }"""

    async def search(self, client, actor, q, scope="all"):
        r = await client.post(
            "/graphql",
            json={"query": self.QUERY, "variables": {"q": q, "scope": scope}},
            headers=actor.headers,
        )
        return r.json()

    async def test_same_hits_and_visibility_as_rest(self, client, cast: Cast, corpus):
        staff = (await self.search(client, cast.agent, "smoke"))["data"]["searchTickets"]
        rest = await client.get(f"{API}/search", params={"q": "smoke"}, headers=cast.agent.headers)
        assert [h["ticketId"] for h in staff["hits"]] == [
            h["ticket_id"] for h in rest.json()["data"]
        ]
        assert staff["found"] == 3
        customer = (await self.search(client, cast.alice, "smoke"))["data"]["searchTickets"]
        assert [h["ticketId"] for h in customer["hits"]] == [corpus["printer"]["id"]]
        assert customer["hits"][0]["internal"] is False
        assert {"text": "smoke", "match": True} in customer["hits"][0]["excerpt"]

    async def test_blank_query_is_a_validation_error(self, client, cast: Cast):
        body = await self.search(client, cast.agent, "   ")
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["type"].endswith("/validation-error")


class TestMessageProbe:
    async def test_more_matches_than_the_probe_takes_give_the_same_list(
        self, client, cast: Cast, corpus, monkeypatch
    ):
        """Over the probe's cap the list walks its order instead: the same tickets either way."""
        from helpline.ticket import repository

        params = {"q": "smoke", "q_scope": "all"}
        probed = await client.get(API, params=params, headers=cast.agent.headers)
        monkeypatch.setattr(repository, "MESSAGE_PROBE_CAP", 1)  # two messages match: over it
        # Another page size: another cache entry, so this one is computed by the walk.
        walked = await client.get(API, params={**params, "limit": 10}, headers=cast.agent.headers)
        ids = [t["id"] for t in probed.json()["data"]]
        assert ids == [t["id"] for t in walked.json()["data"]]
        assert set(ids) == {corpus[k]["id"] for k in ("printer", "router", "bobs")}

    async def test_no_message_matches_means_no_message_hits(self, client, cast: Cast, corpus):
        r = await client.get(
            API, params={"q": "zebra", "q_scope": "messages"}, headers=cast.agent.headers
        )
        assert r.json()["data"] == []


class TestTicketProbe:
    """Staff's `q` over the tickets' own text is probed too: up to the cap the list takes the
    matching tickets by id (a rare word or an order number no longer walks every ticket)."""

    async def test_over_the_cap_the_walk_gives_the_same_list(
        self, client, cast: Cast, corpus, monkeypatch
    ):
        from helpline.ticket import repository

        more = await create(client, cast.bob, title="Smoke detector battery", description="9V")
        expected = {corpus["bobs"]["id"], more["id"]}
        for scope in ("tickets", "all"):
            params = {"q": "smoke", "q_scope": scope}
            probed = await client.get(API, params=params, headers=cast.agent.headers)
            monkeypatch.setattr(repository, "TICKET_PROBE_CAP", 1)  # two titles match: over it
            walked = await client.get(
                API, params={**params, "limit": 10}, headers=cast.agent.headers
            )
            monkeypatch.undo()
            ids = [t["id"] for t in probed.json()["data"]]
            assert ids == [t["id"] for t in walked.json()["data"]], scope
            assert expected <= set(ids), scope
            if scope == "tickets":
                assert set(ids) == expected

    async def test_a_ticket_number_is_found_through_the_probe_and_the_walk(
        self, client, cast: Cast, corpus, monkeypatch
    ):
        from helpline.ticket import repository

        number = corpus["other"]["number"]
        for cap in (repository.TICKET_PROBE_CAP, 0):
            monkeypatch.setattr(repository, "TICKET_PROBE_CAP", cap)
            r = await client.get(
                API, params={"q": f"#{number}", "limit": 5 + cap % 7}, headers=cast.agent.headers
            )
            assert [t["id"] for t in r.json()["data"]] == [corpus["other"]["id"]], cap

    async def test_counts_agree_with_the_list(self, client, cast: Cast, corpus):
        r = await client.get(f"{API}/counts", params={"q": "invoice"}, headers=cast.agent.headers)
        assert sum(c["count"] for c in r.json()["counts"]) == 1


class TestCustomerEmailAndName:
    async def test_staff_find_a_customers_tickets_by_email(self, client, cast: Cast, corpus):
        email = cast.bob.email
        r = await client.get(
            f"{API}/search", params={"q": email.upper()}, headers=cast.agent.headers
        )
        ids = {hit["ticket_id"] for hit in r.json()["data"]}
        assert ids == {corpus["bobs"]["id"], corpus["other"]["id"]}
        # A customer searching someone else's address finds nothing of theirs.
        r = await client.get(f"{API}/search", params={"q": email}, headers=cast.alice.headers)
        assert r.json()["data"] == []

    async def test_staff_find_a_customers_tickets_by_name_in_search_and_list(
        self, client, cast: Cast, corpus, session
    ):
        from sqlalchemy import text

        await session.execute(
            text("UPDATE users SET name = 'Zelda Quartermaine' WHERE id = :id"), {"id": cast.bob.id}
        )
        await session.commit()
        bobs = {corpus["bobs"]["id"], corpus["other"]["id"]}
        r = await client.get(
            f"{API}/search", params={"q": "quartermaine"}, headers=cast.agent.headers
        )
        assert {hit["ticket_id"] for hit in r.json()["data"]} == bobs
        listed = await client.get(
            API, params={"q": "Zelda Quartermaine"}, headers=cast.agent.headers
        )
        assert {t["id"] for t in listed.json()["data"]} == bobs
        by_email = await client.get(API, params={"q": cast.bob.email}, headers=cast.agent.headers)
        assert {t["id"] for t in by_email.json()["data"]} == bobs
        # Customers search their own tickets: another customer's name finds nothing.
        mine = await client.get(API, params={"q": "quartermaine"}, headers=cast.alice.headers)
        assert mine.json()["data"] == []
