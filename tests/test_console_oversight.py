"""Work-order oversight in the console: triage with a reason, 督办 and its answer, 退单,
回访 outcome buttons, 大事 onto a meeting's agenda, the dashboard counts and the 报事台账
columns (fast tier: the app's test client on the real database)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditLog, Meeting, Report, ReturnVisit, Status, Supervision
from tests.console_helpers import Console, add_accounts_to
from tests.meeting_helpers import make_meeting
from tests.test_reports import file_report, grid_worker


@pytest.fixture
def console(app, fast_db):
    add_accounts_to(fast_db)
    desk = Console(app.test_client())
    desk.login("t-staff")
    return desk


def db_meeting(uow, db) -> Meeting:
    return db.get(Meeting, make_meeting(uow))


def report(db, code) -> Report:
    db.expire_all()
    return db.scalar(select(Report).where(Report.code == code))


def test_triage_with_a_reason_reroutes_and_shows_who_decided(chat, console, fast_db):
    code = file_report(chat.registered("alice"))  # 楼道灯: 小事 for the grid worker
    page = console.follow(console.post(f"/console/reports/{code}/tier",
                                       {"tier": "big", "reason": "整栋楼线路老化，需社区统一改造"}))
    row = report(fast_db, code)
    assert row.tier.value == "big" and row.assignee_id is None  # 大事: community staff own it
    assert row.triaged_by and row.triage_reason == "整栋楼线路老化，需社区统一改造"
    assert "整栋楼线路老化" in page and row.assignee_title in page
    [entry] = fast_db.scalars(select(AuditLog).where(AuditLog.action == "report_tier")).all()
    assert entry.after == {"tier": "big", "reason": "整栋楼线路老化，需社区统一改造"}


def test_supervision_is_raised_answered_and_listed(chat, console, app, fast_db):
    worker = grid_worker(chat, 1)
    code = file_report(chat.registered("alice"))
    assert "请写明" in console.follow(console.post(f"/console/reports/{code}/supervise", {"note": ""}))
    assert fast_db.scalars(select(Supervision)).all() == []  # refused: nothing written
    console.post(f"/console/reports/{code}/supervise", {"note": "请今天下班前答复进度"})
    assert any("请今天下班前答复进度" in m for m in [m.payload['text'] for m in worker.pushes()])
    listing = console.get("/console/oversight/supervisions").text
    assert code in listing and "待答复" in listing
    assert "已答复" in worker.say(f"回复督办 {code} 已联系电工，明早更换")
    answered = console.get("/console/oversight/supervisions?status=answered").text
    assert "已联系电工" in answered
    assert code not in console.get("/console/oversight/supervisions?status=open").text


def test_send_back_returns_the_report_to_triage(chat, app, fast_db):
    add_accounts_to(fast_db)
    code = file_report(chat.registered("alice"))
    grid = Console(app.test_client())
    grid.login("t-grid")
    refused = grid.follow(grid.post(f"/console/reports/{code}/send-back", {"note": ""}))
    assert "原因" in refused and report(fast_db, code).assignee_id is not None
    grid.post(f"/console/reports/{code}/send-back", {"note": "这是物业的事，不属于本网格"})
    row = report(fast_db, code)
    assert row.assignee_id is None and row.status is Status.SUBMITTED
    assert any("不属于本网格" in (e.note or "") for e in row.events)


def test_return_visit_buttons_record_the_outcome(chat, console, fast_db):
    worker, alice = grid_worker(chat, 1), chat.registered("alice")
    code = file_report(alice)
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 已更换灯泡")
    worker.say("跳过")
    alice.say("已解决")
    alice.say("1")  # one star: a return visit for staff
    [visit] = fast_db.scalars(select(ReturnVisit)).all()
    assert visit.reason == "low_rating"
    listing = console.get("/console/oversight/visits").text
    assert code in listing and "评价1-2星" in listing
    done = console.follow(console.post(f"/console/oversight/visits/{visit.id}",
                                       {"outcome": "reopened", "note": "居民说灯又坏了"}))
    assert "重新办理" in done
    assert report(fast_db, code).status is Status.IN_PROGRESS
    again = console.follow(console.post(f"/console/oversight/visits/{visit.id}", {"outcome": "satisfied"}))
    assert "已经记录过" in again
    dashboard = console.get("/console/dashboard").text
    assert '<b id="visits">0 / 0 / 1 / 0</b>' in dashboard


def test_big_matter_goes_on_a_meeting_agenda(chat, console, uow, fast_db):
    alice = chat.registered("alice")
    code = file_report(alice, description="3栋想加装电梯，希望社区组织大家商量", where="3栋")
    meeting = db_meeting(uow, fast_db)
    page = console.get(f"/console/reports/{code}").text
    assert meeting.title in page and 'id="agenda"' in page
    done = console.follow(console.post(f"/console/reports/{code}/agenda", {"meeting": meeting.id}))
    assert "已列入" in done
    assert any(meeting.title in m and "讨论" in m for m in [m.payload['text'] for m in alice.pushes()])
    assert report(fast_db, code).status is Status.IN_PROGRESS
    twice = console.follow(console.post(f"/console/reports/{code}/agenda", {"meeting": meeting.id}))
    assert "已经在" in twice


def test_dashboard_counts_and_ledger_columns(chat, console, clock, rt, fast_db):
    from scheduler import report_jobs

    code = file_report(chat.registered("alice"))
    other = file_report(chat.registered("bob"), where="5栋")
    clock.advance(hours=3)  # 75 % of a 4-hour window: both warned
    assert report_jobs.escalate_overdue(rt) == 2
    console.post(f"/console/reports/{code}/tier", {"tier": "big", "reason": "涉及公共线路"})
    console.post(f"/console/reports/{other}/supervise", {"note": "请尽快处理"})
    page = console.get("/console/dashboard").text
    assert '<b id="warned">1</b>' in page  # the re-tiered one has a fresh clock
    assert '<b id="supervisions">1 / 0</b>' in page
    workbook = console.get("/console/exports/reports.xlsx?month=2026-11")
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(row for row in cells if row and row[0] == "序号")
    first = next(row for row in cells if code in row)
    assert header[-2:] == ["督办（要求→答复）", "回访"]
    assert first[header.index("分流（定级人：理由）")].startswith("大事") and "涉及公共线路" in first[5]
    assert "请尽快处理→待答复" in next(row for row in cells if other in row)[-2]


def test_ledgers_print_as_the_paper_forms(chat, console, fast_db):
    """A4 landscape fitted to width, header row repeated, merged title, boxed wrapped cells,
    page numbers and the signature line (read back with openpyxl)."""
    code = file_report(chat.registered("alice"))
    sheet = load_workbook(io.BytesIO(console.get("/console/exports/reports.xlsx?month=2026-11").data)).active
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0 and sheet.print_title_rows == "$2:$2"
    assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
    assert "A1:P1" in {str(r) for r in sheet.merged_cells.ranges}
    assert "金宁社区" in sheet["A1"].value and "2026-11" in sheet["A1"].value
    row = next(r for r in sheet.iter_rows(min_row=3) if r[2].value == code)
    assert all(c.border.left.style == "thin" and c.alignment.wrap_text for c in row)
    last = [c.value for c in sheet[sheet.max_row] if c.value]
    assert last and "经办人" in last[0] and "审核人" in last[0] and "日期" in last[0]


def test_the_audit_log_reads_in_chinese_and_filters_by_action(chat, app, fast_db):
    add_accounts_to(fast_db)
    code = file_report(chat.registered("alice"))
    admin = Console(app.test_client())
    admin.login("t-admin")
    admin.post(f"/console/reports/{code}/tier", {"tier": "big", "reason": "涉及整栋楼的线路"})
    admin.post(f"/console/reports/{code}/update", {"note": "已联系电工"})
    page = admin.get("/console/admin/audit?action=report_tier").text
    assert "三事分流定级" in page and "reason：涉及整栋楼的线路" in page
    assert "\\u" not in page and "报事进展" not in page.split('id="audit"')[1]  # filtered
    assert "报事进展" in admin.get("/console/admin/audit").text
