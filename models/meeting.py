"""Deliberation meetings (议事会) and activities, and who signed up for them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, created, intpk, str_enum, timestamp


class MeetingType(enum.StrEnum):
    COUNCIL = "council"  # 居民议事会
    JOINT = "joint"  # 四方联席会议
    HEARING = "hearing"  # 听证会
    VOLUNTEER = "volunteer"  # 志愿活动
    TALK = "talk"  # 讲座
    OTHER = "other"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # held, minutes recorded


class SignupStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        # Capacity is enforced by the database itself, not only by the code.
        CheckConstraint("capacity = 0 OR confirmed_count <= capacity", name="within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_meetings_community_starts", "community_id", "starts_at"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    type: Mapped[MeetingType] = mapped_column(str_enum(MeetingType))
    title: Mapped[str] = mapped_column(String(64))
    # [{"text": …, "report_id": …}] — free text or a linked report / focal issue
    agenda: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    place: Mapped[str] = mapped_column(String(128))
    online_url: Mapped[str | None] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # 0: unlimited
    reserved_seats: Mapped[int] = mapped_column(Integer, default=0)  # kept for staff / walk-ins
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    signup_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # {"type": "community"|"grid"|"building"|"role", …} as for broadcasts
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    terms: Mapped[str | None] = mapped_column(Text)
    allow_proxy: Mapped[bool] = mapped_column(default=True)  # 代报名 for family members
    status: Mapped[MeetingStatus] = mapped_column(str_enum(MeetingStatus), default=MeetingStatus.DRAFT)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    alerted_percent: Mapped[int] = mapped_column(Integer, default=0)  # last capacity alert sent
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    attendee_count: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[timestamp | None]
    closed_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class Signup(Base):
    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("meeting_id", "checkin_code"),
        # Nobody is signed up twice for themselves (a cancelled row does not count).
        Index("uq_signups_self", "meeting_id", "resident_id", unique=True,
              sqlite_where=text("status != 'cancelled' AND proxy_name IS NULL"),
              postgresql_where=text("status != 'cancelled' AND proxy_name IS NULL")),
        Index("uq_signups_proxy", "meeting_id", "resident_id", "proxy_name", unique=True,
              sqlite_where=text("status != 'cancelled' AND proxy_name IS NOT NULL"),
              postgresql_where=text("status != 'cancelled' AND proxy_name IS NOT NULL")),
        Index("ix_signups_meeting_status", "meeting_id", "status", "id"),
        Index("ix_signups_resident", "resident_id", "status"),
    )

    id: Mapped[intpk]  # arrival order: the waitlist is served by id
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    # Who signed up (null for a walk-in staff registered at the door).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    # A family member signed up by the resident (代报名), or a walk-in's name.
    proxy_name: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[SignupStatus] = mapped_column(str_enum(SignupStatus))
    checkin_code: Mapped[str] = mapped_column(String(8))
    checked_in_at: Mapped[timestamp | None]
    walk_in: Mapped[bool] = mapped_column(default=False)
    registered_by: Mapped[str | None] = mapped_column(String(64))  # staff for 代报名 / walk-ins
    promoted_at: Mapped[timestamp | None]
    cancelled_at: Mapped[timestamp | None]
    created_at: Mapped[created]
