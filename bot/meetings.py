"""Meetings domain: publish, sign up with a waitlist, remind, check in, minutes.

Every sign-up change takes the meeting's row lock first (PostgreSQL FOR UPDATE;
SQLite's write lock), counts seats in `confirmed_count`, and a CHECK constraint
keeps that count within capacity: concurrency can never overbook. The waitlist
is served in arrival order (sign-up id).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import broadcasts
from bot.config import Config
from bot.outbox import cancel_reminders, enqueue, message, remind
from bot.texts import text
from models import (Meeting, MeetingStatus, MeetingType, Reminder, Report, ReportEvent,
                    Resident, Signup, SignupStatus, Strategy)

URGENT_WITHIN = timedelta(hours=2)
ALERT_LEVELS = (80, 100)


class MeetingError(ValueError):
    """Refused; `key` names the catalogue text that explains it to a resident."""

    def __init__(self, key: str, **values: object):
        super().__init__(text(key, **values))
        self.key, self.values = key, values


def local(config: Config, moment: datetime, fmt: str = "%m月%d日 %H:%M") -> str:
    return moment.astimezone(config.tz).strftime(fmt)


def qr_url(config: Config, meeting_id: int, code: str) -> str:
    return f"{config.get_path('server.public_url')}/meetings/{meeting_id}/checkin/{code}.svg"


def when_where(config: Config, meeting: Meeting) -> str:
    return text("meeting_when_where", when=local(config, meeting.starts_at),
                end=local(config, meeting.ends_at, "%H:%M"), place=meeting.place)


# --- staff side -----------------------------------------------------------------

def create(session: Session, *, community_id: int, type: MeetingType, title: str, place: str,
           starts_at: datetime, ends_at: datetime, capacity: int = 0, reserved_seats: int = 0,
           signup_deadline: datetime | None = None, audience: dict | None = None,
           agenda: list[dict] | None = None, terms: str | None = None, allow_proxy: bool = True,
           online_url: str | None = None, organiser_id: int | None = None,
           created_by: str) -> Meeting:
    """A draft meeting, validated."""
    title, place = (title or "").strip(), (place or "").strip()
    if not title or len(title) > 64:
        raise MeetingError("meeting_bad_title")
    if not place and not online_url:
        raise MeetingError("meeting_bad_place")
    if ends_at <= starts_at:
        raise MeetingError("meeting_ends_before_start")
    if capacity < 0 or reserved_seats < 0 or (capacity and reserved_seats >= capacity):
        raise MeetingError("meeting_bad_capacity")
    deadline = signup_deadline or starts_at
    if deadline > starts_at:
        raise MeetingError("meeting_bad_deadline")
    meeting = Meeting(community_id=community_id, type=type, title=title, place=place,
                      online_url=online_url, starts_at=starts_at, ends_at=ends_at,
                      capacity=capacity, reserved_seats=reserved_seats, confirmed_count=0,
                      signup_deadline=deadline, audience=audience or {"type": "community",
                                                                      "id": community_id},
                      agenda=agenda or [], terms=terms, allow_proxy=allow_proxy,
                      organiser_id=organiser_id, created_by=created_by, decisions=[])
    session.add(meeting)
    session.flush()
    return meeting


def publish(session: Session, config: Config, meeting: Meeting, now: datetime) -> int:
    """Publish and send the notice (date, time and place in the body) to the audience."""
    if meeting.status is not MeetingStatus.DRAFT:
        raise MeetingError("meeting_not_draft")
    if meeting.starts_at <= now:
        raise MeetingError("meeting_past")
    meeting.status, meeting.published_at = MeetingStatus.PUBLISHED, now
    ics = f"{config.get_path('server.public_url')}/meetings/{meeting.id}.ics"
    body = text("meeting_notice", title=meeting.title, when_where=when_where(config, meeting),
                agenda="；".join(a.get("text", "") for a in meeting.agenda) or "—", ics=ics)
    try:
        notice = broadcasts.create(session, config, title=meeting.title[:64], text=body,
                                   audience=meeting.audience, strategy=Strategy.PER_RESIDENT,
                                   created_by=meeting.created_by)
    except broadcasts.BroadcastError:
        return 0  # nobody follows in this audience yet: published all the same
    return notice.id


def _signups(session: Session, meeting: Meeting, *statuses: SignupStatus) -> list[Signup]:
    return list(session.scalars(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.status.in_(statuses)).order_by(Signup.id)))


def _tell(session: Session, signups: list[Signup], kind: str, body: str, key: str,
          urgent: bool = False) -> None:
    for signup in signups:
        if signup.resident_id is not None:
            enqueue(session, signup.resident_id, kind, message(body), f"{key}:{signup.id}",
                    urgent=urgent)


def edit(session: Session, config: Config, meeting: Meeting, now: datetime, *,
         starts_at: datetime | None = None, ends_at: datetime | None = None,
         place: str | None = None) -> None:
    """Change time or place; everyone signed up is told, reminders move with the time."""
    starts, ends = starts_at or meeting.starts_at, ends_at or meeting.ends_at
    if ends <= starts:
        raise MeetingError("meeting_ends_before_start")
    meeting.starts_at, meeting.ends_at = starts, ends
    meeting.signup_deadline = min(meeting.signup_deadline, starts)
    if place:
        meeting.place = place.strip()[:128]
    people = _signups(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    _tell(session, people, "meeting_changed", text("meeting_changed", title=meeting.title,
                                                  when_where=when_where(config, meeting)),
          f"meeting:{meeting.id}:changed:{now:%Y%m%d%H%M%S}")
    for signup in people:
        if signup.status is SignupStatus.CONFIRMED:
            _unremind(session, meeting, signup)
            schedule_reminders(session, config, meeting, signup, now, refresh=True)


def cancel(session: Session, config: Config, meeting: Meeting, now: datetime) -> None:
    """Cancel the meeting; sign-ups are told (urgently when it was about to start)."""
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        raise MeetingError("meeting_not_open")
    meeting.status = MeetingStatus.CANCELLED
    people = _signups(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    _tell(session, people, "meeting_cancelled",
          text("meeting_cancelled", title=meeting.title, when=local(config, meeting.starts_at)),
          f"meeting:{meeting.id}:cancelled", urgent=meeting.starts_at - now <= URGENT_WITHIN)
    cancel_reminders(session, f"meeting:{meeting.id}:remind")


def set_capacity(session: Session, config: Config, meeting: Meeting, capacity: int,
                 now: datetime) -> list[Signup]:
    """Change capacity; excess confirmed people move to the waitlist, newest first (told)."""
    meeting = _lock(session, meeting.id)
    if capacity < 0 or (capacity and meeting.reserved_seats >= capacity):
        raise MeetingError("meeting_bad_capacity")
    seats = capacity - meeting.reserved_seats if capacity else None
    confirmed = _signups(session, meeting, SignupStatus.CONFIRMED)
    moved = []
    if seats is not None and len(confirmed) > seats:
        for signup in reversed(confirmed[seats:]):
            signup.status = SignupStatus.WAITLISTED
            _unremind(session, meeting, signup)
            moved.append(signup)
        meeting.confirmed_count = seats
        session.flush()
    meeting.capacity = capacity
    _tell(session, moved, "meeting_waitlisted", text("meeting_moved_to_waitlist",
                                                     title=meeting.title),
          f"meeting:{meeting.id}:demoted:{now:%Y%m%d%H%M%S}")
    promote(session, config, meeting, now)
    return moved


# --- sign-ups ---------------------------------------------------------------------

def _lock(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id, with_for_update=True, populate_existing=True)
    if meeting is None:
        raise MeetingError("meeting_not_found")
    return meeting


def _seats(meeting: Meeting) -> int | None:
    return meeting.capacity - meeting.reserved_seats if meeting.capacity else None


def in_audience(session: Session, meeting: Meeting, resident: Resident) -> bool:
    query = broadcasts.audience_query(meeting.audience).where(Resident.id == resident.id)
    return session.scalar(query) is not None


def upcoming(session: Session, resident: Resident, now: datetime) -> list[Meeting]:
    """Published meetings still to come whose audience includes the resident."""
    candidates = session.scalars(select(Meeting).where(
        Meeting.status == MeetingStatus.PUBLISHED, Meeting.starts_at > now,
        Meeting.community_id == resident.community_id).order_by(Meeting.starts_at, Meeting.id)
        .limit(200))
    return [m for m in candidates if m.audience.get("type") == "community"
            or in_audience(session, m, resident)]


def _new_code(session: Session, meeting_id: int) -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if session.scalar(select(Signup.id).where(Signup.meeting_id == meeting_id,
                                                  Signup.checkin_code == code)) is None:
            return code


def check_open(session: Session, config: Config, meeting: Meeting, resident: Resident,
               now: datetime) -> None:
    """Refuse sign-ups to meetings that are not open to this resident now."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise MeetingError("signup_cancelled_meeting")
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise MeetingError("signup_not_published")
    if meeting.starts_at <= now:
        raise MeetingError("signup_past")
    if meeting.signup_deadline <= now:
        raise MeetingError("signup_deadline", when=local(config, meeting.signup_deadline))
    if not in_audience(session, meeting, resident):
        raise MeetingError("signup_not_in_audience")


