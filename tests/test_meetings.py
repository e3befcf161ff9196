"""Meetings by chat: browse, sign up, waitlist, cancel, remind, check in, minutes, calendars
(fast tier, with a manual clock: nothing sleeps)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from domain.errors import Refused
from domain.meetings import admin
from models import (
    Broadcast,
    Grid,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Reminder,
    Resident,
    ResidentRole,
    Role,
    Signup,
    SignupStatus,
)
from tests.meeting_helpers import STAFF, make_meeting


@pytest.fixture
def registered(chat):
    return chat.registered


@pytest.fixture
def db(fast_db):
    return fast_db


def change(uow, meeting_id, action, **kwargs):
    """A staff use case on a meeting (edit, cancel, close …)."""
    return action(uow, STAFF, uow.session.get(Meeting, meeting_id), **kwargs)


def signups(db, meeting_id):
    db.expire_all()
    return db.scalars(select(Signup).where(Signup.meeting_id == meeting_id).order_by(Signup.id)).all()


def join(p, n=1) -> str:
    assert "确认" in p.say(f"报名 {n}") or "候补" in p.last_reply
    return p.say("1")


def test_browse_pages_and_sign_up_with_code_and_reminders(registered, uow, db):
    p = registered()
    ids = [make_meeting(uow, title=f"议事会{i}", starts_at=uow.now + timedelta(days=2, hours=i))
           for i in range(7)]
    listing = p.say("议事会")
    assert "1. 议事会0" in listing and "5. 议事会4" in listing and "更多" in listing
    assert "6. 议事会5" in p.say("更多") and "7. 议事会6" in p.last_reply
    done = join(p, 1)
    code = re.search(r"签到码：(\d{6})", done).group(1)
    [signup] = signups(db, ids[0])
    assert signup.status is SignupStatus.CONFIRMED and signup.checkin_code == code
    keys = sorted(db.scalars(select(Reminder.dedup_key)).all())
    assert keys == [f"meeting:{ids[0]}:remind-1h:{signup.id}", f"meeting:{ids[0]}:remind-24h:{signup.id}"]
    assert code in p.say("我的报名")
    # the publish notice went out as a broadcast with date, time and place in the body
    notice = db.scalars(select(Broadcast)).first()
    assert "金宁党群服务中心" in notice.text and ".ics" in notice.text


def test_a_list_is_not_a_task_the_menu_and_other_commands_leave_it_at_once(registered, uow):
    """An elder who looked at the list and types 菜单 gets the menu; a command gets done
    without "leave? what you typed is lost"; after its last page the list keeps no step."""
    p = registered()
    for i in range(7):
        make_meeting(uow, title=f"议事会{i}", starts_at=uow.now + timedelta(days=2, hours=i))
    assert "更多" in p.say("议事会")
    assert "请回复数字选择" in p.say("菜单") and "2. 我的报事" in p.last_reply
    p.say("议事会")
    assert p.say("我的报事").startswith("您还没有反映过问题")
    p.say("议事会")
    assert "6. 议事会5" in p.say("更多") and "更多" not in p.last_reply
    assert "描述您发现的问题" in p.say("1")  # after the last page 1 is the menu's 我要报事


def test_full_meeting_offers_the_waitlist_and_promotes_in_order(registered, uow, db):
    mid = make_meeting(uow, capacity=2)
    first, second, third, fourth = (registered(f"p{i}") for i in range(4))
    join(first)
    join(second)
    assert "名额已满" in third.say("报名 1")
    assert "排第1位" in third.say("1")
    fourth.say("报名 1")
    assert "排第2位" in fourth.say("1")
    assert "已取消报名" in first.say("取消报名 1")
    rows = {r.resident_id: r.status for r in signups(db, mid)}
    by_openid = {p.openid: db.scalar(select(Resident.id).where(Resident.openid == p.openid))
                 for p in (first, second, third, fourth)}
    assert rows[by_openid[third.openid]] is SignupStatus.CONFIRMED  # promoted first come first
    assert rows[by_openid[fourth.openid]] is SignupStatus.WAITLISTED
    promoted = db.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("meeting:%:promoted:%"))).all()
    assert [o.resident_id for o in promoted] == [by_openid[third.openid]]
    assert db.get(Meeting, mid).confirmed_count == 2


def test_family_member_signup(registered, uow, db):
    mid = make_meeting(uow)
    p = registered()
    assert "代张阿姨报名" in p.say("报名 1 张阿姨")
    p.say("1")
    join(p)  # and for themselves
    assert [s.proxy_name for s in signups(db, mid)] == ["张阿姨", None]
    no_proxy = make_meeting(uow, allow_proxy=False, title="听证会",
                            starts_at=uow.now + timedelta(days=3))
    p.say("报名 2 李伯")
    assert "不接受代报名" in p.say("1")
    assert all(s.meeting_id != no_proxy for s in signups(db, no_proxy))


@pytest.mark.parametrize("case", ["deadline", "cancelled", "twice", "not_on_list", "audience",
                                  "cancel_not_signed", "unpublished", "past"])
def test_sign_up_refusals(registered, uow, db, case, clock):
    p = registered()
    if case == "deadline":
        make_meeting(uow, signup_deadline=uow.now + timedelta(seconds=2))
        p.say("报名 1")
        clock.advance(seconds=3)
        assert "截止" in p.say("1")
    elif case == "cancelled":
        mid = make_meeting(uow)
        p.say("报名 1")
        change(uow, mid, admin.cancel)
        assert "已取消，不能报名" in p.say("1")
    elif case == "twice":
        make_meeting(uow)
        join(p)
        assert "无需重复报名" in p.say("报名 1")
    elif case == "not_on_list":
        make_meeting(uow)
        assert "没有编号 5" in p.say("报名 5") and "例如" in p.say("报名")
    elif case == "audience":
        grid_2 = db.scalar(select(Grid.id).where(Grid.name == "金宁第二网格"))
        make_meeting(uow, audience={"type": "grid", "id": grid_2})
        assert "近期没有" in p.say("议事会") and "没有编号 1" in p.say("报名 1")
    elif case == "cancel_not_signed":
        make_meeting(uow)
        assert "您没有报名" in p.say("取消报名 1")
    elif case == "unpublished":
        make_meeting(uow, published=False)
        assert "近期没有" in p.say("议事会")
    elif case == "past":
        mid = make_meeting(uow, starts_at=uow.now + timedelta(seconds=2))
        p.say("报名 1")
        clock.advance(seconds=3)
        assert "已经开始" in p.say("1")
        assert signups(db, mid) == []


def test_meeting_end_before_start_is_refused(uow):
    with pytest.raises(Refused, match="结束时间必须晚于开始时间"):
        make_meeting(uow, starts_at=uow.now + timedelta(days=1),
                     ends_at=uow.now + timedelta(hours=1))


def test_lowering_capacity_moves_the_newest_to_the_waitlist(registered, uow, db):
    mid = make_meeting(uow, capacity=3)
    people = [registered(f"c{i}") for i in range(3)]
    for p in people:
        join(p)
    moved = change(uow, mid, admin.edit, capacity=1)
    rows = signups(db, mid)
    assert [r.status for r in rows] == [SignupStatus.CONFIRMED, SignupStatus.WAITLISTED,
                                        SignupStatus.WAITLISTED]
    assert moved == 2
    told = db.scalars(select(OutboxMessage.resident_id).where(
        OutboxMessage.dedup_key.like("meeting:%:demoted:%"))).all()
    assert sorted(told) == sorted(r.resident_id for r in rows[1:])
    assert db.get(Meeting, mid).confirmed_count == 1
    reminders = db.scalars(select(Reminder).where(Reminder.done.is_(False))).all()
    assert {r.dedup_key.split(":")[-1] for r in reminders} == {str(rows[0].id)}


def test_edit_and_cancel_notify_sign_ups(registered, uow, db):
    mid = make_meeting(uow, starts_at=uow.now + timedelta(hours=1, minutes=30))
    p = registered()
    join(p)
    change(uow, mid, admin.edit, place="社区广场")
    db.expire_all()
    changed = db.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("meeting:%:changed:%"))).all()
    assert len(changed) == 1 and "社区广场" in changed[0].payload["text"]
    change(uow, mid, admin.cancel)
    db.expire_all()
    [cancelled] = db.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("meeting:%:cancelled:%"))).all()
    assert cancelled.urgent  # within 2 hours of the start
    assert all(r.done for r in db.scalars(select(Reminder)).all())


def test_check_in_by_code_and_minutes(registered, uow, db, clock):
    mid = make_meeting(uow, starts_at=uow.now + timedelta(hours=1))
    make_meeting(uow, title="另一场", starts_at=uow.now + timedelta(days=5))
    p, q = registered("p"), registered("q")
    code = re.search(r"签到码：(\d{6})", join(p)).group(1)
    q.say("报名 2")
    other_code = re.search(r"签到码：(\d{6})", q.say("1")).group(1)
    staff = registered("staff")
    db.add(ResidentRole(resident_id=staff.resident.id, role=Role.STAFF, granted_by="t"))
    db.flush()
    assert "没有权限" in p.say(f"签到 {code}")
    assert "签到码不正确" in staff.say("签到 000000" if code != "000000" else "签到 111111")
    if other_code != code:
        assert "另一场会议" in staff.say(f"签到 {other_code}")
    assert "签到成功" in staff.say(f"签到 {code}")
    assert "已经签到过" in staff.say(f"签到 {code}")
    assert "还没开始" in _refusal(lambda: change(uow, mid, admin.close, minutes="x", decisions=[]))
    clock.advance(hours=1, minutes=5)
    change(uow, mid, admin.close, minutes="同意加装电梯", decisions=[
        {"text": "成立加装电梯工作小组", "owner": "楼长王姨"}])
    db.expire_all()
    meeting = db.get(Meeting, mid)
    assert meeting.status is MeetingStatus.CLOSED and meeting.attendee_count == 1
    [minutes] = db.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("meeting:%:minutes:%"))).all()
    assert "成立加装电梯工作小组" in minutes.payload["text"]


def test_calendars(uow, client):
    mid = make_meeting(uow)
    one = Calendar.from_ical(client.get(f"/meetings/{mid}.ics").data)
    [event] = one.walk("VEVENT")
    assert str(event["summary"]) == "加装电梯议事会" and str(event["location"]) == "金宁党群服务中心"
    community = uow.session.get(Meeting, mid).community_id
    with_community = client.get(f"/communities/{community}/meetings.ics")
    assert with_community.headers["Content-Type"].startswith("text/calendar")
    assert client.get("/meetings/99999.ics").status_code == 404
    assert client.get("/meetings/99999999999999999999.ics").status_code == 404
    assert client.get("/communities/99999999999999999999/meetings.ics").status_code == 404
    draft = make_meeting(uow, published=False)
    assert client.get(f"/meetings/{draft}.ics").status_code == 404


def test_capacity_alerts_to_the_organiser(registered, uow, db):
    organiser = registered("organiser")
    make_meeting(uow, capacity=5, organiser_id=organiser.resident.id)
    for i in range(5):
        join(registered(f"a{i}"))
    db.expire_all()
    alerts = db.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind == "meeting_capacity")
                        .order_by(OutboxMessage.id)).all()
    assert ["80%" in a["text"] for a in alerts] == [True, False] and "100%" in alerts[1]["text"]


def test_meeting_sign_ups_as_a_broadcast_audience(registered, uow, db, config):
    from domain.broadcasts import preview
    from models import Strategy
    mid = make_meeting(uow)
    join(registered("x"))
    registered("y")
    db.expire_all()
    assert preview(db, config, {"type": "meeting", "id": mid}, Strategy.PER_RESIDENT, uow.now)["total"] == 1


def test_check_in_qr_code_image(registered, uow, client):
    make_meeting(uow)
    p = registered()
    done = join(p)
    url = re.search(r"签到二维码：(\S+\.svg)", done).group(1)
    path = "/" + url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    image = client.get(path)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in image.data
    meeting_path, issued = path.rsplit("/", 1)
    other = "000001" if issued != "000001.svg" else "000002"
    assert client.get(f"{meeting_path}/{other}.svg").status_code == 404
    assert client.get(f"{meeting_path}/abc.svg").status_code == 404
    assert client.get(f"{meeting_path}/١٢٣٤٥٦.svg").status_code == 404


def test_cli_links_reports_into_the_agenda(sim, config, db_url):
    import os
    import subprocess
    import sys

    from core.config import PROJECT_ROOT
    from tests.test_reports import file_report
    reporter = sim.persona("reporter")
    reporter.follow(scene="jinning")
    for answer in ("1", "跳过", "3栋", "跳过"):
        reporter.say(answer)
    code = file_report(reporter)
    env = {**os.environ, "LINLI_DATABASE_URL": db_url}
    done = subprocess.run([sys.executable, "-m", "linli", "meeting", "create", "--community", "金宁社区",
                           "--title", "路灯议事会", "--place", "党群服务中心",
                           "--start", "2030-01-05 19:00", "--end", "2030-01-05 20:00",
                           "--report", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    missing = subprocess.run([sys.executable, "-m", "linli", "meeting", "create", "--community", "金宁社区",
                              "--title", "x", "--place", "y", "--start", "2030-01-05 19:00",
                              "--end", "2030-01-05 20:00", "--report", "BS999999"],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "no report" in missing.stderr
    incomplete = subprocess.run([sys.executable, "-m", "linli", "meeting", "create", "--community",
                                 "金宁社区"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert incomplete.returncode != 0 and "needs --title, --place, --start, --end" in incomplete.stderr
    assert "Traceback" not in incomplete.stderr


def _refusal(work) -> str:
    try:
        work()
    except Refused as refusal:
        return refusal.message
    raise AssertionError("not refused")
