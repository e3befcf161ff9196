"""Staff accounts for the console and chat staff commands."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    # admin | staff | grid_worker | viewer
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    # Linking a WeChat follower lets the same person use chat staff commands.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
