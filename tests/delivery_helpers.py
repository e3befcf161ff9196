"""Shared set-up for the delivery tests: a runtime wired to the simulator."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.db import make_engine, make_session_factory, transaction
from core.outbox import enqueue, message
from core.wechat_api import WeChatAPI
from models import OutboxMessage, Resident, utcnow
from scheduler.jobs import Runtime

def delivery_config(config, **delivery):
    """The shipped template and subscription mappings, short timeouts, no quiet hours."""
    return config.with_overrides({
        "wechat": {"http_timeout": 1},
        "delivery": {"quiet_hours": "", "backoff_seconds": 10, "max_attempts": 3,
                     "rate_per_second": 1000, **delivery}})


def runtime(config, _engine=None) -> Runtime:
    """A scheduler runtime with its own engine, configured as the scheduler's is."""
    sessions = make_session_factory(make_engine(config.database.url))
    return Runtime(config, sessions, WeChatAPI(config, sessions))


def resident_id(engine, openid: str) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(Resident.id).where(Resident.openid == openid))


def push(rt, rid: int, key: str, kind: str = "report_status", text: str = "您反映的问题已受理",
         facts: dict | None = None, **options) -> bool:
    facts = facts if facts is not None else {"code": "BS000001", "category": "公共设施维修",
                                             "status": "已受理", "note": "已派网格员", "time": utcnow()}
    with transaction(rt.sessions) as session:
        return enqueue(session, rid, kind, message(text, facts), key, now=utcnow(), **options)


def rows(rt) -> list[OutboxMessage]:
    with rt.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def age_window(rt, rid: int, hours: float) -> None:
    """Pretend the resident last wrote `hours` ago."""
    with transaction(rt.sessions) as session:
        session.get(Resident, rid).last_message_at = utcnow() - timedelta(hours=hours)


def local(config, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=config.tz)
