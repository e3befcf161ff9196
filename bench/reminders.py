"""Reminder sweep: time per sweep against table size and due count.

Fills the reminders table (SQLite by default, LINLI_BENCH_DATABASE_URL for
another database), marks a number of them due, and times one sweep (due
reminders → outbox rows). The sweep should cost what is due, not what is stored.

    python bench/reminders.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from models import OutboxMessage, Reminder, Resident, utcnow  # noqa: E402
from scheduler.reminders import sweep  # noqa: E402

CASES = [(100_000, 1_000), (100_000, 10_000), (400_000, 1_000)]


def fill(sessions, total: int, due: int) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        session.execute(delete(OutboxMessage))
        session.execute(delete(Reminder))
        rid = session.scalar(select(Resident.id))
        for start in range(0, total, 20_000):
            session.execute(insert(Reminder), [{
                "resident_id": rid, "kind": "meeting_reminder", "payload": {"text": "提醒"},
                "due_at": now - timedelta(minutes=1) if i < due else now + timedelta(days=1, minutes=i),
                "expires_at": now + timedelta(hours=1) if i < due else None,
                "urgent": False, "dedup_key": f"bench:{i}", "done": False, "created_at": now}
                for i in range(start, min(total, start + 20_000))])


def main() -> None:
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='linli-rem-')) / 'rem.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        session.execute(insert(Resident).values(openid="obench", followed=True, created_at=utcnow()))
    print(f"\n{'stored':>9}{'due':>8}{'sweep s':>9}{'queued':>8}")
    for total, due in CASES:
        fill(sessions, total, due)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE reminders"))
        started = time.perf_counter()
        counts = sweep(sessions)
        elapsed = time.perf_counter() - started
        print(f"{total:>9}{due:>8}{elapsed:>9.3f}{counts['queued']:>8}")
    engine.dispose()


if __name__ == "__main__":
    main()
