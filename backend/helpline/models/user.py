import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, in_check, uuid_pk
from helpline.models.enums import Role, values


class User(Base):
    """A person: an admin, an agent or a customer."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(in_check("role", values(Role)), name="role"),
        CheckConstraint("char_length(email) BETWEEN 3 AND 320", name="email_length"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        Index("ix_users_role_created", "role", "created_at", "id"),
        # Ticket search by a customer's name (migration 0021): the query repeats this expression.
        Index(
            "ix_users_name_search",
            text("to_tsvector('simple'::regconfig, name)"),
            postgresql_using="gin",
        ),
        {"comment": "People who use Helpline: admins, agents and customers."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(
        Text, comment="Login and contact address, unique case-insensitively."
    )
    name: Mapped[str] = mapped_column(Text, comment="Display name.")
    role: Mapped[str] = mapped_column(Text, comment="admin | agent | customer.")
    is_active: Mapped[bool] = mapped_column(
        Boolean, server_default=text("true"), comment="Inactive users cannot authenticate."
    )
    password_hash: Mapped[str | None] = mapped_column(
        Text, comment="argon2 hash for the web interface; null = no password login."
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="Last change to the row."
    )
    last_login_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="Last successful password login."
    )
