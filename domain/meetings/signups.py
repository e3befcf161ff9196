"""Meeting sign-ups: seats, the waitlist, reminders and the texts they share.

Every sign-up change takes the meeting's row lock first (PostgreSQL FOR UPDATE;
SQLite's write lock), counts seats in `confirmed_count`, and a CHECK constraint
keeps that count within capacity: concurrency can never overbook. The waitlist
is served in arrival order (sign-up id). Staff operations live in
`bot.meeting_admin`.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.clock import local
from core.config import Config
from core.db import ROW_LOCK, read
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import broadcasts
from domain.errors import Refused
from domain.unit import Unit, use_case
from models import Meeting, MeetingStatus, Reminder, Resident, Signup, SignupStatus

ALERT_LEVELS = (80, 100)
MAX_LISTED, BATCH = 200, 25


def qr_url(config: Config, meeting_id: int, code: str) -> str:
    return f"{config.server.public_url}/meetings/{meeting_id}/checkin/{code}.svg"

def when_where(config: Config, meeting: Meeting) -> str:
    return text("meeting_when_where", when=local(config, meeting.starts_at),
                end=local(config, meeting.ends_at, "%H:%M"), place=meeting.place)

def signups_of(session: Session, meeting: Meeting, *statuses: SignupStatus) -> list[Signup]:
    return list(session.scalars(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.status.in_(statuses)).order_by(Signup.id)))

def tell(uow: Unit, signups: list[Signup], meeting: Meeting, status: str, body: str, key: str,
         urgent: bool = False, note: str | None = None) -> None:
    """One `meeting_update` push per sign-up; `status` is a short phrase (时间变更, 已取消 …)."""
    facts = {"title": meeting.title, "status": status, "time": meeting.starts_at,
             "note": note or meeting.place, "meeting": meeting.id}
    for signup in signups:
        if signup.resident_id is not None:
            uow.push(signup.resident_id, "meeting_update", message(body, facts), f"{key}:{signup.id}",
                     urgent=urgent)

def lock(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id, with_for_update=ROW_LOCK, populate_existing=True)
    if meeting is None:
        raise Refused("meeting_not_found")
    return meeting

def seats_left(meeting: Meeting | Listed) -> int | None:
    return meeting.capacity - meeting.reserved_seats if meeting.capacity else None

def in_audience(session: Session, meeting: Meeting | Listed, resident: Resident) -> bool:
    query = broadcasts.audience_query(meeting.audience).where(Resident.id == resident.id)
    return session.scalar(query) is not None

class Listed(NamedTuple):
    """A meeting as the resident's list shows it."""
    id: int
    title: str
    place: str
    starts_at: datetime
    capacity: int | None
    reserved_seats: int
    confirmed_count: int
    audience: dict


class Mine(NamedTuple):
    """One of the resident's sign-ups (not cancelled) with its meeting."""
    id: int
    meeting_id: int
    status: SignupStatus
    checkin_code: str | None
    proxy_name: str | None
    title: str
    starts_at: datetime
    meeting_status: MeetingStatus


# Built once and read through the driver: residents ask these often, and building and
# ORM-running the statements cost more than the queries.
_UPCOMING = (select(Meeting.id, Meeting.title, Meeting.place, Meeting.starts_at, Meeting.capacity,
                    Meeting.reserved_seats, Meeting.confirmed_count, Meeting.audience)
             .where(Meeting.status == MeetingStatus.PUBLISHED, Meeting.starts_at > bindparam("now"),
                    Meeting.community_id == bindparam("cid"))
             .order_by(Meeting.starts_at, Meeting.id).limit(BATCH).offset(bindparam("offset")))
_MINE = (select(Signup.id, Signup.meeting_id, Signup.status, Signup.checkin_code, Signup.proxy_name,
                Meeting.title, Meeting.starts_at, Meeting.status)
         .join(Meeting, Meeting.id == Signup.meeting_id)
         .where(Signup.resident_id == bindparam("rid"), Signup.status != SignupStatus.CANCELLED,
                Meeting.ends_at > bindparam("now"))
         .order_by(Meeting.starts_at, Signup.id))


