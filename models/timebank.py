"""Volunteer time bank (时间银行): accounts, the append-only ledger, service records,
redemptions, volunteer applications, and the staff audit log."""
from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, created, intpk, str_enum, timestamp


class Account(Base):
    """A volunteer's account, or a community's public pool (公益池) when `owner_id` is null.

    `balance` caches the sum of the account's ledger entries; it is only ever changed
    together with an entry, under the account's row lock, and cannot go negative.
    """

    __tablename__ = "timebank_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="not_negative"),
        Index("uq_timebank_pool", "community_id", unique=True,
              sqlite_where=text("owner_id IS NULL"), postgresql_where=text("owner_id IS NULL")),
    )

    id: Mapped[intpk]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    balance: Mapped[int] = mapped_column(Integer, default=0)  # minutes
    earned_total: Mapped[int] = mapped_column(Integer, default=0)  # for milestones
    leaderboard_opt_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created]


class EntryKind(enum.StrEnum):
    EARN = "earn"
    HOLD = "hold"  # hours reserved by a redemption request
    RELEASE = "release"  # a hold given back (cancelled, or turned into the redeem entry)
    REDEEM = "redeem"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    DONATION = "donation"  # to the community pool
    GRANT = "grant"  # from the pool to an elder in need
    OVERFLOW = "overflow"  # above the cap: to the pool
    ADJUST = "adjust"  # staff correction, with a mandatory reason
    EXPIRY = "expiry"


class LedgerEntry(Base):
    """One movement of minutes; never updated or deleted."""

    __tablename__ = "timebank_ledger"
    __table_args__ = (Index("ix_ledger_account_id", "account_id", "id"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("timebank_accounts.id"))
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind))
    minutes: Mapped[int] = mapped_column(Integer)  # signed
    # What caused it: "record:12", "redemption:3", "transfer:9", "adjust:staff-name" …
    source: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]


class RecordStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ServiceRecord(Base):
    """Hours a volunteer says they served; counted only once verified."""

    __tablename__ = "timebank_records"
    __table_args__ = (Index("ix_records_volunteer_date", "volunteer_id", "service_date"),
                      Index("ix_records_status", "status", "created_at"),
                      Index("uq_records_activity", "meeting_id", "volunteer_id", unique=True,
                            sqlite_where=text("meeting_id IS NOT NULL"),
                            postgresql_where=text("meeting_id IS NOT NULL")))

    id: Mapped[intpk]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    service_type: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    beneficiary_name: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(200))
    photo_media_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus), default=RecordStatus.PENDING)
    verifier: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    entered_by: Mapped[str | None] = mapped_column(String(64))  # staff 代录
    verified_at: Mapped[timestamp | None]
    reminded_at: Mapped[timestamp | None]
    # The two halves of verification, as the community's policy asks for them.
    confirmed_at: Mapped[timestamp | None]  # by the beneficiary
    reviewed_by: Mapped[str | None] = mapped_column(String(64))  # staff, while still waiting
    reviewed_at: Mapped[timestamp | None]
    # Patterns staff should look at before the hours count (same pair often, same home, family).
    flags: Mapped[list[str] | None] = mapped_column(JSONType)
    # Proposed from a volunteer activity's check-in: one record per volunteer and activity.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    created_at: Mapped[created]


class LinkStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class FamilyLink(Base):
    """A family member a resident declared (家人) and staff confirmed: hours go only here."""

    __tablename__ = "family_links"
    __table_args__ = (UniqueConstraint("resident_id", "relative_id"),)

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    relative_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    relation: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[LinkStatus] = mapped_column(str_enum(LinkStatus))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class TransferStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class Transfer(Base):
    """Hours offered to a confirmed family member: held until they accept (or give back)."""

    __tablename__ = "timebank_transfers"
    __table_args__ = (Index("ix_transfers_receiver_status", "receiver_id", "status"),
                      Index("ix_transfers_status_expires", "status", "expires_at"))

    id: Mapped[intpk]
    giver_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    receiver_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[TransferStatus] = mapped_column(str_enum(TransferStatus))
    expires_at: Mapped[timestamp]
    decided_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class RedemptionStatus(enum.StrEnum):
    HELD = "held"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class Redemption(Base):
    __tablename__ = "timebank_redemptions"

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("timebank_accounts.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    service_code: Mapped[str] = mapped_column(String(32))
    service_name: Mapped[str] = mapped_column(String(32))
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[RedemptionStatus] = mapped_column(str_enum(RedemptionStatus))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class ApplicationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class VolunteerApplication(Base):
    __tablename__ = "volunteer_applications"

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    skills: Mapped[str] = mapped_column(String(200))
    availability: Mapped[str] = mapped_column(String(200))
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[timestamp | None]
    created_at: Mapped[created]


class AuditLog(Base):
    """Who did what to which record, with the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_target", "target", "created_at"),)

    id: Mapped[intpk]
    actor: Mapped[str] = mapped_column(String(64))
    # How the actor is named to people (display name), for the log page.
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]
