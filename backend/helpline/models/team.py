import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base, created_at_column, uuid_pk


class Team(Base):
    """A group of agents; a ticket belongs to at most one team (rules route to them)."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        Index("uq_teams_name", text("lower(name)"), unique=True),
        {"comment": "Teams of agents (ADR 0014)."},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text, comment="Unique case-insensitively, 1-100 chars.")
    description: Mapped[str] = mapped_column(Text, server_default="", comment="Free text.")
    last_assigned_to: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), comment="Round-robin position: the member assigned last."
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="Last change."
    )


class TeamMember(Base):
    """An agent or admin in a team (round-robin assignment picks among them)."""

    __tablename__ = "team_members"
    __table_args__ = (
        Index("ix_team_members_user_id", "user_id"),
        {"comment": "Members of teams: agents and admins."},
    )

    team_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = created_at_column()