def refuse_twice(session: Session, meeting: Meeting, resident: Resident,
                 proxy_name: str | None) -> None:
    """Nobody is signed up twice (the same family member neither)."""
    mine = session.scalar(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.resident_id == resident.id,
        Signup.status != SignupStatus.CANCELLED,
        Signup.proxy_name.is_(None) if proxy_name is None else Signup.proxy_name == proxy_name))
    if mine is not None:
        raise MeetingError("signup_twice", status=text(f"signup_status_{mine.status.value}"))


def sign_up(session: Session, config: Config, meeting_id: int, resident: Resident, now: datetime,
            *, proxy_name: str | None = None, waitlist: bool = False,
            registered_by: str | None = None) -> Signup:
    """Confirm a seat, or join the waitlist when `waitlist` (else refuse when full)."""
    meeting = _lock(session, meeting_id)
    check_open(session, config, meeting, resident, now)
    if proxy_name and not meeting.allow_proxy:
        raise MeetingError("signup_no_proxy")
    refuse_twice(session, meeting, resident, proxy_name)
    seats = _seats(meeting)
    full = seats is not None and meeting.confirmed_count >= seats
    if full and not waitlist:
        raise MeetingError("signup_full")
    signup = Signup(meeting_id=meeting.id, resident_id=resident.id, proxy_name=proxy_name,
                    status=SignupStatus.WAITLISTED if full else SignupStatus.CONFIRMED,
                    checkin_code=_new_code(session, meeting.id), registered_by=registered_by,
                    created_at=now)
    session.add(signup)
    if not full:
        meeting.confirmed_count += 1
    session.flush()
    if signup.status is SignupStatus.CONFIRMED:
        schedule_reminders(session, config, meeting, signup, now)
        _capacity_alert(session, config, meeting)
    return signup


