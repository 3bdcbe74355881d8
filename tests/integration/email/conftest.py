"""The email channel's fixtures (tests/fixtures/mail_channel.py)."""

from tests.fixtures.mail_channel import app, mail, mail_settings

__all__ = ["app", "mail", "mail_settings"]
