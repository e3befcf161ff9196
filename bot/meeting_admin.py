"""Staff operations on meetings: create, publish (notice broadcast), edit, cancel,
change capacity, check people in, register walk-ins, close with minutes.

Built on the sign-up rules in `bot.meetings`; the console and the CLI call these.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import broadcasts
from bot.config import Config
from bot.meetings import (MeetingError, local, lock, new_code, promote, schedule_reminders,
                          signups_of, tell, unremind, when_where)
from bot.outbox import cancel_reminders
from bot.texts import text
from models import (Meeting, MeetingStatus, MeetingType, Report, ReportEvent, Signup, SignupStatus,
                    Strategy)

URGENT_WITHIN = timedelta(hours=2)

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
    people = signups_of(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    tell(session, people, "meeting_changed", text("meeting_changed", title=meeting.title,
                                                  when_where=when_where(config, meeting)),
          f"meeting:{meeting.id}:changed:{now:%Y%m%d%H%M%S}")
    for signup in people:
        if signup.status is SignupStatus.CONFIRMED:
            unremind(session, meeting, signup)
            schedule_reminders(session, config, meeting, signup, now, refresh=True)

def cancel(session: Session, config: Config, meeting: Meeting, now: datetime) -> None:
    """Cancel the meeting; sign-ups are told (urgently when it was about to start)."""
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        raise MeetingError("meeting_not_open")
    meeting.status = MeetingStatus.CANCELLED
    people = signups_of(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    tell(session, people, "meeting_cancelled",
          text("meeting_cancelled", title=meeting.title, when=local(config, meeting.starts_at)),
          f"meeting:{meeting.id}:cancelled", urgent=meeting.starts_at - now <= URGENT_WITHIN)
    cancel_reminders(session, f"meeting:{meeting.id}:remind")

def set_capacity(session: Session, config: Config, meeting: Meeting, capacity: int,
                 now: datetime) -> list[Signup]:
    """Change capacity; excess confirmed people move to the waitlist, newest first (told)."""
    meeting = lock(session, meeting.id)
    if capacity < 0 or (capacity and meeting.reserved_seats >= capacity):
        raise MeetingError("meeting_bad_capacity")
    seats = capacity - meeting.reserved_seats if capacity else None
    confirmed = signups_of(session, meeting, SignupStatus.CONFIRMED)
    moved = []
    if seats is not None and len(confirmed) > seats:
        for signup in reversed(confirmed[seats:]):
            signup.status = SignupStatus.WAITLISTED
            unremind(session, meeting, signup)
            moved.append(signup)
        meeting.confirmed_count = seats
        session.flush()
    meeting.capacity = capacity
    tell(session, moved, "meeting_waitlisted", text("meeting_moved_to_waitlist",
                                                     title=meeting.title),
          f"meeting:{meeting.id}:demoted:{now:%Y%m%d%H%M%S}")
    promote(session, config, meeting, now)
    return moved

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
    meeting = lock(session, meeting.id)
    if meeting.capacity and meeting.confirmed_count >= meeting.capacity:
        raise MeetingError("signup_full")
    signup = Signup(meeting_id=meeting.id, resident_id=None, proxy_name=name.strip()[:32],
                    status=SignupStatus.CONFIRMED, checkin_code=new_code(session, meeting.id),
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
    people = signups_of(session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    summary = "；".join(f"{d.get('text', '')}（{d.get('owner', '')}）" for d in decisions) or minutes
    tell(session, people, "meeting_minutes", text("meeting_minutes", title=meeting.title,
                                                   n=meeting.attendee_count, summary=summary[:300]),
          f"meeting:{meeting.id}:minutes")
    for item in meeting.agenda:
        report = session.get(Report, item.get("report_id")) if item.get("report_id") else None
        if report is not None:
            session.add(ReportEvent(report_id=report.id, actor=text("actor_meeting"),
                                    note=text("event_meeting_decided", title=meeting.title,
                                              summary=summary[:200]), created_at=now))
