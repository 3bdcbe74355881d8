"""Reading a mailbox over IMAP with aioimaplib (DESIGN §16): the pure client; the worker loop
that stores raw copies, tracks UIDVALIDITY and reconnects lives with the caller.

URL: ``imap://USER:PASS@HOST[:143]/FOLDER`` or ``imaps://…[:993]/FOLDER`` (``INBOX`` when no
folder). Query parameters: ``move_to=Folder`` (``mark_processed`` moves there instead of setting
``\\Seen``), ``cafile=/path``, ``verify=false`` (test servers only).

Order of use, so nothing is acknowledged before it is safe: ``select()`` → compare UIDVALIDITY
with the stored one → ``fetch_since(last_uid)`` → store each raw copy and commit →
``mark_processed(uid)`` → ``idle(timeout)`` → again. Messages are fetched with ``BODY.PEEK[]``,
so reading never sets ``\\Seen`` by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aioimaplib

SCHEMES = {"imap": 143, "imaps": 993}
DEFAULT_POLL_INTERVAL = 60.0


class ImapError(Exception):
    """The server refused a command or answered something unusable."""


class ImapConnectionLost(ImapError):
    """The connection broke (server restart, network): reconnect with backoff."""


class ImapAuthError(ImapError):
    """Login refused: retrying quickly will not help (and may lock the account)."""


@dataclass(frozen=True)
class ImapTarget:
    scheme: str
    host: str
    port: int
    username: str
    password: str
    folder: str
    move_to: str | None
    cafile: str | None
    verify: bool

    def __repr__(self) -> str:  # never show the password
        return f"ImapTarget({self.scheme}://{self.username}@{self.host}:{self.port}/{self.folder})"


def parse_imap_url(url: str) -> ImapTarget:
    """The target of an IMAP URL, or ValueError naming what is wrong (never the password)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported IMAP URL scheme {scheme!r}: use imap:// or imaps://")
    if not parts.hostname:
        raise ValueError("the IMAP URL has no host")
    if not parts.username or parts.password is None:
        raise ValueError("the IMAP URL needs USER:PASSWORD@")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise ValueError("the IMAP URL's port is not a number") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
        move_to=query.get("move_to") or None,
        cafile=query.get("cafile"),
        verify=query.get("verify", "true").lower() not in {"false", "0", "no"},
    )


_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)\b")
_EXISTS = re.compile(rb"^\*? ?\d+ (?:EXISTS|RECENT)\b")


