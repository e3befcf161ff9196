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


class VoteStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # results computed and frozen


class Vote(Base):
    """表决 on a topic's options, by the meeting's invited members or one vote per household
    of the topic's audience, until a deadline; the result is frozen when it closes."""

    __tablename__ = "votes"

    id: Mapped[intpk]
    code: Mapped[str | None] = mapped_column(String(16), unique=True)  # TP000123
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    question: Mapped[str] = mapped_column(String(100))
    options: Mapped[list[str]] = mapped_column(JSONType)
    electorate: Mapped[str] = mapped_column(String(16))  # invited | household
    electorate_size: Mapped[int] = mapped_column(Integer)  # fixed when it opens
    quorum: Mapped[float] = mapped_column()  # share of the electorate that must vote
    majority: Mapped[float] = mapped_column()  # share of votes cast the winner needs (more than)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[VoteStatus] = mapped_column(str_enum(VoteStatus), default=VoteStatus.OPEN)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]


class Ballot(Base):
    """One vote. `voter_key` is what may vote once: the resident, or their household."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("vote_id", "voter_key"),)

    id: Mapped[intpk]
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    voter_key: Mapped[str] = mapped_column(String(80))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    choice: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Party(enum.StrEnum):
    """四方联席会议's parties, and the experts sometimes asked in."""

    COMMUNITY = "community"  # 社区两委
    OWNERS = "owners"  # 业委会
    PROPERTY = "property"  # 物业
    RESIDENTS = "residents"  # 居民代表
    EXPERT = "expert"  # 专家、律师


class Invitation(Base):
    """Someone invited to a deliberation meeting for a party, and their answer (RSVP)."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("meeting_id", "resident_id"),)

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    party: Mapped[Party] = mapped_column(str_enum(Party))
    answer: Mapped[str | None] = mapped_column(String(8))  # yes | no; None: not yet
    answered_at: Mapped[timestamp | None]
    created_at: Mapped[created]
