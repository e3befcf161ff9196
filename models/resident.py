"""Residents (居民): one per WeChat follower, and the roles staff grant them."""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, created, intpk, str_enum, timestamp

if TYPE_CHECKING:
    from models.community import Community


class Role(enum.StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    BUILDING_HEAD = "building_head"
    GRID_WORKER = "grid_worker"
    STAFF = "staff"
    ADMIN = "admin"


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (
        # One mobile number, one active resident per community.
        Index("uq_residents_community_mobile", "community_id", "mobile", unique=True,
              sqlite_where=text("mobile IS NOT NULL"), postgresql_where=text("mobile IS NOT NULL")),
    )

    id: Mapped[intpk]
    # Null once the person unfollowed and was anonymised.
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    # What the resident typed, e.g. "3栋2单元"; matched to a Building when possible.
    address: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[timestamp | None]
    # The privacy notice the person agreed to, and when (None: not yet).
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consented_at: Mapped[timestamp | None]
    followed: Mapped[bool] = mapped_column(default=True)
    followed_at: Mapped[timestamp | None]
    unfollowed_at: Mapped[timestamp | None]
    anonymised_at: Mapped[timestamp | None]
    # Last message from the resident: opens WeChat's 48-hour customer-service window
    # (5 messages); a menu click, follow or scan opens a shorter one (3 in a minute).
    last_message_at: Mapped[timestamp | None]
    last_event_at: Mapped[timestamp | None]
    # Last position from a LOCATION event or message.
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lng: Mapped[float | None] = mapped_column(Float)
    last_location_at: Mapped[timestamp | None]
    # The community whose WeChat tag this follower carries (mass sends by tag).
    tagged_community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    # The open human handoff (人工服务), if any: read with the resident, so free words are
    # routed to staff without another query. Not a foreign key: handoffs point here too.
    handoff_id: Mapped[int | None] = mapped_column(Integer)
    # Messages in a row the bot did not understand (three hand the chat to staff).
    misunderstood: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped by every message or event handled for the person: a reply worked out from a
    # snapshot commits only if no other message of theirs committed meanwhile.
    message_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[created]

    roles: Mapped[list[ResidentRole]] = relationship(
        back_populates="resident", cascade="all, delete-orphan")
    # Read only; the webhook loads it with the person (keeping it in the session for `get`).
    community: Mapped[Community | None] = relationship(viewonly=True, foreign_keys=[community_id])

    @property
    def role_set(self) -> set[Role]:
        return {Role.RESIDENT} | {r.role for r in self.roles}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set & set(roles))

    @property
    def masked_mobile(self) -> str | None:
        return mask_mobile(self.mobile)


class ResidentRole(Base):
    __tablename__ = "resident_roles"
    __table_args__ = (UniqueConstraint("resident_id", "role"),)

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[created]

    resident: Mapped[Resident] = relationship(back_populates="roles")


def mask_mobile(mobile: str | None) -> str | None:
    """138****5678: the only form in which a mobile number is ever shown."""
    if not mobile:
        return None
    return f"{mobile[:3]}****{mobile[-4:]}"

