"""Every staff action writes exactly one audit row, whichever adapter it came from:
chat, console or command line, with the same action and target."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from core.config import PROJECT_ROOT
from models import AuditLog, Meeting, ResidentRole, Role
from tests.console_helpers import Console, add_accounts, add_accounts_to
from tests.meeting_helpers import make_meeting
from tests.test_reports import file_report, grid_worker


def audit_for(db, target: str) -> list[AuditLog]:
    db.expire_all()
    return db.scalars(select(AuditLog).where(AuditLog.target == target).order_by(AuditLog.id)).all()


@pytest.fixture
def staff_in_chat(chat, fast_db):
    person = chat.registered("社工", mobile="13900000000", name="李社工")
    fast_db.add(ResidentRole(resident_id=person.resident.id, role=Role.STAFF, granted_by="t"))
    fast_db.flush()
    return person


def _report(chat):
    return file_report(chat.registered("alice", mobile="13812345678"))


def _by_chat(staff, words):
    staff.say(words)


def _by_console(app, path, data):
    console = Console(app.test_client())
    console.login("t-staff")
    console.post(path, data)


REPORT_ACTIONS = [
    # (action, chat command, console path, console form)
    ("report_accept", "接单 {code}", "/console/reports/{code}/accept", {}),
    ("report_update", "进展 {code} 已联系物业", "/console/reports/{code}/update", {"note": "已联系物业"}),
    ("report_resolved", None, "/console/reports/{code}/finish", {"to": "resolved", "note": "修好了"}),
    ("report_rejected", "驳回 {code} 不属于社区", "/console/reports/{code}/finish",
     {"to": "rejected", "note": "不属于社区"}),
    ("report_referred", "转介 {code} 请拨打12345", "/console/reports/{code}/finish",
     {"to": "referred", "note": "请拨打12345"}),
    ("report_tier", "改级 {code} 小事", "/console/reports/{code}/tier", {"tier": "small"}),
    ("report_assign", "转派 {code} 社区", "/console/reports/{code}/assign", {"target": "staff"}),
]


@pytest.mark.parametrize("adapter", ["chat", "console"])
@pytest.mark.parametrize("action, words, path, form", REPORT_ACTIONS, ids=[a[0] for a in REPORT_ACTIONS])
def test_report_actions_audit_once(chat, app, fast_db, staff_in_chat, adapter, action, words, path,
                                   form):
    add_accounts_to(fast_db)
    code = _report(chat)
    if action == "report_resolved":
        words = "办结 {code} 修好了"
        grid_worker(chat, 1).say(f"接单 {code}")
    if adapter == "chat":
        _by_chat(staff_in_chat, words.format(code=code))
    else:
        _by_console(app, path.format(code=code), form)
    rows = [r for r in audit_for(fast_db, f"report:{code}") if r.action == action]
    assert len(rows) == 1, [r.action for r in audit_for(fast_db, f"report:{code}")]
    expected_actor = "console:t-staff" if adapter == "console" else f"chat:{staff_in_chat.resident.id}"
    assert rows[0].actor == expected_actor and rows[0].before and rows[0].after


@pytest.mark.parametrize("adapter", ["chat", "console"])
def test_check_in_audits_once(chat, app, uow, fast_db, staff_in_chat, adapter, clock):
    from datetime import timedelta

    add_accounts_to(fast_db)
    meeting_id = make_meeting(uow, starts_at=clock.now() + timedelta(minutes=30))
    alice = chat.registered("alice")
    alice.say("报名 1")
    code = alice.say("1").split("签到码：")[1][:6]
    if adapter == "chat":
        assert "签到成功" in staff_in_chat.say(f"签到 {code}")
    else:
        _by_console(app, f"/console/meetings/{meeting_id}/checkin", {"code": code})
    rows = [r for r in audit_for(fast_db, f"meeting:{meeting_id}") if r.action == "meeting_checkin"]
    assert len(rows) == 1


TIMEBANK = [
    ("timebank_adjust", "调整 13811112222 +1 补录", "/console/timebank/accounts/{account}/adjust",
     {"hours": "+1", "reason": "补录"}, "account:{account}"),
    ("timebank_grant", "发放 13811112222 1", "/console/timebank/pool/grant",
     {"mobile": "13811112222", "hours": "1"}, "resident:{resident}"),
]


@pytest.mark.parametrize("adapter", ["chat", "console"])
@pytest.mark.parametrize("action, words, path, form, target", TIMEBANK, ids=[t[0] for t in TIMEBANK])
def test_time_bank_actions_audit_once(chat, app, uow, fast_db, staff_in_chat, adapter, action, words,
                                      path, form, target):
    from domain.timebank.ledger import account_of, pool_of, post
    from models import EntryKind

    add_accounts_to(fast_db)
    vol = chat.registered("vol", mobile="13811112222")
    account = account_of(uow, vol.resident)
    post(uow, pool_of(uow, vol.resident.community_id).id, 600, EntryKind.DONATION, source="t", actor="t")
    ids = {"account": account.id, "resident": vol.resident.id}
    if adapter == "chat":
        _by_chat(staff_in_chat, words)
    else:
        _by_console(app, path.format(**ids), form)
    rows = [r for r in audit_for(fast_db, target.format(**ids)) if r.action == action]
    assert len(rows) == 1


def test_the_command_line_audits_like_the_others(sim, config, db_url, db):
    """A CLI meeting operation writes the same single audit row the console writes."""
    add_accounts(config)
    env = {**os.environ, "LINLI_DATABASE_URL": db_url}

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "linli", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("meeting", "create", "--community", "金宁社区", "--title", "议事会", "--place", "中心",
        "--start", "2030-01-05 19:00", "--end", "2030-01-05 20:00", "--by", "王社工")
    db.rollback()
    meeting = db.scalar(select(Meeting))
    cli("meeting", "publish", str(meeting.id), "--by", "王社工")
    cli("meeting", "cancel", str(meeting.id), "--by", "王社工")
    db.rollback()
    rows = audit_for(db, f"meeting:{meeting.id}")
    assert [r.action for r in rows] == ["meeting_create", "meeting_publish", "meeting_cancel"]
    assert {r.actor for r in rows} == {"cli:王社工"}
    assert db.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.target == f"meeting:{meeting.id}")) == 3


@pytest.mark.parametrize("adapter", ["chat", "console"])
def test_family_link_decision_audits_once_and_reads_in_words(chat, app, fast_db, staff_in_chat, adapter):
    from models import Account, FamilyLink

    add_accounts_to(fast_db)
    vol = chat.registered("vol", mobile="13811112222", name="张敏")
    chat.registered("mum", mobile="13700001111", name="李婆婆")
    vol.say("家人 13700001111 母亲")
    link = fast_db.scalars(select(FamilyLink)).one()
    if adapter == "chat":
        _by_chat(staff_in_chat, f"通过 F{link.id}")
    else:
        _by_console(app, f"/console/timebank/family/{link.id}", {"decision": "confirm"})
    assert [r.action for r in audit_for(fast_db, f"family:{link.id}")] == ["family_confirm"]
    # the audit log finds a person by the name people know them by; the ledger names people
    staff_in_chat.say("代录 13811112222 1 2 昨天")
    admin = Console(app.test_client())
    admin.login("t-admin")
    page = admin.get("/console/admin/audit?actor=李社工").get_data(as_text=True)
    assert f"共 {2 if adapter == 'chat' else 1} 条" in page  # 李社工's own rows, found by name
    about = admin.get("/console/admin/audit?target=李婆婆").get_data(as_text=True)
    assert f"家人关系 F{link.id}" in about and "家人：李婆婆" in about and "居民：张敏" in about
    assert "relative" not in about and f"family:{link.id}" not in about
    account = fast_db.scalar(select(Account.id).where(Account.owner_id == vol.resident.id))
    ledger = admin.get(f"/console/timebank/accounts/{account}").get_data(as_text=True)
    assert "服务记录 S" in ledger and "李社工" in ledger and "chat:" not in ledger and "record:" not in ledger
