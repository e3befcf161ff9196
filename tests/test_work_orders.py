"""Work orders as 12345 hotlines run them (issue #15): routing by outline and address,
三事分流 (小事 → 楼道长 → 网格员 → 社区; 大事 → 议事会; 私事 → 调解), the working-day
clock, and 临期预警 / 督办 / 退单 / 回访 (fast tier, real database)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain import residents
from domain.actor import Actor
from domain.errors import Refused
from domain.meetings import admin
from domain.reports import clock as work_clock
from domain.reports import lifecycle, oversight, paths, places
from domain.reports.categories import category
from models import (
    AuditLog,
    Building,
    Community,
    Grid,
    MediationCase,
    Meeting,
    OutboxMessage,
    ReportEvent,
    ResidentRole,
    ReturnVisit,
    Role,
    Status,
    Supervision,
    Tier,
)
from scheduler import report_jobs
from tests.meeting_helpers import STAFF, make_meeting
from tests.test_reports import file_report, grid_worker, report_row

BJ = ZoneInfo("Asia/Shanghai")
IN_3 = (23.0436, 112.9122)           # inside 3栋's outline (金宁第一网格)
GRID_2_OPEN = (23.0455, 112.9215)    # inside 金宁第二网格, in no building


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BJ)


def bj(moment: datetime) -> str:
    return moment.astimezone(BJ).strftime("%m-%d %H:%M")


def id_of(db, model, name: str) -> int:
    return db.scalar(select(model.id).where(model.name == name))


def rows(db, model, *where):
    db.expire_all()
    return db.scalars(select(model).where(*where).order_by(model.id)).all()


def texts(db, kind: str, person) -> list[str]:
    return [o.payload["text"] for o in rows(db, OutboxMessage, OutboxMessage.kind == kind,
                                            OutboxMessage.resident_id == person.resident.id)]


def written(db) -> tuple[int, ...]:
    """Row counts a refused operation must leave as they were."""
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(m))
                 for m in (OutboxMessage, ReportEvent, AuditLog, Supervision, MediationCase))


@pytest.fixture
def db(fast_db):
    return fast_db


@pytest.fixture
def registered(chat):
    return chat.registered


@pytest.fixture
def worker(chat):
    return grid_worker(chat, 1)


@pytest.fixture
def staffer(registered, db):
    person = registered("staffer")
    db.add(ResidentRole(resident_id=person.resident.id, role=Role.STAFF, granted_by="test"))
    db.flush()
    return person


# --- 1, 2: where a report is, and so whose ------------------------------------------------------

@pytest.mark.parametrize("where, building, grid", [
    (IN_3, "3栋", 1), (GRID_2_OPEN, None, 2)])  # the reporter lives in 3栋 (grid 1) either way
def test_a_location_routes_by_the_outlines_it_lies_in(registered, chat, db, where, building, grid):
    workers = {n: grid_worker(chat, n) for n in (1, 2)}
    report = report_row(db, file_report(registered(address="3栋2单元"), where=where))
    assert report.building_id == (id_of(db, Building, building) if building else None)
    assert report.grid_id == id_of(db, Grid, f"金宁第{'一二'[grid - 1]}网格")
    assert (report.assignee_id, report.assignee_title) == \
        (workers[grid].resident.id, f"金宁第{'一二'[grid - 1]}网格 网格员")
    assigned = {n: texts(db, "report_assigned", w) for n, w in workers.items()}
    assert [report.code in t for t in assigned[grid]] == [True] and assigned[3 - grid] == []


@pytest.mark.parametrize("typed, building", [
    ("我住3栋2单元502", "3栋"), ("三栋", "3栋"), ("3号楼", "3栋"), ("3幢", "3栋"),
    ("三栋楼道", "3栋"), ("8号楼门口", "8栋"), ("13栋", None), ("十三栋", None), ("门口", None)])
def test_typed_address_names_a_building_anywhere(db, typed, building):
    expected = id_of(db, Building, building) if building else None
    assert places.match_building(db, id_of(db, Community, "金宁社区"), typed) == expected


def test_typed_building_beats_the_residents_own(registered, worker, db):
    p = registered(address="5栋1单元")  # grid 2 at home
    assert p.resident.building_id == id_of(db, Building, "5栋")
    report = report_row(db, file_report(p, where="3号楼门口"))
    assert report.building_id == id_of(db, Building, "3栋") and report.assignee_id == worker.resident.id


# --- 3: 小事 → 楼道长 → 网格员 → 社区 ------------------------------------------------------------

def test_small_matter_head_then_grid_worker_then_staff(registered, worker, staffer, uow, rt, clock, db):
    head = registered("楼道长", address="3栋5单元")
    residents.set_role(uow, STAFF, head.resident, Role.BUILDING_HEAD, True)
    p = registered("alice")
    code = file_report(p, description="楼上装修噪音太吵", where="3栋")
    assert "由3栋楼道长负责，11月18日 14:00前响应" in p.last_reply
    report = report_row(db, code)
    assert (report.category, report.tier) == ("noise", Tier.SMALL)
    assert (report.assignee_id, report.assignee_title) == (head.resident.id, "3栋楼道长")
    assert [code in t for t in texts(db, "report_assigned", head)] == [True]
    assert texts(db, "report_assigned", worker) == []

    clock.set(at(2026, 11, 18, 13, 30))
    assert report_jobs.escalate_overdue(rt) == 1  # 临期预警 to the head
    assert "11月18日 14:00" in texts(db, "report_reminder", head)[0]
    clock.set(at(2026, 11, 18, 14, 1))
    assert report_jobs.escalate_overdue(rt) == 1  # nobody accepted: the grid worker takes over
    report = report_row(db, code)
    assert (report.assignee_id, report.assignee_title) == (worker.resident.id, "金宁第一网格 网格员")
    assert report.status is Status.SUBMITTED and report.escalation == 0
    assert bj(report.accept_due_at) == "11-19 09:01" and bj(report.next_check_at) == "11-18 17:01"
    assert [code in t for t in texts(db, "report_assigned", worker)] == [True] \
        and texts(db, "report_escalated", staffer) == []

    clock.set(at(2026, 11, 19, 9, 2))
    assert report_jobs.escalate_overdue(rt) == 1  # the worker missed it too: up to the community
    report = report_row(db, code)
    assert report.escalation == lifecycle.ESCALATED and report.next_check_at is None
    assert [code in t for t in texts(db, "report_escalated", staffer)] == [True]
    assert report_jobs.escalate_overdue(rt) == 0


# --- 4: 大事 → 议事会 ----------------------------------------------------------------------------

def big_matter(registered, db):
    p = registered("alice")
    code = file_report(p, description="3栋想加装电梯，希望社区组织议事", where="3栋")
    return p, report_row(db, code)


def test_big_matter_is_staffs_and_goes_on_an_agenda(registered, worker, staffer, uow, db):
    p, report = big_matter(registered, db)
    assert (report.category, report.tier) == ("public_affairs", Tier.BIG)
    assert (report.assignee_id, report.assignee_title) == (None, "金宁社区工作人员")
    assert "由金宁社区工作人员负责，11月19日 09:00前响应" in p.last_reply
    assert [report.code in t for t in texts(db, "report_assigned", staffer)] == [True]
    assert texts(db, "report_assigned", worker) == []

    meeting = db.get(Meeting, make_meeting(uow, starts_at=at(2026, 11, 20, 10, 0)))
    paths.put_on_agenda(uow, Actor.resident(staffer.resident), report, meeting)
    report = report_row(db, report.code)
    assert report.status is Status.IN_PROGRESS
    assert "将提交“加装电梯议事会”讨论（11月20日 10:00，金宁党群服务中心）" in \
        texts(db, "report_status", p)[-1]
    assert bj(report.resolve_due_at) == "11-26 16:00"  # 40 working hours from the meeting's end
    assert [item.get("report_id") for item in meeting.agenda] == [report.id]

    before = written(db)
    with pytest.raises(Refused) as refused:
        paths.put_on_agenda(uow, Actor.resident(staffer.resident), report, meeting)
    assert refused.value.key == "agenda_already"
    assert written(db) == before and len(db.get(Meeting, meeting.id).agenda) == 1
    with pytest.raises(Refused):  # a grid worker is not staff
        paths.put_on_agenda(uow, Actor.resident(worker.resident), report,
                            db.get(Meeting, make_meeting(uow, title="另一场")))


def test_publishing_a_meeting_that_links_a_report_tells_the_reporter(registered, uow, db):
    p, report = big_matter(registered, db)
    heard = len(texts(db, "report_status", p))
    meeting_id = make_meeting(uow, published=False, title="3栋加装电梯议事会",
                              starts_at=at(2026, 11, 20, 10, 0),
                              agenda=[{"text": "加装电梯", "report_id": report.id}])
    report = report_row(db, report.code)
    assert bj(report.resolve_due_at) == "11-26 16:00" and report.status is Status.SUBMITTED
    assert len(texts(db, "report_status", p)) == heard  # a draft tells nobody
    admin.publish(uow, STAFF, db.get(Meeting, meeting_id))
    assert "将提交“3栋加装电梯议事会”讨论" in texts(db, "report_status", p)[-1]
    assert report_row(db, report.code).status is Status.IN_PROGRESS


# --- 5: 私事 → advice, 调解 -----------------------------------------------------------------------

def test_private_matter_advice_then_mediation(registered, staffer, uow, db):
    p = registered("alice")
    code = file_report(p, description="和楼上邻居有纠纷，经常吵架", where="跳过")
    assert "人民调解委员会免费调解" in p.last_reply and "回复“调解”" in p.last_reply
    report = report_row(db, code)
    assert (report.category, report.tier, report.status) == ("dispute", Tier.PRIVATE, Status.REFERRED)
    assert rows(db, OutboxMessage, OutboxMessage.resident_id == staffer.resident.id,
                OutboxMessage.kind.like("report%")) == []
    with pytest.raises(Refused) as refused:
        lifecycle.set_published(uow, Actor.resident(staffer.resident), report, True)
    assert refused.value.key == "c_publish_private" and report_row(db, code).published is False

    reply = p.say("调解")
    assert f"已为您申请社区调解（{code}），金宁社区人民调解委员会会尽快联系您，11月19日 17:00前给出处理结果" in reply
    [case] = rows(db, MediationCase)
    report = report_row(db, code)
    assert case.report_id == report.id and report.status is Status.IN_PROGRESS
    assert (report.assignee_id, report.assignee_title) == (None, "金宁社区人民调解委员会")
    assert report.closed_at is None and bj(report.resolve_due_at) == "11-19 17:00"
    assert [code in t for t in texts(db, "report_assigned", staffer)] == [True]
    before = written(db)
    assert "已经申请过调解" in p.say("调解") and written(db) == before


# --- 6: the working-day clock -----------------------------------------------------------------

@pytest.mark.parametrize("start, hours, closes", [
    (at(2026, 9, 30, 16, 30), 8, at(2026, 10, 8, 15, 30)),   # 1 h, then 国庆 Oct 1-7
    (at(2026, 10, 9, 17, 0), 4, at(2026, 10, 10, 12, 0)),    # Sat Oct 10 is a working day
    (at(2026, 9, 18, 17, 0), 4, at(2026, 9, 20, 12, 0)),     # Sat off, Sun Sep 20 on
    (at(2026, 9, 30, 20, 0), 1, at(2026, 10, 8, 9, 30)),     # after hours: next working morning
    (at(2026, 11, 18, 10, 0), 40, at(2026, 11, 24, 14, 0)),  # a plain week: 9 h a day
])
def test_working_hours_skip_holidays_and_count_adjusted_days(config, start, hours, closes):
    assert work_clock.due(config, start, hours) == closes


def test_calendar_hours_category_just_adds_hours(config):
    safety = category(config, "safety")
    assert safety.working is False and (safety.accept_hours, safety.resolve_hours) == (2, 24)
    start = at(2026, 9, 30, 16, 30)
    assert work_clock.due(config, start, safety.resolve_hours, safety.working) == at(2026, 10, 1, 16, 30)
    assert work_clock.warn_point(config, start, 2, False) == at(2026, 9, 30, 18, 0)


def test_configured_days_for_a_year_the_calendar_does_not_know(config):
    new_year = at(2026, 12, 31, 17, 0)
    assert work_clock.due(config, new_year, 4) == at(2027, 1, 1, 12, 0)  # weekdays by default
    told = config.with_overrides({"reports": {"clock": {"holidays": ["2027-01-01"],
                                                        "workdays": ["2027-01-09"]}}})
    assert work_clock.due(told, new_year, 4) == at(2027, 1, 4, 12, 0)
    assert work_clock.due(told, at(2027, 1, 8, 17, 0), 4) == at(2027, 1, 9, 12, 0)
    assert work_clock.due(config, at(2027, 1, 8, 17, 0), 4) == at(2027, 1, 11, 12, 0)


def test_report_filed_before_national_day_shows_the_deadline_after_it(registered, clock):
    clock.set(at(2026, 9, 30, 16, 30))
    file_report(p := registered())
    assert "10月08日 11:30前响应" in p.last_reply  # 1 h on Sep 30, 3 h on Oct 8


# --- 7: warning, 督办, 退单, 回访 -----------------------------------------------------------------

def test_resolve_window_warns_at_three_quarters_then_escalates(registered, worker, staffer, rt, clock, db):
    code = file_report(registered())
    assert "11月20日 16:00前处理" in worker.say(f"接单 {code}")  # 24 working hours from filing
    assert report_jobs.escalate_overdue(rt) == 0  # the accept window's warning is gone
    clock.set(at(2026, 11, 20, 9, 59))
    assert report_jobs.escalate_overdue(rt) == 0
    clock.set(at(2026, 11, 20, 10, 1))  # 18 of 24 working hours
    assert report_jobs.escalate_overdue(rt) == 1
    [warning] = texts(db, "report_reminder", worker)
    assert code in warning and "办结将于11月20日 16:00到期" in warning
    clock.set(at(2026, 11, 20, 15, 59))
    assert report_jobs.escalate_overdue(rt) == 0
    clock.set(at(2026, 11, 20, 16, 1))
    assert report_jobs.escalate_overdue(rt) == 1
    assert [code in t for t in texts(db, "report_escalated", staffer)] == [True]
    assert report_row(db, code).escalation == lifecycle.ESCALATED
    clock.advance(days=3)
    assert report_jobs.escalate_overdue(rt) == 0


def test_supervision_by_chat(registered, worker, staffer, db):
    p = registered()
    code = file_report(p)
    worker.say(f"接单 {code}")
    assert "没有权限" in worker.say(f"督办 {code} 快点")  # the assignee is not staff
    p.say(f"督办 {code} 快点")  # nor is a resident: not a command for them
    assert rows(db, Supervision) == []
    assert "已督办" in staffer.say(f"督办 {code} 请今天内处理")
    [ticket] = rows(db, Supervision)
    assert (ticket.note, ticket.answered_at) == ("请今天内处理", None)
    assert texts(db, "report_escalated", worker) == \
        [f"督办：{code} 请今天内处理。请回复“回复督办 {code} 处理情况”。"]
    assert "已答复" in worker.say(f"回复督办 {code} 已处理")
    assert [(t.answer, t.answered_at is not None) for t in rows(db, Supervision)] == [("已处理", True)]
    assert "没有待答复的督办" in worker.say(f"回复督办 {code} 再说一次")
    assert [t.answer for t in rows(db, Supervision)] == ["已处理"]


def test_send_back_returns_to_staff_with_a_fresh_clock(registered, worker, staffer, uow, clock, db):
    code = file_report(registered())
    worker.say(f"接单 {code}")
    before = written(db)
    assert "请写明退单" in worker.say(f"退单 {code}")
    with pytest.raises(Refused) as refused:
        oversight.send_back(uow, Actor.resident(worker.resident), report_row(db, code), "   ")
    assert refused.value.key == "send_back_needs_reason"
    report = report_row(db, code)
    assert (written(db), report.status, report.assignee_id) == (before, Status.ACCEPTED, worker.resident.id)
    clock.set(at(2026, 11, 18, 11, 0))
    assert "已退单" in worker.say(f"退单 {code} 不是本网格")
    report = report_row(db, code)
    assert (report.status, report.assignee_id, report.assignee_title) == \
        (Status.SUBMITTED, None, "金宁社区工作人员")
    assert bj(report.accept_due_at) == "11-18 15:00" and bj(report.next_check_at) == "11-18 14:00"
    assert report.escalation == 0
    assert [code in t for t in texts(db, "report_assigned", staffer)] == [True]
    assert "退单：不是本网格" in [e.note for e in rows(db, ReportEvent, ReportEvent.report_id == report.id)]


def resolved_report(p, worker) -> str:
    code = file_report(p)
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 灯已更换")
    worker.say("跳过")
    return code


@pytest.mark.parametrize("stars", ["1", "2"])
def test_low_rating_opens_a_return_visit_that_can_reopen(registered, worker, staffer, uow, clock, db, stars):
    p = registered()
    code = resolved_report(p, worker)
    assert "打分" in p.say("已解决")
    p.say(stars)
    p.say("跳过")
    [visit] = rows(db, ReturnVisit)
    report = report_row(db, code)
    assert (visit.reason, visit.outcome, report.status) == ("low_rating", None, Status.CLOSED)
    clock.set(at(2026, 11, 19, 9, 0))
    oversight.record_visit(uow, Actor.resident(staffer.resident), visit, "reopened", "灯又坏了")
    report = report_row(db, code)
    assert report.status is Status.IN_PROGRESS and report.closed_at is None
    assert bj(report.resolve_due_at) == "11-23 15:00"  # 24 working hours from the visit
    assert report.escalation == 0 and rows(db, ReturnVisit)[0].outcome == "reopened"
    before = written(db)
    with pytest.raises(Refused) as refused:
        oversight.record_visit(uow, Actor.resident(staffer.resident), visit, "satisfied", None)
    assert refused.value.key == "visit_done" and written(db) == before


def test_not_solved_opens_a_return_visit(registered, worker, db):
    p = registered()
    code = resolved_report(p, worker)
    assert "重新打开" in p.say("未解决")
    assert [(v.reason, v.outcome) for v in rows(db, ReturnVisit)] == [("not_solved", None)]
    assert report_row(db, code).status is Status.IN_PROGRESS
