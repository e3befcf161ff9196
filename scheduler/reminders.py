"""Due-reminder sweep: reminders whose time has come become outbox rows.

A reminder past its `expires_at` (say, the meeting has started) is marked
stale instead, so a scheduler coming back from downtime sends only what is
still relevant. Work is set-based, a batch of ids at a time, so a sweep costs
what is due, not what is stored.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from models import OutboxMessage, OutboxStatus, Reminder

BATCH = 1000


def sweep(sessions: sessionmaker[Session], now: datetime) -> dict[str, int]:
    """Queue due reminders, drop stale ones; returns counts."""
    totals = {"queued": 0, "stale": 0}
    while True:
        with transaction(sessions) as session:
            ids = list(session.scalars(
                select(Reminder.id).where(Reminder.done.is_(False), Reminder.due_at <= now)
                .order_by(Reminder.due_at).limit(BATCH).with_for_update(skip_locked=True)))
            if not ids:
                return totals
            stale = session.execute(update(Reminder).where(
                Reminder.id.in_(ids), Reminder.expires_at <= now)
                .values(done=True, outcome="stale")).rowcount
            session.execute(_enqueue_from(session, ids, now))
            queued = session.execute(update(Reminder).where(
                Reminder.id.in_(ids), Reminder.done.is_(False))
                .values(done=True, outcome="queued")).rowcount
        totals["stale"] += stale or 0
        totals["queued"] += queued or 0
        if len(ids) < BATCH:
            return totals


def _enqueue_from(session: Session, ids: list[int], now: datetime):
    """INSERT INTO outbox SELECT … FROM reminders, ignoring keys already queued."""
    source = select(
        Reminder.resident_id, Reminder.kind, Reminder.payload, Reminder.urgent,
        literal(0), Reminder.dedup_key, literal(OutboxStatus.PENDING.value), literal(0),
        literal(now, OutboxMessage.next_attempt_at.type), Reminder.expires_at,
        literal(now, OutboxMessage.created_at.type),
    ).where(Reminder.id.in_(ids), Reminder.done.is_(False),
            or_(Reminder.expires_at.is_(None), Reminder.expires_at > now))
    columns = ["resident_id", "kind", "payload", "urgent", "priority", "dedup_key", "status",
               "attempts", "next_attempt_at", "expires_at", "created_at"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (dialect.insert(OutboxMessage.__table__).from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["dedup_key"]))
