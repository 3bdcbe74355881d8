"""Default mailbox (replies on web/API tickets go out by mail) and raw-mail retention.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 11:30:00+00:00

- ``mailboxes.is_default``: the mailbox that mails the public staff replies of tickets that did
  not come by mail. At most one: a unique partial index over the constant ``true`` where
  ``is_default`` (a second default is refused by the database, whatever the application does).
- ``inbound_emails.raw`` becomes nullable and ``raw_purged_at`` says when the retention job
  dropped the bytes; the row (SHA-256, Message-ID, status, ticket) stays, so a message that
  comes again is still recognised as a duplicate. A row keeps its bytes or says when they went.
  Downgrade puts an empty value where bytes were purged (they are gone either way).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mailboxes",
        sa.Column(
            "is_default",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="Mails the replies of tickets opened on the web or by the API (one at most).",
        ),
    )
    op.create_index(
        "uq_mailboxes_one_default",
        "mailboxes",
        [sa.text("(true)")],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.alter_column(
        "inbound_emails",
        "raw",
        existing_type=sa.LargeBinary(),
        nullable=True,
        comment="The message as received (RFC 5322); null once the retention job purged it.",
        existing_comment="The message as received (RFC 5322).",
    )
    op.add_column(
        "inbound_emails",
        sa.Column(
            "raw_purged_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the retention job dropped the raw bytes (the row stays for dedup).",
        ),
    )
    op.create_check_constraint(
        op.f("ck_inbound_emails_raw_kept_or_purged"),
        "inbound_emails",
        "raw IS NOT NULL OR raw_purged_at IS NOT NULL",
    )
    op.create_index(
        "ix_inbound_emails_raw_kept_received",
        "inbound_emails",
        ["received_at"],
        postgresql_where=sa.text("raw_purged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_emails_raw_kept_received", table_name="inbound_emails")
    op.drop_constraint(
        op.f("ck_inbound_emails_raw_kept_or_purged"), "inbound_emails", type_="check"
    )
    op.drop_column("inbound_emails", "raw_purged_at")
    op.execute("UPDATE inbound_emails SET raw = ''::bytea WHERE raw IS NULL")
    op.alter_column(
        "inbound_emails",
        "raw",
        existing_type=sa.LargeBinary(),
        nullable=False,
        comment="The message as received (RFC 5322).",
        existing_comment="The message as received (RFC 5322); null once the retention job purged it.",
    )
    op.drop_index("uq_mailboxes_one_default", table_name="mailboxes")
    op.drop_column("mailboxes", "is_default")
