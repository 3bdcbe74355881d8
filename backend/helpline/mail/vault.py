"""Mailbox credentials and inbound secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``HELPLINE_MAIL_ENCRYPTION_KEYS`` (the first encrypts, every key decrypts, so a
key can be rotated), else one key derived from ``HELPLINE_SECRET_KEY`` with HKDF. Plain values
exist only in memory, for the moment they are used; they are never logged or returned.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from helpline.config import Settings

HKDF_INFO = b"helpline mail credentials v1"


class VaultError(ValueError):
    """A stored value cannot be decrypted with any configured key."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from the service's secret key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


class Vault:
    """Encrypts and decrypts small secrets (URLs with passwords, signing secrets)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        configured = settings.mail_encryption_keys
        if configured is not None and configured.get_secret_value().strip():
            keys = [k.strip().encode() for k in configured.get_secret_value().split(",")]
            return cls([k for k in keys if k])
        return cls([derived_key(settings.secret_key.get_secret_value())])

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken as exc:
            raise VaultError("stored mail credential cannot be decrypted with the keys") from exc

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt with the first key (after a key rotation)."""
        return self._fernet.rotate(bytes(token))