def cancel_signup(session: Session, config: Config, signup: Signup, now: datetime) -> None:
    """Withdraw; a freed seat goes to the first person on the waitlist."""
    meeting = _lock(session, signup.meeting_id)
    session.refresh(signup)
    if signup.status is SignupStatus.CANCELLED:
        raise MeetingError("cancel_not_signed_up")
    was_confirmed = signup.status is SignupStatus.CONFIRMED
    signup.status, signup.cancelled_at = SignupStatus.CANCELLED, now
    if was_confirmed:
        meeting.confirmed_count -= 1
        _unremind(session, meeting, signup)
        session.flush()
        promote(session, config, meeting, now)


def promote(session: Session, config: Config, meeting: Meeting, now: datetime) -> list[Signup]:
    """Fill free seats from the waitlist in arrival order; each promoted person is told."""
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.starts_at <= now:
        return []
    seats = _seats(meeting)
    waiting = _signups(session, meeting, SignupStatus.WAITLISTED)
    free = len(waiting) if seats is None else max(0, seats - meeting.confirmed_count)
    promoted = waiting[:free]
    for signup in promoted:
        signup.status, signup.promoted_at = SignupStatus.CONFIRMED, now
        meeting.confirmed_count += 1
        session.flush()
        schedule_reminders(session, config, meeting, signup, now)
    _tell(session, promoted, "meeting_promoted", text(
        "meeting_promoted", title=meeting.title, when_where=when_where(config, meeting)),
        f"meeting:{meeting.id}:promoted")
    return promoted


def schedule_reminders(session: Session, config: Config, meeting: Meeting, signup: Signup,
                       now: datetime, refresh: bool = False) -> None:
    """24 h and 1 h before (per meeting type), never after the start, never twice."""
    if signup.resident_id is None:
        return
    hours = (config.get_path("meetings.reminder_hours") or {})
    offsets = hours.get(meeting.type.value, hours.get("default", [24, 1]))
    stamp = f":{meeting.starts_at:%Y%m%d%H%M}" if refresh else ""
    for offset in offsets:
        due = meeting.starts_at - timedelta(hours=offset)
        if due <= now:
            continue
        body = text("meeting_reminder", title=meeting.title, when_where=when_where(config, meeting),
                    code=signup.checkin_code, who=signup.proxy_name or "",
                    qr=qr_url(config, meeting.id, signup.checkin_code))
        remind(session, signup.resident_id, "meeting_reminder", message(body, {
            "title": meeting.title, "time": local(config, meeting.starts_at),
            "place": meeting.place, "code": signup.checkin_code}),
            due, f"meeting:{meeting.id}:remind-{offset:g}h:{signup.id}{stamp}",
            expires_at=meeting.starts_at)


