"""Lone reads (UnitOfWork.read) on a real engine: autocommit outside a transaction, the request's own
transaction once it has begun. (The other integration tests share one outer transaction, which
takes the second path only.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from helpline.db import Database

pytestmark = pytest.mark.integration

# now() is the start of the transaction: the same for every statement of one transaction, a
# new value for each statement in autocommit.
NOW = text("SELECT now()")
ACTOR = text("SELECT current_setting('helpline.actor_id', true)")


@pytest.fixture
def database(engine: AsyncEngine) -> Database:
    return Database(engine)


async def scalar(session: AsyncSession, statement: object) -> object:
    return (await session.execute(statement)).scalar_one()  # type: ignore[call-overload]


async def test_a_read_before_any_transaction_runs_in_autocommit(database: Database):
    async with database.work().boundary() as uow:
        first = await uow.read(lambda s: scalar(s, NOW))
        second = await uow.read(lambda s: scalar(s, NOW))
        assert first != second  # two transactions of their own
        assert not uow.in_transaction  # the unit's session took no connection


async def test_a_read_after_the_request_began_uses_its_transaction(database: Database):
    uow = database.work()
    await uow.session.execute(text("SELECT set_config('helpline.actor_id', 'someone', true)"))
    began = await scalar(uow.session, NOW)
    assert await uow.read(lambda s: scalar(s, NOW)) == began
    # it sees what the transaction set (an autocommit read would not)
    assert await uow.read(lambda s: scalar(s, ACTOR)) == "someone"
    await uow.rollback()
    await uow.session.close()


async def test_a_read_after_queued_side_effects_uses_the_request_session(database: Database):
    async def nothing() -> None:
        return None

    uow = database.work()
    uow.after_commit(nothing)
    first = await uow.read(lambda s: scalar(s, NOW))
    assert await uow.read(lambda s: scalar(s, NOW)) == first  # one transaction
    await uow.rollback()
    await uow.session.close()
