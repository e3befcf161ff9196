"""Human handoff (人工服务): a resident's chat handed to the community's staff.

While a handoff is open, what the resident writes (other than a command) goes to the
console's chat inbox; staff answer with customer-service messages inside WeChat's
48-hour window and end the handoff.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, intpk, str_enum


class HandoffStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_community_status", "community_id", "status"),)

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    status: Mapped[HandoffStatus] = mapped_column(str_enum(HandoffStatus), default=HandoffStatus.OPEN)
    # Why it was opened: asked (人工 …) or misunderstood (three times in a row).
    reason: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Last message from the resident: the console lists the newest first.
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))

    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="handoff", order_by="HandoffMessage.id", cascade="all, delete-orphan")


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id: Mapped[intpk]
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    # in: from the resident; out: a staff answer.
    direction: Mapped[str] = mapped_column(String(3))
    body: Mapped[str] = mapped_column(Text)
    # Staff who answered (display name), or None for the resident's own words.
    author: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When staff first saw a resident's message (None: unread).
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    handoff: Mapped[Handoff] = relationship(back_populates="messages")
