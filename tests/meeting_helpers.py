"""Creating meetings for tests the way staff do (the use cases the console and CLI call)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.clock import SYSTEM
from core.db import make_engine, make_session_factory, transaction
from domain.actor import Actor
from domain.meetings import admin
from domain.unit import Unit
from models import Community, MeetingType

STAFF = Actor.cli("test")


def make_meeting(uow: Unit, published: bool = True, **fields) -> int:
    """A meeting of 金宁, two days ahead by default, published unless told otherwise."""
    community = uow.session.scalar(select(Community.id).where(Community.name == "金宁社区"))
    start = fields.pop("starts_at", uow.now + timedelta(days=2))
    meeting = admin.create(
        uow, STAFF, community_id=community, type=fields.pop("type", MeetingType.COUNCIL),
        title=fields.pop("title", "加装电梯议事会"), place=fields.pop("place", "金宁党群服务中心"),
        starts_at=start, ends_at=fields.pop("ends_at", start + timedelta(hours=2)), **fields)
    if published:
        admin.publish(uow, STAFF, meeting)
    return meeting.id


def make_meeting_committed(config, **fields) -> int:
    """The same, committed on its own connection (for end-to-end tests)."""
    engine = make_engine(config.database.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return make_meeting(Unit(session, config, SYSTEM), **fields)
    finally:
        engine.dispose()