def _unremind(session: Session, meeting: Meeting, signup: Signup) -> None:
    for reminder in session.scalars(select(Reminder).where(
            Reminder.dedup_key.startswith(f"meeting:{meeting.id}:remind-", autoescape=True),
            Reminder.done.is_(False))):
        if reminder.dedup_key.split(":")[3] == str(signup.id):
            reminder.done, reminder.outcome = True, "cancelled"


def _capacity_alert(session: Session, config: Config, meeting: Meeting) -> None:
    seats = _seats(meeting)
    if not seats or meeting.organiser_id is None:
        return
    percent = 100 * meeting.confirmed_count // seats
    level = max((lvl for lvl in ALERT_LEVELS if percent >= lvl), default=0)
    if level > meeting.alerted_percent:
        meeting.alerted_percent = level
        enqueue(session, meeting.organiser_id, "meeting_capacity", message(text(
            "meeting_capacity_alert", title=meeting.title, percent=level,
            n=meeting.confirmed_count, seats=seats)), f"meeting:{meeting.id}:capacity:{level}")


# --- at the meeting -------------------------------------------------------------

def check_in(session: Session, meeting: Meeting, code: str, now: datetime) -> Signup:
    """Mark the holder of `code` present at this meeting."""
    signup = session.scalar(select(Signup).where(Signup.meeting_id == meeting.id,
                                                 Signup.checkin_code == code.strip()))
    if signup is None or signup.status is not SignupStatus.CONFIRMED:
        other = session.scalar(select(Signup.meeting_id).where(Signup.checkin_code == code.strip(),
                                                               Signup.meeting_id != meeting.id))
        raise MeetingError("checkin_other_meeting" if other else "checkin_wrong_code")
    if signup.checked_in_at is not None:
        raise MeetingError("checkin_reused")
    signup.checked_in_at = now
    return signup


def walk_in(session: Session, meeting: Meeting, name: str, by: str, now: datetime) -> Signup:
    """Someone who came without signing up (reserved seats first, then any free seat)."""
    meeting = _lock(session, meeting.id)
    if meeting.capacity and meeting.confirmed_count >= meeting.capacity:
        raise MeetingError("signup_full")
    signup = Signup(meeting_id=meeting.id, resident_id=None, proxy_name=name.strip()[:32],
                    status=SignupStatus.CONFIRMED, checkin_code=_new_code(session, meeting.id),
                    walk_in=True, registered_by=by, checked_in_at=now, created_at=now)
    meeting.confirmed_count += 1
    session.add(signup)
    session.flush()
    return signup


def close(session: Session, config: Config, meeting: Meeting, *, minutes: str,
          decisions: list[dict], now: datetime, attendee_count: int | None = None) -> None:
    """Record minutes and decisions (议事结果); push them; note them on linked reports."""
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise MeetingError("meeting_not_open")
    checked_in = session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id == meeting.id, Signup.checked_in_at.is_not(None))) or 0
    meeting.status, meeting.closed_at = MeetingStatus.CLOSED, now
    meeting.minutes, meeting.decisions = minutes.strip(), decisions
    meeting.attendee_count = checked_in if attendee_count is None else attendee_count
    people = _signups(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    summary = "；".join(f"{d.get('text', '')}（{d.get('owner', '')}）" for d in decisions) or minutes
    _tell(session, people, "meeting_minutes", text("meeting_minutes", title=meeting.title,
                                                   n=meeting.attendee_count, summary=summary[:300]),
          f"meeting:{meeting.id}:minutes")
    for item in meeting.agenda:
        report = session.get(Report, item.get("report_id")) if item.get("report_id") else None
        if report is not None:
            session.add(ReportEvent(report_id=report.id, actor=text("actor_meeting"),
                                    note=text("event_meeting_decided", title=meeting.title,
                                              summary=summary[:200]), created_at=now))
