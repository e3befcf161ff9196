"""Report housekeeping jobs: SLA escalation, digests, auto-close, photos, focal issues."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from models import (
    OutboxMessage,
    Report,
    ReportPhoto,
    ResidentRole,
    Role,
    Status,
    utcnow,
)
from scheduler import report_jobs
from tests.delivery_helpers import delivery_config, runtime
from tests.test_reports import file_report, grid_worker


@pytest.fixture
def staff(chat, fast_db):
    person = chat.registered("staff")
    fast_db.add(ResidentRole(resident_id=person.resident.id, role=Role.STAFF, granted_by="test"))
    fast_db.flush()
    return person


def outbox(db, kind):
    db.expire_all()
    return db.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def test_sla_reminds_then_escalates(rt, chat, staff, clock, fast_db):
    """A 小事 filed Wednesday 10:00 with 4 working hours to accept: warned at 75 % (13:00),
    escalated when the window closes (14:00), once; the night does not count."""
    code = file_report(chat.registered("alice"))
    assert report_jobs.escalate_overdue(rt) == 0
    clock.advance(hours=2, minutes=59)
    assert report_jobs.escalate_overdue(rt) == 0
    clock.advance(minutes=1)
    assert report_jobs.escalate_overdue(rt) == 1  # 临期预警
    [warning] = outbox(fast_db, "report_reminder")
    assert code in warning.payload["text"] and "11月18日 14:00" in warning.payload["text"]
    clock.advance(minutes=59)
    assert report_jobs.escalate_overdue(rt) == 0
    clock.advance(minutes=1)
    assert report_jobs.escalate_overdue(rt) == 1  # escalated
    escalated = outbox(fast_db, "report_escalated")
    assert len(escalated) == 1 and code in escalated[0].payload["text"]
    clock.advance(hours=35)
    assert report_jobs.escalate_overdue(rt) == 0  # once only


def test_daily_digest_once_a_day(rt, chat, fast_db):
    grid_worker(chat, 1)
    code = file_report(chat.registered("alice"))
    assert report_jobs.daily_digest(rt) == 1
    assert report_jobs.daily_digest(rt) == 1  # same dedup key: still one row
    [digest] = outbox(fast_db, "report_digest")
    assert code in digest.payload["text"]


def test_auto_close_after_seven_days(rt, chat, clock, fast_db):
    worker = grid_worker(chat, 1)
    code = file_report(chat.registered("alice"))
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 已修好")
    clock.advance(days=6)
    assert report_jobs.auto_close(rt) == 0
    clock.advance(days=2)
    assert report_jobs.auto_close(rt) == 1
    fast_db.expire_all()
    assert fast_db.scalar(select(Report.status).where(Report.code == code)) is Status.CLOSED


def test_photos_are_fetched_to_storage(sim, registered, config, tmp_path):
    """End to end: the media come from the simulated WeChat API."""
    rt = runtime(delivery_config(config).with_overrides({"storage": {"media_dir": str(tmp_path / "m")}}))
    try:
        file_report(registered("alice"), photos=2)
        with transaction(rt.sessions) as session:  # a media id WeChat does not know
            report_id = session.scalar(select(Report.id))
            session.add(ReportPhoto(report_id=report_id, media_id="expired", created_at=utcnow()))
        assert report_jobs.fetch_photos(rt) == 3
        with rt.sessions() as session:
            photos = session.scalars(select(ReportPhoto).order_by(ReportPhoto.id)).all()
        stored = [p for p in photos if p.stored_path]
        assert len(stored) == 2 and all(Path(p.stored_path).read_bytes()[:4] == b"\x89PNG" for p in stored)
        assert stored[0].content_type == "image/png"
        assert photos[-1].fetch_error.startswith("40007")
        assert report_jobs.fetch_photos(rt) == 0  # nothing left to do
    finally:
        rt.dispatcher.pool.shutdown()


def test_weekly_focal_issues_reach_staff(rt, chat, staff, fast_db):
    file_report(chat.registered("a"))
    file_report(chat.registered("b"), description="楼下垃圾堆放没人清理", where="5栋")
    assert report_jobs.weekly_focal_issues(rt) == 1
    [summary] = outbox(fast_db, "focal_issues")
    assert "公共设施维修" in summary.payload["text"] and "环境卫生" in summary.payload["text"]
