"""Console actions: what staff change is what residents hear, and every change is in the
audit log; a linked WeChat account gets the chat staff commands (fast tier)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditLog, Meeting, Report, Resident, Signup, StaffUser, Status
from tests.console_helpers import Console, add_accounts_to
from tests.meeting_helpers import make_meeting
from tests.test_reports import file_report


@pytest.fixture
def accounts(fast_db):
    return add_accounts_to(fast_db)


@pytest.fixture
def db(fast_db):
    return fast_db


@pytest.fixture
def registered(chat):
    return chat.registered


def audit_rows(db, target: str) -> list[AuditLog]:
    db.expire_all()
    return db.scalars(select(AuditLog).where(AuditLog.target == target).order_by(AuditLog.id)).all()


def test_report_actions_change_state_and_are_audited(registered, accounts, app, db):
    alice, bob = registered("alice"), registered("bob")
    # Bob is offered Alice's report as +1 and files his own all the same: staff merge them.
    first, second = file_report(alice), file_report(bob, description="3栋楼道灯也不亮", anyway=True)
    console = Console(app.test_client())
    console.login("t-staff")
    refused = console.post(f"/console/reports/{first}/finish", {"to": "resolved", "note": "修好了"})
    assert "不能这样操作" in console.follow(refused)  # submitted cannot be resolved directly
    console.post(f"/console/reports/{first}/update", {"note": "已联系物业"})
    console.post(f"/console/reports/{first}/tier", {"tier": "small"})
    console.post(f"/console/reports/{second}/merge", {"original": first})
    assert "居民会收到通知" in console.follow(
        console.post(f"/console/reports/{first}/finish", {"to": "resolved", "note": "灯已更换"}))
    db.expire_all()
    report = db.scalar(select(Report).where(Report.code == first))
    merged = db.scalar(select(Report).where(Report.code == second))
    assert report.status is Status.RESOLVED and report.tier.value == "small"
    assert merged.status is Status.DUPLICATE and merged.duplicate_of_id == report.id
    actions = [a.action for a in audit_rows(db, f"report:{first}")]
    assert actions == ["report_update", "report_tier", "report_resolved"]
    entry = audit_rows(db, f"report:{second}")[0]
    assert entry.actor == "console:t-staff" and entry.before == {"status": "submitted"}
    assert entry.after == {"status": "duplicate", "duplicate_of": first}
    admin = Console(app.test_client())
    admin.login("t-admin")
    log = admin.get(f"/console/admin/audit?target={second}").text
    assert "report_merge" in log and "t-staff" in log


def test_meeting_checkin_walk_in_and_minutes(registered, accounts, app, db, uow, clock):
    alice = registered("alice", "13800000001")
    meeting_id = make_meeting(uow, capacity=10, starts_at=clock.now() + timedelta(hours=1))
    alice.say("议事会")
    alice.say("报名 1")
    alice.say("1")
    db.expire_all()
    code = db.scalar(select(Signup.checkin_code).where(Signup.meeting_id == meeting_id))
    console = Console(app.test_client())
    console.login("t-staff")
    base = f"/console/meetings/{meeting_id}"
    assert "已签到" in console.follow(console.post(f"{base}/checkin", {"code": code}))
    assert "已经签到过了" in console.follow(console.post(f"{base}/checkin", {"code": code}))
    assert "签到码不正确" in console.follow(console.post(f"{base}/checkin", {"code": "000000"}))
    assert "已现场登记" in console.follow(console.post(f"{base}/walk-in", {"name": "李阿婆"}))
    sheet = console.get(f"{base}/sheet").text
    assert code in sheet and f"/meetings/{meeting_id}/checkin/{code}.svg" in sheet
    refused = console.post(f"{base}/close", {"minutes": "同意加装", "decisions": "x"})
    assert "还没开始" in console.follow(refused)
    clock.advance(hours=2)
    console.post(f"{base}/close", {"minutes": "同意加装", "decisions": "成立电梯小组｜楼长张姨"})
    db.expire_all()
    meeting = db.get(Meeting, meeting_id)
    assert meeting.status.value == "closed" and meeting.attendee_count == 2
    assert meeting.decisions == [{"text": "成立电梯小组", "owner": "楼长张姨"}]
    ledger = console.get(f"/console/exports/meetings.csv?month={meeting.starts_at:%Y-%m}"
                         f"&community={meeting.community_id}")
    rows = list(csv.reader(io.StringIO(ledger.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "日期", "时间", "地点"]
    assert rows[1][5] == "加装电梯议事会" and rows[1][8] == "2" and "成立电梯小组" in rows[1][9]


def test_bad_meeting_input_is_refused_kindly(accounts, app, db):
    console = Console(app.test_client())
    console.login("t-staff")
    refused = console.post("/console/meetings/new", {
        "title": "议事会", "place": "中心", "starts_at": "2030-05-01T19:30",
        "ends_at": "2030-05-01T18:00"})
    assert refused.status_code == 400 and "结束时间" in refused.text
    assert console.post("/console/meetings/new", {"title": "议事会", "place": "中心",
                                                  "starts_at": "not-a-date"}).status_code == 400
    db.expire_all()
    assert db.scalars(select(Meeting)).all() == []


def test_linking_wechat_gives_the_chat_staff_commands(registered, accounts, app, db):
    ids = accounts
    alice = registered("alice")
    code = file_report(alice)
    me = registered("worker-me")
    assert "已接单" not in me.say(f"接单 {code}")  # not a command for a resident
    admin = Console(app.test_client())
    admin.login("t-admin")
    admin.post(f"/console/admin/accounts/{ids['t-staff']}", {"action": "link", "openid": me.openid})
    assert f"已接单 {code}" in me.say(f"接单 {code}")
    db.expire_all()
    assert db.get(StaffUser, ids["t-staff"]).resident_id == db.scalar(
        select(Resident.id).where(Resident.openid == me.openid))
    refused = admin.post(f"/console/admin/accounts/{ids['t-viewer']}",
                         {"action": "link", "openid": me.openid})
    assert "已绑定其他账号" in admin.follow(refused)
    admin.post(f"/console/admin/accounts/{ids['t-staff']}", {"action": "unlink"})
    # Unlinked: a resident again, for whom someone else's report does not exist.
    assert "没有找到编号" in me.say(f"进展 {code} 再看看")
