"""db.UnitOfWork on the real database: one commit, effects after it, steps before it, the actor
as each transaction begins (ADR 0011)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from helpline.db import ActorContext, Database

pytestmark = pytest.mark.integration

REQUEST_ID = text("SELECT current_setting('helpline.request_id', true)")


class TestUnitOfWork:
    async def test_effects_run_after_the_commit_and_are_dropped_on_rollback(self, db: Database):
        ran: list[str] = []

        async def note() -> None:
            ran.append("effect")

        async with db.unit_of_work() as uow:
            uow.after_commit(note)
            await uow.session.execute(text("SELECT 1"))
            assert ran == []  # not before the commit
        assert ran == ["effect"]

        async def failing_unit() -> None:
            async with db.unit_of_work() as uow:
                uow.after_commit(note)
                raise RuntimeError("fail")

        with pytest.raises(RuntimeError):
            await failing_unit()
        assert ran == ["effect"]  # the failed unit's effect never ran

    async def test_collect_gathers_into_one_effect_until_its_changes_roll_back(self, db: Database):
        class Tickets(list[int]):
            async def __call__(self) -> None:
                delivered.append(list(self))

        delivered: list[list[int]] = []
        async with db.unit_of_work() as uow:
            uow.collect("tickets", Tickets).append(1)
            mark = uow.effects_mark()
            uow.collect("other", Tickets).append(9)
            uow.drop_effects(mark)  # a savepoint rolled back: its effect and collector go
            uow.collect("tickets", Tickets).append(2)
            uow.collect("other", Tickets).append(3)
        assert delivered == [[1, 2], [3]]

    async def test_before_commit_steps_write_in_the_same_transaction(self, db: Database):
        seen: list[object] = []

        async def step(uow) -> None:  # type: ignore[no-untyped-def]
            seen.append((await uow.session.execute(text("SELECT 41 + 1"))).scalar_one())

        async with db.unit_of_work() as uow:
            uow.before_commit(step)
            await uow.session.execute(text("SELECT 1"))
        assert seen == [42]
        async with db.unit_of_work() as uow:  # nothing began: nothing to commit, no step
            uow.before_commit(step)
        assert seen == [42]

    async def test_the_actor_is_recorded_as_each_transaction_begins(self, db: Database):
        uow = db.work()
        await uow.act_as(ActorContext(actor_type="system", request_id="req-1"))
        assert not uow.in_transaction  # no statement yet: reads never pay for the actor
        async with uow.boundary():
            assert (await uow.session.execute(REQUEST_ID)).scalar_one() == "req-1"
            await uow.release()  # commits (nothing queued): the next statement begins anew
            assert (await uow.session.execute(REQUEST_ID)).scalar_one() == "req-1"
