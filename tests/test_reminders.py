"""Due reminders: sent on time, never early, never stale, never twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import transaction
from core.outbox import cancel_reminders, message, remind
from models import OutboxStatus, Reminder, utcnow
from scheduler import reminders
from tests.delivery_helpers import delivery_config, resident_id, rows, runtime


@pytest.fixture
def rt(sim, config):
    runtime_ = runtime(delivery_config(config))
    yield runtime_
    runtime_.dispatcher.pool.shutdown()


@pytest.fixture
def rid(registered, engine):
    return resident_id(engine, registered("bob").openid)


def add(rt, rid, key, due_in, expires_in=None):
    now = utcnow()
    with transaction(rt.sessions) as session:
        return remind(session, rid, "meeting_reminder", message(f"提醒 {key}"), now + due_in, key, now=now,
                      expires_at=now + expires_in if expires_in is not None else None)


def test_due_reminders_become_outbox_rows_once(rt, rid):
    assert add(rt, rid, "meeting:1:remind-24h:1", timedelta(minutes=-1))
    assert not add(rt, rid, "meeting:1:remind-24h:1", timedelta(minutes=-1))  # idempotent
    add(rt, rid, "meeting:1:remind-1h:1", timedelta(hours=2))
    assert reminders.sweep(rt.sessions, utcnow()) == {"queued": 1, "stale": 0}
    assert reminders.sweep(rt.sessions, utcnow()) == {"queued": 0, "stale": 0}  # a second run adds nothing
    assert [r.dedup_key for r in rows(rt)] == ["meeting:1:remind-24h:1"]
    rt.dispatcher.run()
    assert rows(rt)[0].status is OutboxStatus.SENT


def test_after_downtime_only_relevant_reminders_go(rt, rid):
    # the 24 h reminder of a meeting that already started is stale; the 1 h one of a
    # later meeting is still useful
    add(rt, rid, "m:2:24h", timedelta(hours=-30), expires_in=timedelta(hours=-6))
    add(rt, rid, "m:3:1h", timedelta(minutes=-20), expires_in=timedelta(minutes=40))
    assert reminders.sweep(rt.sessions, utcnow()) == {"queued": 1, "stale": 1}
    assert [r.dedup_key for r in rows(rt)] == ["m:3:1h"]


def test_clock_jumps(rt, rid):
    add(rt, rid, "m:4:1h", timedelta(hours=1), expires_in=timedelta(hours=2))
    # backwards: nothing early
    assert reminders.sweep(rt.sessions, now=utcnow() - timedelta(days=1))["queued"] == 0
    # forwards past the expiry: dropped, not sent late
    assert reminders.sweep(rt.sessions, now=utcnow() + timedelta(hours=3)) == {"queued": 0, "stale": 1}
    assert rows(rt) == []


def test_expired_in_the_outbox_is_not_sent(rt, rid):
    add(rt, rid, "m:5:1h", timedelta(minutes=-1), expires_in=timedelta(minutes=5))
    reminders.sweep(rt.sessions, utcnow())
    rt.dispatcher.run(now=utcnow() + timedelta(minutes=10))
    assert rows(rt)[0].status is OutboxStatus.CANCELLED


def test_cancel_reminders_by_prefix(rt, rid):
    add(rt, rid, "meeting:7:remind-24h:1", timedelta(hours=1))
    add(rt, rid, "meeting:70:remind-24h:1", timedelta(hours=1))
    with transaction(rt.sessions) as session:
        assert cancel_reminders(session, "meeting:7:") == 1
    with rt.sessions() as session:
        left = session.scalars(select(Reminder.dedup_key).where(Reminder.done.is_(False))).all()
    assert left == ["meeting:70:remind-24h:1"]