def _quote(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.\-/]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSource:
    """One authenticated connection to one folder."""

    def __init__(
        self, target: ImapTarget, *, timeout: float, use_idle: bool, poll_interval: float
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._use_idle = use_idle
        self._lost = asyncio.Event()
        self._client: Any = None
        self.capabilities: frozenset[str] = frozenset()

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - per IMAP command, kept for the whole session
        use_idle: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> ImapSource:
        """Connect and log in; ``use_idle=False`` forces polling even when IDLE is offered."""
        source = cls(
            parse_imap_url(url), timeout=timeout, use_idle=use_idle, poll_interval=poll_interval
        )
        await source._open()
        return source

    async def _open(self) -> None:
        target = self.target
        lost = self._lost

        def connection_lost(_exc: Exception | None) -> None:
            lost.set()

        try:
            if target.scheme == "imaps":
                context = ssl.create_default_context(cafile=target.cafile)
                if not target.verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self._client = aioimaplib.IMAP4_SSL(
                    host=target.host, port=target.port, timeout=self.timeout, ssl_context=context
                )
                self._client.protocol.conn_lost_cb = connection_lost
            else:
                self._client = aioimaplib.IMAP4(
                    host=target.host,
                    port=target.port,
                    timeout=self.timeout,
                    conn_lost_cb=connection_lost,
                )
            await self._client.wait_hello_from_server()
            response = await self._client.login(target.username, target.password)
        except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
            await self._drop()
            raise ImapConnectionLost(
                f"cannot connect to {target!r}: {type(exc).__name__}"
            ) from None
        if response.result != "OK":
            await self._drop()
            raise ImapAuthError(f"login refused for {target.username!r}")
        # capabilities change after login: ask again
        await self._command(self._client.protocol.capability())
        self.capabilities = frozenset(c.upper() for c in self._client.protocol.capabilities)

    @property
    def has_idle(self) -> bool:
        return "IDLE" in self.capabilities

    @property
    def has_move(self) -> bool:
        return "MOVE" in self.capabilities

    async def _command(self, awaitable: Any) -> Any:
        if self._lost.is_set():
            with contextlib.suppress(Exception):
                awaitable.close()
            raise ImapConnectionLost("the connection to the IMAP server is gone")
        # aioimaplib leaves a command waiting when the connection drops: race the loss
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            lost.cancel()
        if task not in done:
            task.cancel()
            reason = "connection lost" if done else "timed out"
            self._lost.set()
            raise ImapConnectionLost(f"IMAP command failed: {reason}")
        try:
            return task.result()
        except (OSError, TimeoutError, aioimaplib.Abort, aioimaplib.CommandTimeout) as exc:
            self._lost.set()
            raise ImapConnectionLost(f"IMAP command failed: {type(exc).__name__}") from None

    def _ok(self, response: Any, what: str) -> Any:
        if response.result != "OK":
            if self._lost.is_set():
                raise ImapConnectionLost(f"{what}: connection lost")
            text = b" ".join(line for line in response.lines if isinstance(line, bytes))
            raise ImapError(f"{what} failed: {text[:200].decode('utf-8', 'replace')}")
        return response

    async def select(self) -> tuple[int, int]:
        """Select the folder: (UIDVALIDITY, UIDNEXT)."""
        response = self._ok(
            await self._command(self._client.protocol.select(_quote(self.target.folder))),
            f"SELECT {self.target.folder}",
        )
        data = b"\n".join(line for line in response.lines if isinstance(line, bytes))
        validity = _UIDVALIDITY.search(data)
        uidnext = _UIDNEXT.search(data)
        if validity is None:
            raise ImapError("the server sent no UIDVALIDITY")
        if uidnext is None:  # optional before IMAP4rev2: derive it from the highest UID
            uids = await self._search("UID 1:*")
            return int(validity.group(1)), (max(uids) + 1 if uids else 1)
        return int(validity.group(1)), int(uidnext.group(1))

    async def _search(self, criteria: str) -> list[int]:
        response = self._ok(
            await self._command(
                self._client.protocol.search(*criteria.split(), charset=None, by_uid=True)
            ),
            "UID SEARCH",
        )
        uids: list[int] = []
        for line in response.lines[:-1]:  # the last line is the tagged completion's text
            if isinstance(line, bytes):  # "* SEARCH 1 2 3", aioimaplib strips "* SEARCH"
                words = line.split()
                if words and words[0].upper() == b"SEARCH":
                    words = words[1:]
                uids.extend(int(u) for u in words if u.isdigit())
        return sorted(set(uids))

    async def fetch_since(
        self, uid: int, *, unseen_only: bool = False
    ) -> AsyncIterator[tuple[int, bytes]]:
        """Each message with a UID above ``uid``, oldest first, as (uid, raw RFC 5322 bytes).

        One message per FETCH: a 30 MB message costs its own size in memory only, and the
        caller can commit each one before asking for the next.
        """
        criteria = f"UID {uid + 1}:*" + (" UNSEEN" if unseen_only else "")
        for found in [u for u in await self._search(criteria) if u > uid]:
            raw = await self._fetch(found)
            if raw is not None:
                yield found, raw

    async def _fetch(self, uid: int) -> bytes | None:
        response = self._ok(
            await self._command(
                self._client.protocol.fetch(
                    str(uid), "(UID BODY.PEEK[])", by_uid=True, timeout=self.timeout
                )
            ),
            f"UID FETCH {uid}",
        )
        lines = response.lines
        for index, line in enumerate(lines):
            if isinstance(line, bytearray):
                header = lines[index - 1] if index else b""
                match = _FETCH_UID.search(bytes(header))
                if match is None or int(match.group(1)) == uid:
                    return bytes(line)
        return None  # expunged meanwhile

    async def mark_processed(self, uid: int) -> None:
        """Acknowledge ``uid`` once its raw copy is committed: move it, or flag it \\Seen."""
        if self.target.move_to:
            if self.has_move:
                self._ok(
                    await self._command(
                        self._client.protocol.move(
                            str(uid), _quote(self.target.move_to), by_uid=True
                        )
                    ),
                    f"UID MOVE {uid}",
                )
                return
            self._ok(
                await self._command(
                    self._client.protocol.copy(str(uid), _quote(self.target.move_to), by_uid=True)
                ),
                f"UID COPY {uid}",
            )
            await self._store(uid, "(\\Seen \\Deleted)")
            if "UIDPLUS" in self.capabilities:
                self._ok(
                    await self._command(self._client.protocol.expunge(str(uid), by_uid=True)),
                    f"UID EXPUNGE {uid}",
                )
            return
        await self._store(uid, "(\\Seen)")

    async def _store(self, uid: int, flags: str) -> None:
        self._ok(
            await self._command(
                self._client.protocol.store(str(uid), "+FLAGS.SILENT", flags, by_uid=True)
            ),
            f"UID STORE {uid}",
        )

    async def idle(self, timeout: float) -> bool:  # noqa: ASYNC109 - how long to IDLE
        """Wait up to ``timeout`` s for new mail: True when the server announced some.

        Uses IDLE when offered (and not disabled), else sleeps ``poll_interval`` (at most
        ``timeout``) and asks with NOOP. Raises ImapConnectionLost when the connection breaks.
        """
        if not (self._use_idle and self.has_idle):
            return await self._poll(timeout)
        client = self._client
        try:
            idle_task = await self._command(client.idle_start(timeout=timeout))
        except ImapConnectionLost:
            raise
        except aioimaplib.AioImapException as exc:
            raise ImapError(f"IDLE refused: {exc}") from None
        lost = asyncio.ensure_future(self._lost.wait())
        announced = False
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not announced:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                push = asyncio.ensure_future(client.wait_server_push(timeout=remaining + 1))
                done, _ = await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
                if lost in done:
                    push.cancel()
                    await self._drop()
                    raise ImapConnectionLost("the connection broke during IDLE")
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                announced = any(_EXISTS.match(bytes(line)) for line in lines)
        finally:
            lost.cancel()
        if self._lost.is_set():
            await self._drop()
            raise ImapConnectionLost("the connection broke during IDLE")
        client.idle_done()
        try:
            await asyncio.wait_for(idle_task, self.timeout)
        except (TimeoutError, aioimaplib.AioImapException):
            self._lost.set()
            raise ImapConnectionLost("the server did not end IDLE") from None
        return announced

    async def _poll(self, limit: float) -> bool:
        waited = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({waited}, timeout=min(limit, self.poll_interval))
        finally:
            waited.cancel()
        response = self._ok(
            await self._command(self._client.protocol.simple_command("NOOP")), "NOOP"
        )
        return any(isinstance(line, bytes) and _EXISTS.match(line) for line in response.lines)

    async def close(self) -> None:
        """Log out cleanly when the connection still stands; never raises."""
        if self._client is not None and not self._lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.logout(), min(self.timeout, 5))
        await self._drop()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            transport = client.protocol.transport
            if transport is not None:
                transport.close()
        tasks = list(getattr(client, "tasks", ())) + list(getattr(client.protocol, "tasks", ()))
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            if client._idle_waiter is not None:
                client._idle_waiter.cancel()

    async def __aenter__(self) -> ImapSource:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


@dataclass
class Backoff:
    """Exponential backoff with jitter for reconnects: 1 s, 2 s, 4 s … up to ``maximum``.

    ``delay()`` gives the next wait (the caller sleeps, on its own clock); ``reset()`` after a
    success. The random source is injectable so tests are deterministic.
    """

    initial: float = 1.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: float = 0.2  # ± this fraction of the delay
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def delay(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        spread = base * self.jitter
        return max(0.0, min(self.maximum, base + self.rng.uniform(-spread, spread)))

    def reset(self) -> None:
        self.attempts = 0