def upcoming(session: Session, resident: Resident, now: datetime,
             want: int | None = None) -> list[Listed]:
    """Published meetings still to come whose audience includes the resident, soonest first.

    Reads in small batches and stops once `want` are found: a list page needs six rows,
    not the community's whole calendar (at most MAX_LISTED are ever considered)."""
    found: list[Listed] = []
    for offset in range(0, MAX_LISTED, BATCH):
        batch = [Listed(*row) for row in read(session, _UPCOMING, {
            "now": now, "cid": resident.community_id, "offset": offset})]
        for meeting in batch:
            if meeting.audience.get("type") == "community" or in_audience(session, meeting, resident):
                found.append(meeting)
                if want is not None and len(found) >= want:
                    return found
        if len(batch) < BATCH:
            break
    return found


def mine(session: Session, resident: Resident, now: datetime) -> list[Mine]:
    """The resident's sign-ups for meetings not yet over, soonest first."""
    return [Mine(*row) for row in read(session, _MINE, {"rid": resident.id, "now": now})]


def new_code(session: Session, meeting_id: int) -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if session.scalar(select(Signup.id).where(Signup.meeting_id == meeting_id,
                                                  Signup.checkin_code == code)) is None:
            return code

def check_open(session: Session, config: Config, meeting: Meeting, resident: Resident,
               now: datetime) -> None:
    """Refuse sign-ups to meetings that are not open to this resident now."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise Refused("signup_cancelled_meeting")
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise Refused("signup_not_published")
    if meeting.starts_at <= now:
        raise Refused("signup_past")
    if meeting.signup_deadline <= now:
        raise Refused("signup_deadline", when=local(config, meeting.signup_deadline))
    if not in_audience(session, meeting, resident):
        raise Refused("signup_not_in_audience")

def refuse_twice(session: Session, meeting: Meeting, resident: Resident,
                 proxy_name: str | None) -> None:
    """Nobody is signed up twice (the same family member neither)."""
    mine = session.scalar(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.resident_id == resident.id,
        Signup.status != SignupStatus.CANCELLED,
        Signup.proxy_name.is_(None) if proxy_name is None else Signup.proxy_name == proxy_name))
    if mine is not None:
        raise Refused("signup_twice", status=text(f"signup_status_{mine.status.value}"))

@use_case
def sign_up(uow: Unit, meeting_id: int, resident: Resident, *, proxy_name: str | None = None,
            waitlist: bool = False, registered_by: str | None = None) -> Signup:
    """Confirm a seat, or join the waitlist when `waitlist` (else refuse when full)."""
    session, config, now = uow.session, uow.config, uow.now
    proxy_name = clip(proxy_name, 32)
    meeting = lock(session, meeting_id)
    check_open(session, config, meeting, resident, now)
    if proxy_name and not meeting.allow_proxy:
        raise Refused("signup_no_proxy")
    refuse_twice(session, meeting, resident, proxy_name)
    seats = seats_left(meeting)
    full = seats is not None and meeting.confirmed_count >= seats
    if full and not waitlist:
        raise Refused("signup_full")
    signup = Signup(meeting_id=meeting.id, resident_id=resident.id, proxy_name=proxy_name,
                    status=SignupStatus.WAITLISTED if full else SignupStatus.CONFIRMED,
                    checkin_code=new_code(session, meeting.id), registered_by=registered_by,
                    created_at=now)
    session.add(signup)
    if not full:
        meeting.confirmed_count += 1
    session.flush()
    if signup.status is SignupStatus.CONFIRMED:
        schedule_reminders(uow, meeting, signup)
        _capacity_alert(uow, meeting)
    return signup

@use_case
def cancel_signup(uow: Unit, signup: Signup) -> None:
    """Withdraw; a freed seat goes to the first person on the waitlist."""
    session, now = uow.session, uow.now
    meeting = lock(session, signup.meeting_id)
    session.refresh(signup)
    if signup.status is SignupStatus.CANCELLED:
        raise Refused("cancel_not_signed_up")
    was_confirmed = signup.status is SignupStatus.CONFIRMED
    signup.status, signup.cancelled_at = SignupStatus.CANCELLED, now
    if was_confirmed:
        meeting.confirmed_count -= 1
        unremind(session, meeting, signup)
        session.flush()
        promote(uow, meeting)


def promote(uow: Unit, meeting: Meeting) -> list[Signup]:
    """Fill free seats from the waitlist in arrival order; each promoted person is told."""
    session, config, now = uow.session, uow.config, uow.now
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.starts_at <= now:
        return []
    seats = seats_left(meeting)
    waiting = signups_of(session, meeting, SignupStatus.WAITLISTED)
    free = len(waiting) if seats is None else max(0, seats - meeting.confirmed_count)
    promoted = waiting[:free]
    for signup in promoted:
        signup.status, signup.promoted_at = SignupStatus.CONFIRMED, now
        meeting.confirmed_count += 1
        session.flush()
        schedule_reminders(uow, meeting, signup)
    tell(uow, promoted, meeting, text("phrase_promoted"), text(
        "meeting_promoted", title=meeting.title, when_where=when_where(config, meeting)),
        f"meeting:{meeting.id}:promoted")
    return promoted

def schedule_reminders(uow: Unit, meeting: Meeting, signup: Signup, refresh: bool = False) -> None:
    """24 h and 1 h before (per meeting type), never after the start, never twice."""
    if signup.resident_id is None:
        return
    config, now = uow.config, uow.now
    offsets = config.meetings.reminders_for(meeting.type.value)
    stamp = f":{meeting.starts_at:%Y%m%d%H%M}" if refresh else ""
    for offset in offsets:
        due = meeting.starts_at - timedelta(hours=offset)
        if due <= now:
            continue
        body = text("meeting_reminder", title=meeting.title, when_where=when_where(config, meeting),
                    code=signup.checkin_code, who=signup.proxy_name or "",
                    qr=qr_url(config, meeting.id, signup.checkin_code))
        uow.remind(signup.resident_id, "meeting_reminder", message(body, {
            "title": meeting.title, "time": meeting.starts_at, "place": meeting.place,
            "checkin": signup.checkin_code, "meeting": meeting.id}),
            due, f"meeting:{meeting.id}:remind-{offset:g}h:{signup.id}{stamp}",
            expires_at=meeting.starts_at)

def unremind(session: Session, meeting: Meeting, signup: Signup) -> None:
    for reminder in session.scalars(select(Reminder).where(
            Reminder.dedup_key.startswith(f"meeting:{meeting.id}:remind-", autoescape=True),
            Reminder.done.is_(False))):
        if reminder.dedup_key.split(":")[3] == str(signup.id):
            reminder.done, reminder.outcome = True, "cancelled"

def _capacity_alert(uow: Unit, meeting: Meeting) -> None:
    seats = seats_left(meeting)
    if not seats or meeting.organiser_id is None:
        return
    percent = 100 * meeting.confirmed_count // seats
    level = max((lvl for lvl in ALERT_LEVELS if percent >= lvl), default=0)
    if level > meeting.alerted_percent:
        meeting.alerted_percent = level
        uow.push(meeting.organiser_id, "meeting_capacity", message(text(
            "meeting_capacity_alert", title=meeting.title, percent=level,
            n=meeting.confirmed_count, seats=seats), {
                "item": text("notice_capacity", title=meeting.title, percent=level),
                "count": meeting.confirmed_count, "time": uow.now, "meeting": meeting.id}),
            f"meeting:{meeting.id}:capacity:{level}")
