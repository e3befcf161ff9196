"""Staff accounts for the console and chat staff commands."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created, intpk, timestamp


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    # admin | staff | grid_worker | viewer
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    # Grid workers see and act on their own grid's reports only.
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    # Linking a WeChat follower lets the same person use chat staff commands.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Lock-out after repeated wrong passwords (see console/auth.py).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[timestamp | None]
    last_login_at: Mapped[timestamp | None]
    # Bumped by logout, password change and deactivation: older sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created]
