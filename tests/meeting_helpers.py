"""Creating meetings for tests the way staff do (service layer, as the console will)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import meeting_admin
from bot.db import make_engine, make_session_factory, transaction
from models import Community, Meeting, MeetingType, utcnow


def make_meeting(config, published: bool = True, **fields) -> int:
    engine = make_engine(config.get_path("database.url"))
    try:
        with transaction(make_session_factory(engine)) as session:
            community = session.scalar(select(Community.id).where(Community.name == "金宁社区"))
            start = fields.pop("starts_at", utcnow() + timedelta(days=2))
            meeting = meeting_admin.create(
                session, community_id=community, type=fields.pop("type", MeetingType.COUNCIL),
                title=fields.pop("title", "加装电梯议事会"), place=fields.pop("place", "金宁党群服务中心"),
                starts_at=start, ends_at=fields.pop("ends_at", start + timedelta(hours=2)),
                created_by="test", **fields)
            if published:
                meeting_admin.publish(session, config, meeting, utcnow())
            return meeting.id
    finally:
        engine.dispose()


def change(config, meeting_id: int, action, *args, **kwargs):
    """Run a staff action (edit, cancel, set_capacity, close …) on a meeting."""
    engine = make_engine(config.get_path("database.url"))
    try:
        with transaction(make_session_factory(engine)) as session:
            meeting = session.get(Meeting, meeting_id)
            return action(session, config, meeting, *args, now=utcnow(), **kwargs)
    finally:
        engine.dispose()
