"""The worker's IMAP loop: one task per active mailbox with an IMAP URL.

Per mailbox: connect, SELECT (UIDVALIDITY), fetch every UID above the last one stored, store
each message raw and queue its processing *in one committed transaction*, and only then flag it
on the server (\\Seen, or a move) — a crash in between fetches it again, and the unique key per
message makes that a no-op. Then IDLE (or poll where the server has no IDLE) and repeat. A
changed UIDVALIDITY re-scans the folder from the start (safe for the same reason). Any failure
closes the connection, is recorded on the mailbox (`imap_error`) and retried with exponential
backoff; each mailbox has its own task, so one mailbox's failure never stalls another.

The supervisor re-reads the mailbox list every ``refresh_s`` (mailboxes added, changed or
disabled) and stops every task when asked (``stop()``), which tests and SIGTERM use.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from helpline.config import Settings
from helpline.db import ActorContext, Database
from helpline.kit.clock import Clock
from helpline.mail import ingest, repository
from helpline.mail.vault import Vault

log = structlog.get_logger("helpline.mail.imap")
ACTOR = ActorContext.system("mail-imap")
Connect = Callable[[str], Awaitable[Any]]


def imap_source() -> Any:
    """mailcore's IMAP client class (imported when first needed)."""
    return importlib.import_module("helpline.mail.imap").ImapSource


def _default_connect(url: str) -> Awaitable[Any]:
    return imap_source().connect(url)  # type: ignore[no-any-return]


def retry_delay(failures: int, cap: float, rng: random.Random | None = None) -> float:
    """1 s, 2 s, 4 s … capped, with jitter (0.5-1.0 of the step)."""
    step = min(cap, 2.0 ** max(0, failures - 1))
    return step * (rng or random).uniform(0.5, 1.0)


@dataclass
class MailboxWatcher:
    """Fetches one mailbox until stopped."""

    mailbox_id: uuid.UUID
    url: str
    database: Database
    settings: Settings
    clock: Clock
    connect: Connect = _default_connect
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = 0
    stored: int = 0

    def __repr__(self) -> str:  # the URL holds a password
        return f"MailboxWatcher({self.mailbox_id})"

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                await self._record_error(f"{type(exc).__name__}: {exc}")
                delay = retry_delay(self.failures, self.settings.imap_max_backoff_s)
                log.warning(
                    "imap failed",
                    mailbox_id=str(self.mailbox_id),
                    error=type(exc).__name__,
                    retry_in_s=round(delay, 1),
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)

    async def session(self) -> None:
        """One connection: catch up, then IDLE/poll and catch up again until stopped."""
        source = await self.connect(self.url)
        try:
            uidvalidity, _uidnext = await source.select()
            while not self.stopping.is_set():
                await self.catch_up(source, int(uidvalidity))
                self.failures = 0
                await self._idle(source)
        finally:
            with contextlib.suppress(Exception):
                await source.close()

    async def _idle(self, source: Any) -> None:
        idle = asyncio.ensure_future(source.idle(self.settings.imap_poll_interval_s))
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({idle, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not idle.done():
                idle.cancel()
                with contextlib.suppress(BaseException):
                    await idle
            else:
                failure = idle.exception()
                if failure is not None:
                    raise failure

    async def catch_up(self, source: Any, uidvalidity: int) -> int:
        """Store every message above the last stored UID; how many were new to the mailbox."""
        async with self.database.transaction(ACTOR) as session:
            mailbox = await repository.get_mailbox(session, self.mailbox_id)
            if mailbox is None or not mailbox.is_active:
                self.stopping.set()
                return 0
            last_uid = mailbox.imap_last_uid or 0
            if mailbox.imap_uidvalidity != uidvalidity:
                last_uid = 0  # a new folder generation: re-scan (stored ones are duplicates)
                await repository.update_mailbox(
                    session, self.mailbox_id, {"imap_uidvalidity": uidvalidity, "imap_last_uid": 0}
                )
        new = 0
        async for uid, raw in source.fetch_since(last_uid):
            if uid <= last_uid:
                continue
            async with self.database.transaction(ACTOR) as session:
                mailbox = await repository.get_mailbox(session, self.mailbox_id)
                if mailbox is None:
                    return new
                stored = await ingest.store_raw(
                    session,
                    mailbox,
                    raw,
                    "imap",
                    max_bytes=self.settings.mail_max_bytes,
                    imap_uidvalidity=uidvalidity,
                    imap_uid=uid,
                )
                await repository.update_mailbox(
                    session,
                    self.mailbox_id,
                    {"imap_last_uid": uid, "imap_error": None, "imap_checked_at": self.clock()},
                )
            # Committed: only now may the server forget about it.
            await source.mark_processed(uid)
            last_uid = uid
            self.stored += 1
            new += int(stored.created)
            if self.stopping.is_set():
                break
        async with self.database.transaction(ACTOR) as session:
            await repository.update_mailbox(
                session, self.mailbox_id, {"imap_error": None, "imap_checked_at": self.clock()}
            )
        return new

    async def _record_error(self, error: str) -> None:
        with contextlib.suppress(Exception):
            async with self.database.transaction(ACTOR) as session:
                await repository.update_mailbox(
                    session, self.mailbox_id, {"imap_error": error[:1000]}
                )


@dataclass
class ImapSupervisor:
    """Runs a :class:`MailboxWatcher` per active IMAP mailbox; follows mailbox changes."""

    database: Database
    settings: Settings
    clock: Clock
    connect: Connect = _default_connect
    refresh_s: float = 30.0
    watchers: dict[uuid.UUID, tuple[str, MailboxWatcher, asyncio.Task[None]]] = field(
        default_factory=dict
    )
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    await self.refresh()
                except Exception:
                    log.exception("imap supervisor could not read the mailboxes")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.refresh_s)
        finally:
            await self._stop_all()

    async def refresh(self) -> None:
        vault = Vault.from_settings(self.settings)
        async with self.database.transaction(ACTOR) as session:
            mailboxes = await repository.list_mailboxes(session, imap_only=True)
        wanted: dict[uuid.UUID, str] = {}
        for mailbox in mailboxes:
            try:
                wanted[mailbox.id] = vault.decrypt(mailbox.imap_url_encrypted or b"")
            except ValueError:
                log.error("imap url cannot be decrypted", mailbox_id=str(mailbox.id))
        for mailbox_id in list(self.watchers):
            url, watcher, task = self.watchers[mailbox_id]
            if wanted.get(mailbox_id) != url or task.done():
                await self._stop(mailbox_id)
        for mailbox_id, url in wanted.items():
            if mailbox_id not in self.watchers:
                watcher = MailboxWatcher(
                    mailbox_id, url, self.database, self.settings, self.clock, self.connect
                )
                self.watchers[mailbox_id] = (url, watcher, asyncio.create_task(watcher.run()))

    async def _stop(self, mailbox_id: uuid.UUID) -> None:
        _url, watcher, task = self.watchers.pop(mailbox_id)
        watcher.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _stop_all(self) -> None:
        for mailbox_id in list(self.watchers):
            await self._stop(mailbox_id)

    def stop(self) -> None:
        self._stopping.set()
