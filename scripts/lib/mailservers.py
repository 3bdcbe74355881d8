"""Real mail servers on 127.0.0.1 for the tests (tests/fixtures/dovecot.py, smtp_sink.py wrap
them as pytest fixtures) and the benchmarks (`scripts/bench mail`, `scripts/bench mail-core`).

- ``SmtpSink``/``start_sink``: aiosmtpd on a free port, collecting what it receives; recipients
  steer failures: ``reject-5xx@…`` → 550 5.1.1, ``defer-4xx@…`` → 451 4.3.0. ``make_certificate``
  makes a self-signed certificate for 127.0.0.1 (STARTTLS/SMTPS sinks, IMAPS).
- ``Dovecot``: Debian's dovecot started as a foreground subprocess with a throw-away config, a
  passwd-file user and a Maildir store in a directory of its own, on a free port (plain IMAP,
  LOGIN allowed: loopback only), IMAPS on a second port, IDLE on. When dovecot is missing,
  ``scripts/lib/mail-deps.sh`` installs it (apt, as root); if that fails, ``DovecotMissing``.
  Running as root (the CI container), dovecot's own users ``dovecot``/``dovenull`` run its
  services and own the store; as another user, that user does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class DovecotMissing(RuntimeError):
    """dovecot is not installed and could not be installed."""


# --- SMTP sink ------------------------------------------------------------------------------
SMTP_USER, SMTP_PASSWORD = "mailer", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    authenticated_as: str | None = None

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        local = address.partition("@")[0].lower()
        if local == "reject-5xx":
            return "550 5.1.1 mailbox unavailable"
        if local == "defer-4xx":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        item = Received(
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            authenticated_as=login.decode() if isinstance(login, bytes) else login,
        )
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


def sink_authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode(),
    )  # fmt: skip
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class SmtpSink:
    """A running aiosmtpd; ``url`` is what HELPLINE_SMTP_URL would be."""

    def __init__(self, controller: Controller, handler: SinkHandler, url: str) -> None:
        self.controller = controller
        self.handler = handler
        self.url = url

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Block until ``count`` messages arrived (the server runs in its own thread)."""
        with self.handler.arrived:
            self.handler.arrived.wait_for(lambda: len(self.handler.received) >= count, timeout)
            return list(self.handler.received)


