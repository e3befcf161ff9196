"""Writing pushes: the only way anything asks for a message to be sent later.

Use cases call `enqueue` (send as soon as allowed) or `remind` (send at a due
time, dropped if stale) inside their own unit of work, so the push commits or
rolls back with the change that caused it. A dedup key makes both idempotent:
`meeting:12:remind-24h:<resident>` enqueued twice is one row.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.config import Config
from core.db import insert_ignore
from models import OutboxMessage, OutboxStatus, Reminder

OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# After a person's last message, WeChat lets the account answer with customer-service
# messages for this long.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)


def message(text: str, facts: dict[str, Any] | None = None) -> dict:
    """A push payload: the full text, and the short facts a template or subscription
    notification shows (`core.notices`; times as ISO strings, so the row stays JSON)."""
    return {"text": text, "facts": {k: (v.isoformat() if isinstance(v, datetime) else v)
                                    for k, v in (facts or {}).items() if v is not None}}


def enqueue(session: Session, resident_id: int, kind: str, payload: dict[str, Any],
            dedup_key: str, *, now: datetime, urgent: bool = False, priority: int = 0,
            not_before: datetime | None = None, expires_at: datetime | None = None,
            broadcast_id: int | None = None) -> bool:
    """Queue a push; False when the dedup key was already queued (nothing added)."""
    return insert_ignore(session, OutboxMessage.__table__, row(
        resident_id, kind, payload, dedup_key, now=now, urgent=urgent, priority=priority,
        not_before=not_before, expires_at=expires_at, broadcast_id=broadcast_id), ["dedup_key"])


def row(resident_id: int, kind: str, payload: dict[str, Any], dedup_key: str, *, now: datetime,
        urgent: bool = False, priority: int = 0, not_before: datetime | None = None,
        expires_at: datetime | None = None, broadcast_id: int | None = None) -> dict[str, Any]:
    """The outbox row of one push, as enqueue and enqueue_many write it."""
    return {"resident_id": resident_id, "kind": kind, "payload": payload, "urgent": urgent,
            "priority": priority, "dedup_key": dedup_key[:160], "status": OutboxStatus.PENDING.value,
            "attempts": 0, "next_attempt_at": not_before or now, "expires_at": expires_at,
            "broadcast_id": broadcast_id, "created_at": now}


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue many pushes in one statement (a sweep's); keys already queued are skipped."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    unique = list({r["dedup_key"]: r for r in rows}.values())
    session.flush()
    session.execute(dialect.insert(OutboxMessage.__table__).on_conflict_do_nothing(
        index_elements=["dedup_key"]), unique)


def remind(session: Session, resident_id: int, kind: str, payload: dict[str, Any],
           due_at: datetime, dedup_key: str, *, now: datetime,
           expires_at: datetime | None = None, urgent: bool = False) -> bool:
    """Schedule a push for `due_at`; past `expires_at` it is dropped, never sent late."""
    return insert_ignore(session, Reminder.__table__, {
        "resident_id": resident_id, "kind": kind, "payload": payload, "due_at": due_at,
        "expires_at": expires_at, "urgent": urgent, "dedup_key": dedup_key[:160], "done": False,
        "created_at": now}, ["dedup_key"])


def cancel_reminders(session: Session, dedup_prefix: str) -> int:
    """Cancel reminders not yet due whose key starts with `dedup_prefix`."""
    result = session.execute(update(Reminder).where(
        Reminder.done.is_(False), Reminder.dedup_key.startswith(dedup_prefix, autoescape=True))
        .values(done=True, outcome="cancelled"))
    return result.rowcount or 0


def cancel_for_resident(session: Session, resident_id: int, reason: str) -> None:
    """Stop every push still waiting for this resident (e.g. they unfollowed)."""
    session.execute(update(OutboxMessage).where(
        OutboxMessage.resident_id == resident_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error=reason[:255]))
    session.execute(update(Reminder).where(
        Reminder.resident_id == resident_id, Reminder.done.is_(False))
        .values(done=True, outcome="cancelled"))


def requeue(session: Session, ids: list[int], now: datetime) -> int:
    """Staff put dead letters (failed) back in the queue."""
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.FAILED)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now,
                last_error=None, last_error_code=None))
    return result.rowcount or 0


def status_counts(session: Session, broadcast_id: int | None = None) -> dict[str, int]:
    """Rows per status (all, or one broadcast's): health, console and progress."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if broadcast_id is not None:
        query = query.where(OutboxMessage.broadcast_id == broadcast_id)
    counts = {s.value: 0 for s in OutboxStatus}
    counts.update({status.value: n for status, n in session.execute(query)})
    return counts


# --- quiet hours ----------------------------------------------------------------

def _parse_quiet(config: Config) -> tuple[time, time] | None:
    spec = config.delivery.quiet_hours
    if not spec:
        return None
    start, end = (time.fromisoformat(part.strip()) for part in spec.split("-"))
    return start, end


def quiet_until(config: Config, now: datetime) -> datetime | None:
    """End of the quiet period `now` falls in (UTC), or None outside quiet hours."""
    window = _parse_quiet(config)
    if window is None:
        return None
    start, end = window
    local = now.astimezone(config.tz)
    today_end = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    clock = local.time()
    if start <= end:  # e.g. 12:00-14:00
        inside = start <= clock < end
        ends = today_end
    else:  # spans midnight, e.g. 21:30-08:00
        inside = clock >= start or clock < end
        ends = today_end if clock < end else today_end + timedelta(days=1)
    return ends.astimezone(now.tzinfo) if inside else None
