"""五步议事: topics residents raise and support (议题, 附议), the opinions collected on them
(征集意见), and the decision items that must be carried out (议事结果落实)."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, created, intpk, str_enum, timestamp


class TopicStatus(enum.StrEnum):
    PROPOSED = "proposed"  # 提出: raised, open for 附议
    COLLECTING = "collecting"  # 征集意见
    SCHEDULED = "scheduled"  # on a meeting's agenda
    DECIDED = "decided"  # decisions recorded
    CARRIED_OUT = "carried_out"  # every decision item done
    PUBLICISED = "publicised"  # 公示
    DECLINED = "declined"  # not taken up, with a reason told to proposer and supporters


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_community_status", "community_id", "status"),)

    id: Mapped[intpk]
    code: Mapped[str | None] = mapped_column(String(16), unique=True)  # YT000123
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))  # None: staff
    raised_by: Mapped[str] = mapped_column(String(64))  # 居民 / staff display name
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))  # a 大事 it came from
    status: Mapped[TopicStatus] = mapped_column(str_enum(TopicStatus), default=TopicStatus.PROPOSED)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    # Who is asked for opinions and told the results: {"type": community|grid|building, "id": n}.
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    opinions_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created]
    updated_at: Mapped[timestamp | None]


class TopicSupport(Base):
    """附议: one per resident and topic."""

    __tablename__ = "topic_supports"
    __table_args__ = (UniqueConstraint("topic_id", "resident_id"),)

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    created_at: Mapped[created]


class Opinion(Base):
    """征集意见: one opinion per resident and topic, editable until collection closes."""

    __tablename__ = "opinions"
    __table_args__ = (UniqueConstraint("topic_id", "resident_id"),)

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    stance: Mapped[str | None] = mapped_column(String(8))  # agree | disagree | other
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[created]
    updated_at: Mapped[timestamp | None]


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class DecisionItem(Base):
    """One thing a deliberation decided, with who carries it out and by when."""

    __tablename__ = "decision_items"
    __table_args__ = (Index("ix_decision_items_status_due", "status", "due_on"),)

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(64))  # a person or a party (物业, 业委会 …)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))  # reminded in WeChat
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus), default=ItemStatus.OPEN)
    progress: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # {at, by, note}
    done_at: Mapped[timestamp | None]
    created_at: Mapped[created]
