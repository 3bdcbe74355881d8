from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from helpline.models.base import Base


class EmailSuppression(Base):
    """An address no mail is sent to (it bounced permanently) until an admin clears it."""

    __tablename__ = "email_suppressions"
    __table_args__ = ({"comment": "Suppressed recipient addresses (after hard bounces)."},)

    address: Mapped[str] = mapped_column(Text, primary_key=True, comment="Lower-case address.")
    reason: Mapped[str] = mapped_column(Text, comment="The bounce's status and diagnostic.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
