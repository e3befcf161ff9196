"""Inbound bookkeeping: processed-message claims (dedup) and platform events."""
from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, json_dict


class ProcessedMessage(Base):
    """A claimed inbound message; its stored reply answers WeChat's retries."""

    __tablename__ = "processed_messages"
    __table_args__ = (Index("ix_processed_messages_created_at", "created_at"),)

    # sha256 of MsgId, or of FromUserName+CreateTime+Event for events.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    # Plaintext reply XML; empty string means "success" (nothing to say).
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]


class PlatformEvent(Base):
    """Delivery reports from WeChat (TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH)."""

    __tablename__ = "platform_events"

    id: Mapped[intpk]
    event: Mapped[str] = mapped_column(String(32), index=True)
    msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[json_dict]
    created_at: Mapped[created]
