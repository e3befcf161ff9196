"""Report housekeeping jobs: SLA escalation, digests, auto-close, photos, focal issues."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import transaction
from models import (OutboxMessage, Report, ReportPhoto, Resident, ResidentRole, Role, Status,
                    utcnow)
from scheduler import report_jobs
from tests.delivery_helpers import delivery_config, runtime
from tests.test_reports import file_report


@pytest.fixture
def rt(sim, config, tmp_path):
    cfg = delivery_config(config)
    cfg["storage"] = {"media_dir": str(tmp_path / "media")}
    runtime_ = runtime(cfg)
    yield runtime_
    runtime_.dispatcher.pool.shutdown()


@pytest.fixture
def staff(registered, engine, rt):
    person = registered("staff")
    with transaction(rt.sessions) as session:
        rid = session.scalar(select(Resident.id).where(Resident.openid == person.openid))
        session.add(ResidentRole(resident_id=rid, role=Role.STAFF, granted_by="test"))
    return person


def outbox(rt, kind):
    with rt.sessions() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def test_sla_reminds_then_escalates(rt, registered, staff):
    code = file_report(registered("alice"))
    now = utcnow()
    assert report_jobs.escalate_overdue(rt, now) == 0
    assert report_jobs.escalate_overdue(rt, now + timedelta(hours=25)) == 1  # reminder
    assert len(outbox(rt, "report_reminder")) == 1
    assert report_jobs.escalate_overdue(rt, now + timedelta(hours=26)) == 0  # not yet half again
    assert report_jobs.escalate_overdue(rt, now + timedelta(hours=37)) == 1  # escalated
    escalated = outbox(rt, "report_escalated")
    assert len(escalated) == 1 and code in escalated[0].payload["text"]
    assert report_jobs.escalate_overdue(rt, now + timedelta(hours=72)) == 0  # once only


def test_daily_digest_once_a_day(rt, registered, sim):
    worker = sim.persona(openid="demo-gridworker-jinning-1")
    worker.follow()
    code = file_report(registered("alice"))
    assert report_jobs.daily_digest(rt) == 1
    assert report_jobs.daily_digest(rt) == 1  # same dedup key: still one row
    [digest] = outbox(rt, "report_digest")
    assert code in digest.payload["text"]


def test_auto_close_after_seven_days(rt, registered, sim):
    worker = sim.persona(openid="demo-gridworker-jinning-1")
    worker.follow()
    worker.say("取消")
    code = file_report(registered("alice"))
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 已修好")
    assert report_jobs.auto_close(rt, utcnow() + timedelta(days=6)) == 0
    assert report_jobs.auto_close(rt, utcnow() + timedelta(days=8)) == 1
    with rt.sessions() as session:
        assert session.scalar(select(Report.status).where(Report.code == code)) is Status.CLOSED


def test_photos_are_fetched_to_storage(rt, registered):
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


def test_weekly_focal_issues_reach_staff(rt, registered, staff):
    file_report(registered("a"))
    file_report(registered("b"), description="楼下垃圾堆放没人清理", where="5栋")
    assert report_jobs.weekly_focal_issues(rt) == 1
    [summary] = outbox(rt, "focal_issues")
    assert "公共设施维修" in summary.payload["text"] and "环境卫生" in summary.payload["text"]