def start_sink(handler: SinkHandler, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpline test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


# --- IMAP: dovecot ----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]  # the repository
DOVECOT = "/usr/sbin/dovecot"
IMAP_USER, IMAP_PASSWORD = "helpline", "imap-pass-1"


def ensure_dovecot() -> str:
    """The installed dovecot's version, installing it first when needed."""
    if not Path(DOVECOT).exists():
        result = subprocess.run(
            ["bash", str(ROOT / "scripts/lib/mail-deps.sh")],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not Path(DOVECOT).exists():
            raise DovecotMissing(
                "dovecot is needed and scripts/lib/mail-deps.sh could not install it: "
                + (result.stderr.strip() or f"exit {result.returncode}")
            )
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(
    version: str, root: Path, port: int, tls_port: int, service_user: str, login_user: str
) -> str:
    """dovecot.conf for 2.3 or 2.4 (whose settings were renamed); IMAPS on ``tls_port``."""
    common = f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = helpline-test-{port}
protocols = imap
listen = 127.0.0.1
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {service_user}
default_internal_group = {_group(service_user)}
default_login_user = {login_user}
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
    if tuple(int(p) for p in re.findall(r"\d+", version)[:2]) >= (2, 4):
        # 2.4 renamed the settings (untested here: Debian bookworm ships 2.3)
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}
auth_allow_cleartext = yes
ssl_server_cert_file = {root}/tls-cert.pem
ssl_server_key_file = {root}/tls-key.pem
passdb passwd-file {{
  passwd_file_path = {root}/passwd
  default_password_scheme = PLAIN
}}
userdb passwd-file {{
  passwd_file_path = {root}/passwd
}}
mail_driver = maildir
mail_path = ~/Maildir
"""
    return f"""{common}
disable_plaintext_auth = no
ssl_cert = <{root}/tls-cert.pem
ssl_key = <{root}/tls-key.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
mail_location = maildir:~/Maildir
"""


def _group(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


class Dovecot:
    """One dovecot instance; ``url(folder)`` is what a mailbox's IMAP URL would be."""

    def __init__(self, root: Path) -> None:
        self.version = ensure_dovecot()
        self.root = root
        self.port = _free_port()
        self.tls_port = _free_port()  # IMAPS, certificate self-signed at start (``cafile``)
        self.host = "127.0.0.1"
        self.user, self.password = IMAP_USER, IMAP_PASSWORD
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            service_user, login_user = "dovecot", "dovenull"
        else:
            service_user = login_user = pwd.getpwuid(os.geteuid()).pw_name
        owner = pwd.getpwnam(service_user)
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)  # the mail user must reach its home below it
        home = root / "mail" / IMAP_USER
        home.mkdir()
        if os.geteuid() == 0:
            os.chown(root / "mail", owner.pw_uid, owner.pw_gid)
            os.chown(home, owner.pw_uid, owner.pw_gid)
        (root / "passwd").write_text(
            f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{owner.pw_uid}:{owner.pw_gid}::{home}\n"
        )
        (root / "passwd").chmod(0o644)
        cert, key = make_certificate(root)
        cert.rename(root / "tls-cert.pem")
        key.rename(root / "tls-key.pem")
        self.cafile = root / "tls-cert.pem"
        self.config = root / "dovecot.conf"
        self.config.write_text(
            _config(self.version, root, self.port, self.tls_port, service_user, login_user)
        )

    def url(self, folder: str = "INBOX", *, tls: bool = False, **query: str) -> str:
        """``imap://…`` (or ``imaps://…`` trusting the test certificate) for ``folder``."""
        if tls:
            query = {"cafile": str(self.cafile), **query}
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        scheme, port = ("imaps", self.tls_port) if tls else ("imap", self.port)
        return f"{scheme}://{self.user}:{self.password}@{self.host}:{port}/{folder}{suffix}"

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends the imap children too
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # polling the start-up of a subprocess
            if self.proc.poll() is not None:
                stderr = (
                    self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                )
                raise RuntimeError(f"dovecot exited at start: {stderr}\n{self.log[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start listening on {self.port}:\n{self.log[-2000:]}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # imap processes serving open connections outlive the master: a restart must cut them
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stderr:
            proc.stderr.close()

    def restart(self) -> None:
        """Stop and start on the same port and store: clients' connections break."""
        self.stop()
        self.start()

    def _imap(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """Deliver ``raw`` into ``folder`` (IMAP APPEND); its UID."""
        client = self._imap()
        try:
            status, data = client.append(folder, flags or None, None, raw)
            assert status == "OK", data
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert match is not None, data
            return int(match.group(1))
        finally:
            client.logout()

    def create_folder(self, folder: str) -> None:
        client = self._imap()
        try:
            client.create(folder)
        finally:
            client.logout()

    def delete_folder(self, folder: str) -> None:
        client = self._imap()
        try:
            status, data = client.delete(folder)
            assert status == "OK", data
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The folder's UIDVALIDITY (STATUS): a recreated folder gets a new one."""
        client = self._imap()
        try:
            status, data = client.status(folder, "(UIDVALIDITY)")
            assert status == "OK", data
            match = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert match is not None, data
            return int(match.group(1))
        finally:
            client.logout()

    def flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        client = self._imap()
        try:
            client.select(folder, readonly=True)
            status, data = client.uid("FETCH", str(uid), "(FLAGS)")
            assert status == "OK"
            if not data or data[0] is None:
                return set()
            found = re.search(rb"FLAGS \(([^)]*)\)", data[0] if isinstance(data[0], bytes) else b"")
            return set(found.group(1).decode().split()) if found else set()
        finally:
            client.logout()

    def uids(self, folder: str = "INBOX") -> list[int]:
        client = self._imap()
        try:
            client.select(folder, readonly=True)
            status, data = client.uid("SEARCH", "ALL")
            assert status == "OK"
            return [int(u) for u in (data[0] or b"").split()]
        finally:
            client.logout()
