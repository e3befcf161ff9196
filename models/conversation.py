"""Conversation state: where each resident is in a multi-step flow.

Kept in the database keyed by resident so any web worker can continue any
conversation and a restart loses nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, json_dict


class Conversation(Base):
    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[json_dict]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def snapshot(self) -> dict[str, Any]:
        return {"flow": self.flow, "step": self.step, "data": dict(self.data)}
