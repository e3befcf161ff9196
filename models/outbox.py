"""Delivery: the durable outbox, due reminders, broadcasts and per-kind pauses.

Every push Linli makes outside a passive reply is an `OutboxMessage`, written
in the same transaction as the change that caused it; the scheduler sends it.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, created, intpk, json_dict, str_enum, timestamp


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # dead letter: retries exhausted; staff may re-queue
    UNDELIVERABLE = "undeliverable"  # no channel can reach the person; reason kept
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    CUSTOM = "custom"  # customer-service message, inside the 48-hour window
    TEMPLATE = "template"
    SUBSCRIPTION = "subscription"  # 订阅通知, where the resident allowed it
    MASS = "mass"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The dispatcher's query: due pending rows, most urgent first.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # {"text": …, "fields": {template keyword: value}, "url": …}
    payload: Mapped[json_dict]
    urgent: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.PENDING)
    channel: Mapped[Channel | None] = mapped_column(str_enum(Channel))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A push that only makes sense until then (a reminder before the meeting starts).
    expires_at: Mapped[timestamp | None]
    last_error_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[timestamp | None]
    sent_at: Mapped[timestamp | None]
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    created_at: Mapped[created]


class Reminder(Base):
    """A push due later. The sweep turns due, still-relevant reminders into outbox rows."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "done", "due_at"),)

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[json_dict]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Past this moment the reminder is stale and is dropped, never sent late.
    expires_at: Mapped[timestamp | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    done: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(16))  # queued | stale | cancelled
    created_at: Mapped[created]


class DeliveryPause(Base):
    """A notification kind held back, e.g. after 45009 (daily quota) until the reset."""

    __tablename__ = "delivery_pauses"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(128))


class BroadcastStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Strategy(enum.StrEnum):
    PER_RESIDENT = "per_resident"  # one outbox row each, through the channel rules
    MASS_TAG = "mass_tag"  # WeChat mass send to the community tag (4 a month per follower)


class Broadcast(Base):
    """A staff notice to an audience, sent now or at `send_at`."""

    __tablename__ = "broadcasts"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # {"type": "all"|"community"|"grid"|"building"|"role"|"meeting", "id": …, "role": …}
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    strategy: Mapped[Strategy] = mapped_column(str_enum(Strategy))
    status: Mapped[BroadcastStatus] = mapped_column(str_enum(BroadcastStatus))
    urgent: Mapped[bool] = mapped_column(default=False)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # Mass strategy: what WeChat reported (MASSSENDJOBFINISH) or refused.
    mass_msg_id: Mapped[str | None] = mapped_column(String(64))
    mass_result: Mapped[json_dict]
    error: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[timestamp | None]
    finished_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class CommunityTag(Base):
    """The WeChat tag kept in sync with a community's followers (for mass sends)."""

    __tablename__ = "community_tags"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(Integer)
    synced_at: Mapped[timestamp | None]


class SubscriptionGrant(Base):
    """A resident allowed a subscription notification (订阅通知) template: long-term, or
    one-time (`remaining` sends, each "allow" adds one). Kept from WeChat's events."""

    __tablename__ = "subscription_grants"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    long_term: Mapped[bool] = mapped_column(default=True)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
