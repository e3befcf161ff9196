"""Meetings by chat: browse, sign up, waitlist, cancel, remind, check in, minutes, calendars."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from icalendar import Calendar
from sqlalchemy import select

from bot import meeting_admin, meetings
from models import (Broadcast, Meeting, MeetingStatus, OutboxMessage, Reminder, Resident,
                    ResidentRole, Signup, SignupStatus, utcnow)
from tests.meeting_helpers import change, make_meeting


def signups(db, meeting_id):
    db.rollback()
    return db.scalars(select(Signup).where(Signup.meeting_id == meeting_id).order_by(Signup.id)).all()


def join(p, n=1) -> str:
    assert "确认" in p.say(f"报名 {n}") or "候补" in p.last_reply
    return p.say("1")


def test_browse_pages_and_sign_up_with_code_and_reminders(registered, config, db):
    p = registered()
    ids = [make_meeting(config, title=f"议事会{i}", starts_at=utcnow() + timedelta(days=2, hours=i))
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


def test_full_meeting_offers_the_waitlist_and_promotes_in_order(registered, config, db):
    mid = make_meeting(config, capacity=2)
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
    promoted = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "meeting_promoted")).all()
    assert [o.resident_id for o in promoted] == [by_openid[third.openid]]
    assert db.get(Meeting, mid).confirmed_count == 2


def test_family_member_signup(registered, config, db):
    mid = make_meeting(config)
    p = registered()
    assert "代张阿姨报名" in p.say("报名 1 张阿姨")
    p.say("1")
    join(p)  # and for themselves
    assert [s.proxy_name for s in signups(db, mid)] == ["张阿姨", None]
    no_proxy = make_meeting(config, allow_proxy=False, title="听证会",
                            starts_at=utcnow() + timedelta(days=3))
    p.say("报名 2 李伯")
    assert "不接受代报名" in p.say("1")
    assert all(s.meeting_id != no_proxy for s in signups(db, no_proxy))


@pytest.mark.parametrize("case", ["deadline", "cancelled", "twice", "not_on_list", "audience",
                                  "cancel_not_signed", "unpublished", "past"])
def test_sign_up_refusals(registered, config, db, case, engine):
    p = registered()
    if case == "deadline":
        make_meeting(config, signup_deadline=utcnow() + timedelta(seconds=2))
        p.say("报名 1")
        import time
        time.sleep(2.5)
        assert "截止" in p.say("1")
    elif case == "cancelled":
        mid = make_meeting(config)
        p.say("报名 1")
        change(config, mid, meeting_admin.cancel)
        assert "已取消，不能报名" in p.say("1")
    elif case == "twice":
        make_meeting(config)
        join(p)
        assert "无需重复报名" in p.say("报名 1")
    elif case == "not_on_list":
        make_meeting(config)
        assert "没有编号 5" in p.say("报名 5") and "例如" in p.say("报名")
    elif case == "audience":
        from models import Grid
        with engine.begin() as conn:
            grid_2 = conn.execute(select(Grid.id).where(Grid.name == "金宁第二网格")).scalar()
        make_meeting(config, audience={"type": "grid", "id": grid_2})
        assert "近期没有" in p.say("议事会") and "没有编号 1" in p.say("报名 1")
    elif case == "cancel_not_signed":
        make_meeting(config)
        assert "您没有报名" in p.say("取消报名 1")
    elif case == "unpublished":
        make_meeting(config, published=False)
        assert "近期没有" in p.say("议事会")
    elif case == "past":
        mid = make_meeting(config, starts_at=utcnow() + timedelta(seconds=2))
        p.say("报名 1")
        import time
        time.sleep(2.5)
        assert "已经开始" in p.say("1")
        assert signups(db, mid) == []


def test_meeting_end_before_start_is_refused(config):
    with pytest.raises(meetings.MeetingError, match="结束时间必须晚于开始时间"):
        make_meeting(config, starts_at=utcnow() + timedelta(days=1),
                     ends_at=utcnow() + timedelta(hours=1))


def test_lowering_capacity_moves_the_newest_to_the_waitlist(registered, config, db):
    mid = make_meeting(config, capacity=3)
    people = [registered(f"c{i}") for i in range(3)]
    for p in people:
        join(p)
    moved = change(config, mid, meeting_admin.set_capacity, 1)
    rows = signups(db, mid)  # (rolls back: sees the change)
    assert [r.status for r in rows] == [SignupStatus.CONFIRMED, SignupStatus.WAITLISTED,
                                        SignupStatus.WAITLISTED]
    assert len(moved) == 2
    told = db.scalars(select(OutboxMessage.resident_id).where(
        OutboxMessage.kind == "meeting_waitlisted")).all()
    assert sorted(told) == sorted(r.resident_id for r in rows[1:])
    assert db.get(Meeting, mid).confirmed_count == 1
    reminders = db.scalars(select(Reminder).where(Reminder.done.is_(False))).all()
    assert {r.dedup_key.split(":")[-1] for r in reminders} == {str(rows[0].id)}


def test_edit_and_cancel_notify_sign_ups(registered, config, db):
    mid = make_meeting(config, starts_at=utcnow() + timedelta(hours=1, minutes=30))
    p = registered()
    join(p)
    change(config, mid, meeting_admin.edit, place="社区广场")
    db.rollback()
    changed = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "meeting_changed")).all()
    assert len(changed) == 1 and "社区广场" in changed[0].payload["text"]
    change(config, mid, meeting_admin.cancel)
    db.rollback()
    [cancelled] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "meeting_cancelled")).all()
    assert cancelled.urgent  # within 2 hours of the start
    assert all(r.done for r in db.scalars(select(Reminder)).all())


def test_check_in_by_code_and_minutes(registered, config, db, engine):
    mid = make_meeting(config, starts_at=utcnow() + timedelta(hours=1))
    make_meeting(config, title="另一场", starts_at=utcnow() + timedelta(days=5))
    p, q = registered("p"), registered("q")
    code = re.search(r"签到码：(\d{6})", join(p)).group(1)
    q.say("报名 2")
    other_code = re.search(r"签到码：(\d{6})", q.say("1")).group(1)
    staff = registered("staff")
    with engine.begin() as conn:
        rid = conn.execute(select(Resident.id).where(Resident.openid == staff.openid)).scalar()
        conn.execute(ResidentRole.__table__.insert().values(resident_id=rid, role="staff",
                                                           granted_by="t", granted_at=utcnow()))
    assert "没有权限" in p.say(f"签到 {code}")
    assert "签到码不正确" in staff.say("签到 000000" if code != "000000" else "签到 111111")
    if other_code != code:
        assert "另一场会议" in staff.say(f"签到 {other_code}")
    assert "签到成功" in staff.say(f"签到 {code}")
    assert "已经签到过" in staff.say(f"签到 {code}")
    db.rollback()
    change(config, mid, meeting_admin.close, minutes="同意加装电梯", decisions=[
        {"text": "成立加装电梯工作小组", "owner": "楼长王姨"}])
    db.rollback()
    meeting = db.get(Meeting, mid)
    assert meeting.status is MeetingStatus.CLOSED and meeting.attendee_count == 1
    [minutes] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "meeting_minutes")).all()
    assert "成立加装电梯工作小组" in minutes.payload["text"]


def test_calendars(config, bot_server, sim):
    mid = make_meeting(config)
    one = Calendar.from_ical(requests.get(f"{bot_server.url}/meetings/{mid}.ics").content)
    [event] = one.walk("VEVENT")
    assert str(event["summary"]) == "加装电梯议事会" and str(event["location"]) == "金宁党群服务中心"
    with_community = requests.get(f"{bot_server.url}/communities/1/meetings.ics")
    assert with_community.headers["Content-Type"].startswith("text/calendar")
    assert requests.get(f"{bot_server.url}/meetings/99999.ics").status_code == 404
    draft = make_meeting(config, published=False)
    assert requests.get(f"{bot_server.url}/meetings/{draft}.ics").status_code == 404


def test_capacity_alerts_to_the_organiser(registered, config, db, engine):
    organiser = registered("organiser")
    with engine.begin() as conn:
        oid = conn.execute(select(Resident.id).where(Resident.openid == organiser.openid)).scalar()
    make_meeting(config, capacity=5, organiser_id=oid)
    for i in range(5):
        join(registered(f"a{i}"))
    db.rollback()
    alerts = db.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind == "meeting_capacity")
                        .order_by(OutboxMessage.id)).all()
    assert ["80%" in a["text"] for a in alerts] == [True, False] and "100%" in alerts[1]["text"]


def test_meeting_sign_ups_as_a_broadcast_audience(registered, config, db):
    from bot.broadcasts import preview
    from models import Strategy
    mid = make_meeting(config)
    join(registered("x"))
    registered("y")
    db.rollback()
    assert preview(db, config, {"type": "meeting", "id": mid}, Strategy.PER_RESIDENT)["total"] == 1


def test_check_in_qr_code_image(registered, config, bot_server):
    make_meeting(config)
    p = registered()
    done = join(p)
    url = re.search(r"签到二维码：(\S+\.svg)", done).group(1)
    path = url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    image = requests.get(f"{bot_server.url}/{path}")
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in image.content
    meeting_path, issued = path.rsplit("/", 1)
    other = "000001" if issued != "000001.svg" else "000002"
    assert requests.get(f"{bot_server.url}/{meeting_path}/{other}.svg").status_code == 404
    assert requests.get(f"{bot_server.url}/{meeting_path}/abc.svg").status_code == 404


def test_cli_links_reports_into_the_agenda(registered, config, db_url):
    import os
    import subprocess
    import sys

    from bot.config import PROJECT_ROOT
    from tests.test_reports import file_report
    code = file_report(registered("reporter"))
    env = {**os.environ, "LINLI_DATABASE_URL": db_url}
    done = subprocess.run([sys.executable, "-m", "bot", "meeting", "create", "--community", "金宁社区",
                           "--title", "路灯议事会", "--place", "党群服务中心",
                           "--start", "2030-01-05 19:00", "--end", "2030-01-05 20:00",
                           "--report", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    missing = subprocess.run([sys.executable, "-m", "bot", "meeting", "create", "--community", "金宁社区",
                              "--title", "x", "--place", "y", "--start", "2030-01-05 19:00",
                              "--end", "2030-01-05 20:00", "--report", "BS999999"],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "no report" in missing.stderr
    incomplete = subprocess.run([sys.executable, "-m", "bot", "meeting", "create", "--community",
                                 "金宁社区"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert incomplete.returncode != 0 and "needs --title, --place, --start, --end" in incomplete.stderr
    assert "Traceback" not in incomplete.stderr
