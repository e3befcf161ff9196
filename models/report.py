"""Resident reports (报事/随手拍): the report, its photos, timeline and followers."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, created, intpk, str_enum, timestamp


class Tier(enum.StrEnum):
    """三事分流: who acts on it."""

    BIG = "big"  # 大事: the community or government
    SMALL = "small"  # 小事: residents' groups, building heads, volunteers
    PRIVATE = "private"  # 私事: the person, with advice or a referral


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    REFERRED = "referred"
    DUPLICATE = "duplicate"


OPEN_STATUSES = (Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS)
FINAL_STATUSES = (Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_resident_created", "resident_id", "created_at"),
        Index("ix_reports_community_status", "community_id", "status"),
        Index("ix_reports_category_created", "category", "created_at"),
        Index("ix_reports_assignee_status", "assignee_id", "status"),
        # The SLA sweep reads only open reports whose next clock point has passed.
        Index("ix_reports_open_clock", "escalation", "next_check_at"),
    )

    id: Mapped[intpk]
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # The id the public feed shows: random, so a stranger cannot walk every report.
    public_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    # Staff approved showing the description and photos publicly (Open311).
    published: Mapped[bool] = mapped_column(default=False)
    # Null for reports that arrived through Open311 (no WeChat follower behind them).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    category: Mapped[str] = mapped_column(String(32))
    tier: Mapped[Tier] = mapped_column(str_enum(Tier))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(128))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    status: Mapped[Status] = mapped_column(str_enum(Status), default=Status.SUBMITTED)
    # The grid worker in charge (a resident with that role); null: community staff.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    assignee_title: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="wechat")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    accept_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 0: on time; 1: assignee warned (临期预警, at 75 % of the window); 2: escalated.
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    # When the SLA sweep must next look at this report (the warning, then the deadline);
    # None once it is escalated or no longer open.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 三事分流: who confirmed or changed the tier, and why (None: as pre-tiered by category).
    triaged_by: Mapped[str | None] = mapped_column(String(64))
    triage_reason: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[timestamp | None]
    resolved_at: Mapped[timestamp | None]
    closed_at: Mapped[timestamp | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[created]

    photos: Mapped[list["ReportPhoto"]] = relationship(order_by="ReportPhoto.id",
                                                       cascade="all, delete-orphan")
    events: Mapped[list["ReportEvent"]] = relationship(order_by="ReportEvent.id",
                                                       cascade="all, delete-orphan")


class ReportPhoto(Base):
    """A photo as WeChat gave it (media id + url); the scheduler fetches it to storage."""

    __tablename__ = "report_photos"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    media_id: Mapped[str] = mapped_column(String(128))
    pic_url: Mapped[str | None] = mapped_column(String(512))
    # "report" (from the resident) or "result" (the grid worker's proof of work)
    purpose: Mapped[str] = mapped_column(String(8), default="report")
    stored_path: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(32))
    fetch_error: Mapped[str | None] = mapped_column(String(128))
    fetched_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class ReportEvent(Base):
    """One line of a report's timeline: a status change or a note, by whom, when."""

    __tablename__ = "report_events"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[Status | None] = mapped_column(str_enum(Status))
    to_status: Mapped[Status | None] = mapped_column(str_enum(Status))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created]


class ReportFollower(Base):
    """A resident who "+1"-ed a report and receives its updates."""

    __tablename__ = "report_followers"
    __table_args__ = (UniqueConstraint("report_id", "resident_id"),)

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    created_at: Mapped[created]


class Supervision(Base):
    """督办: staff require the assignee to account for an overdue report; the answer closes it."""

    __tablename__ = "supervisions"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(500))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[timestamp | None]


class ReturnVisit(Base):
    """回访: staff call back a resident after a poor rating, a "not solved" or a sampled
    auto-close, and record the outcome."""

    __tablename__ = "return_visits"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # low_rating | not_solved | sampled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # satisfied | reopened | explained
    note: Mapped[str | None] = mapped_column(String(500))
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[timestamp | None]


class MediationCase(Base):
    """调解: a resident asked the community's mediator to help with a private matter (私事).
    The report carries the work and its state; the case records that mediation was asked."""

    __tablename__ = "mediation_cases"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
