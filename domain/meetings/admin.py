"""Staff operations on meetings: create, publish (notice broadcast), edit, cancel,
change capacity, check people in, register walk-ins, close with minutes.

Built on the sign-up rules in `domain.meetings.signups`; chat, console and CLI call
these, and each writes one audit row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.clock import local
from core.outbox import cancel_reminders
from core.texts import text
from core.words import clip
from domain import audit, broadcasts
from domain.actor import Actor
from domain.errors import Refused
from domain.meetings.signups import (
    lock,
    new_code,
    promote,
    schedule_reminders,
    sign_up,
    signups_of,
    tell,
    unremind,
    when_where,
)
from domain.reports import paths
from domain.timebank import records
from domain.unit import Unit, use_case
from models import (
    Meeting,
    MeetingStatus,
    MeetingType,
    Report,
    ReportEvent,
    Resident,
    Signup,
    SignupStatus,
)

URGENT_WITHIN = timedelta(hours=2)


def _staff(actor: Actor, community_id: int) -> None:
    if not actor.is_staff_of(community_id):
        raise Refused("not_allowed")


def _state(meeting: Meeting) -> dict:
    return {"status": meeting.status.value, "starts_at": meeting.starts_at.isoformat(),
            "place": meeting.place, "capacity": meeting.capacity}


@use_case
def create(uow: Unit, actor: Actor, *, community_id: int, type: MeetingType, title: str,
           place: str, starts_at: datetime, ends_at: datetime, capacity: int = 0,
           reserved_seats: int = 0, signup_deadline: datetime | None = None,
           audience: dict | None = None, agenda: list[dict] | None = None,
           terms: str | None = None, allow_proxy: bool = True, online_url: str | None = None,
           organiser_id: int | None = None) -> Meeting:
    """A draft meeting, validated."""
    _staff(actor, community_id)
    title, place = (title or "").strip(), (place or "").strip()
    if not title or len(title) > 64:
        raise Refused("meeting_bad_title")
    if not place and not online_url:
        raise Refused("meeting_bad_place")
    if len(place) > 128:
        raise Refused("meeting_bad_place")
    if ends_at <= starts_at:
        raise Refused("meeting_ends_before_start")
    if not 0 <= capacity <= 100_000 or reserved_seats < 0 or (capacity and reserved_seats >= capacity):
        raise Refused("meeting_bad_capacity")
    deadline = signup_deadline or starts_at
    if deadline > starts_at:
        raise Refused("meeting_bad_deadline")
    meeting = Meeting(community_id=community_id, type=type, title=title, place=place,
                      online_url=clip(online_url, 255), starts_at=starts_at, ends_at=ends_at,
                      capacity=capacity, reserved_seats=reserved_seats, confirmed_count=0,
                      signup_deadline=deadline,
                      audience=audience or {"type": "community", "id": community_id},
                      agenda=agenda or [], terms=clip(terms, 500), allow_proxy=allow_proxy,
                      organiser_id=organiser_id, created_by=actor.label[:64], decisions=[],
                      created_at=uow.now)
    uow.session.add(meeting)
    uow.session.flush()
    for report in paths.linked_reports(uow, meeting):  # 大事 brought to deliberation
        paths.deliberate(uow, report, meeting)
    audit.record(uow, actor, "meeting_create", f"meeting:{meeting.id}", None, {"title": meeting.title})
    return meeting


@use_case
def publish(uow: Unit, actor: Actor, meeting: Meeting) -> int:
    """Publish and send the notice (date, time and place in the body) to the audience;
    returns the notice's broadcast id (0: nobody follows in the audience yet)."""
    _staff(actor, meeting.community_id)
    before = _state(meeting)
    if meeting.status is not MeetingStatus.DRAFT:
        raise Refused("meeting_not_draft")
    if meeting.starts_at <= uow.now:
        raise Refused("meeting_past")
    meeting.status, meeting.published_at = MeetingStatus.PUBLISHED, uow.now
    ics = f"{uow.config.server.public_url}/meetings/{meeting.id}.ics"
    body = text("meeting_notice", title=meeting.title, when_where=when_where(uow.config, meeting),
                agenda="；".join(a.get("text", "") for a in meeting.agenda) or "—", ics=ics)
    notice = broadcasts.notice(uow, actor, title=meeting.title[:64], text=body,
                               audience=meeting.audience)
    for report in paths.linked_reports(uow, meeting):
        paths.announce(uow, report, meeting)
    audit.record(uow, actor, "meeting_publish", f"meeting:{meeting.id}", before,
                 {**_state(meeting), "notice": notice.id if notice else None})
    return notice.id if notice else 0


@use_case
def edit(uow: Unit, actor: Actor, meeting: Meeting, *, starts_at: datetime | None = None,
         ends_at: datetime | None = None, place: str | None = None,
         capacity: int | None = None) -> int:
    """Change time, place or capacity; everyone signed up is told, reminders move with the
    time; returns how many moved to the waitlist."""
    _staff(actor, meeting.community_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        raise Refused("meeting_not_open")
    before = _state(meeting)
    starts, ends = starts_at or meeting.starts_at, ends_at or meeting.ends_at
    if ends <= starts:
        raise Refused("meeting_ends_before_start")
    changed = (starts, ends) != (meeting.starts_at, meeting.ends_at) or \
        (place and place.strip() != meeting.place)
    meeting.starts_at, meeting.ends_at = starts, ends
    meeting.signup_deadline = min(meeting.signup_deadline, starts)
    if place and place.strip():
        meeting.place = place.strip()[:128]
    if changed:
        people = signups_of(uow.session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
        tell(uow, people, meeting, text("phrase_changed"),
             text("meeting_changed", title=meeting.title, when_where=when_where(uow.config, meeting)),
             f"meeting:{meeting.id}:changed:{uow.now:%Y%m%d%H%M%S}")
        for report in paths.linked_reports(uow, meeting):  # told the new time, clock moved
            paths.deliberate(uow, report, meeting)
        for signup in people:
            if signup.status is SignupStatus.CONFIRMED:
                unremind(uow.session, meeting, signup)
                schedule_reminders(uow, meeting, signup, refresh=True)
    moved = _set_capacity(uow, meeting, capacity) if capacity is not None \
        and capacity != meeting.capacity else []
    audit.record(uow, actor, "meeting_edit", f"meeting:{meeting.id}", before,
                 {**_state(meeting), "moved_to_waitlist": len(moved)})
    return len(moved)


def _set_capacity(uow: Unit, meeting: Meeting, capacity: int) -> list[Signup]:
    """Excess confirmed people move to the waitlist, newest first (told)."""
    meeting = lock(uow.session, meeting.id)
    if not 0 <= capacity <= 100_000 or (capacity and meeting.reserved_seats >= capacity):
        raise Refused("meeting_bad_capacity")
    seats = capacity - meeting.reserved_seats if capacity else None
    confirmed = signups_of(uow.session, meeting, SignupStatus.CONFIRMED)
    moved = []
    if seats is not None and len(confirmed) > seats:
        for signup in reversed(confirmed[seats:]):
            signup.status = SignupStatus.WAITLISTED
            unremind(uow.session, meeting, signup)
            moved.append(signup)
        meeting.confirmed_count = seats
        uow.session.flush()
    meeting.capacity = capacity
    tell(uow, moved, meeting, text("phrase_waitlisted"),
         text("meeting_moved_to_waitlist", title=meeting.title),
         f"meeting:{meeting.id}:demoted:{uow.now:%Y%m%d%H%M%S}")
    promote(uow, meeting)
    return moved


@use_case
def cancel(uow: Unit, actor: Actor, meeting: Meeting) -> None:
    """Cancel the meeting; sign-ups are told (urgently when it was about to start)."""
    _staff(actor, meeting.community_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        raise Refused("meeting_not_open")
    before = _state(meeting)
    meeting.status = MeetingStatus.CANCELLED
    people = signups_of(uow.session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    tell(uow, people, meeting, text("phrase_cancelled"),
         text("meeting_cancelled", title=meeting.title, when=local(uow.config, meeting.starts_at)),
         f"meeting:{meeting.id}:cancelled", urgent=meeting.starts_at - uow.now <= URGENT_WITHIN)
    cancel_reminders(uow.session, f"meeting:{meeting.id}:remind")
    for report in paths.linked_reports(uow, meeting):
        paths.meeting_cancelled(uow, report, meeting)
    audit.record(uow, actor, "meeting_cancel", f"meeting:{meeting.id}", before, _state(meeting))


@use_case
def check_in(uow: Unit, actor: Actor, meeting: Meeting, code: str) -> Signup:
    """Mark the holder of `code` present at this meeting."""
    _staff(actor, meeting.community_id)
    code = (code or "").strip()[:8]
    signup = uow.session.scalar(select(Signup).where(Signup.meeting_id == meeting.id,
                                                     Signup.checkin_code == code))
    if signup is None or signup.status is not SignupStatus.CONFIRMED:
        other = uow.session.scalar(select(Signup.meeting_id).where(
            Signup.checkin_code == code, Signup.meeting_id != meeting.id).limit(1))
        raise Refused("checkin_other_meeting" if other else "checkin_wrong_code")
    if signup.checked_in_at is not None:
        raise Refused("checkin_reused")
    signup.checked_in_at = uow.now
    audit.record(uow, actor, "meeting_checkin", f"meeting:{meeting.id}", None,
                 {"signup": signup.id})
    if meeting.type is MeetingType.VOLUNTEER and signup.resident_id and not signup.proxy_name:
        records.propose_for_activity(uow, uow.session.get(Resident, signup.resident_id), meeting)
    return signup


@use_case
def walk_in(uow: Unit, actor: Actor, meeting: Meeting, name: str) -> Signup:
    """Someone who came without signing up (reserved seats first, then any free seat)."""
    _staff(actor, meeting.community_id)
    name = (name or "").strip()[:32]
    if not name:
        raise Refused("c_name_required")
    meeting = lock(uow.session, meeting.id)
    if meeting.capacity and meeting.confirmed_count >= meeting.capacity:
        raise Refused("signup_full")
    signup = Signup(meeting_id=meeting.id, resident_id=None, proxy_name=name,
                    status=SignupStatus.CONFIRMED, checkin_code=new_code(uow.session, meeting.id),
                    walk_in=True, registered_by=actor.label[:64], checked_in_at=uow.now,
                    created_at=uow.now)
    meeting.confirmed_count += 1
    uow.session.add(signup)
    uow.session.flush()
    audit.record(uow, actor, "meeting_walk_in", f"meeting:{meeting.id}", None,
                 {"signup": signup.id, "name": name})
    return signup


@use_case
def close(uow: Unit, actor: Actor, meeting: Meeting, *, minutes: str, decisions: list[dict],
          attendee_count: int | None = None) -> int:
    """Record minutes and decisions (议事结果), push them, note them on linked reports;
    returns the attendee count."""
    _staff(actor, meeting.community_id)
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise Refused("meeting_not_open")
    if meeting.starts_at > uow.now:
        raise Refused("meeting_not_started")
    if attendee_count is not None and not 0 <= attendee_count <= 100_000:
        raise Refused("c_bad_attendees")
    before = _state(meeting)
    checked_in = uow.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id == meeting.id, Signup.checked_in_at.is_not(None))) or 0
    meeting.status, meeting.closed_at = MeetingStatus.CLOSED, uow.now
    meeting.minutes, meeting.decisions = (minutes or "").strip()[:5000], decisions
    meeting.attendee_count = checked_in if attendee_count is None else attendee_count
    people = signups_of(uow.session, meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    summary = "；".join(f"{d.get('text', '')}（{d.get('owner', '')}）" for d in decisions) \
        or meeting.minutes
    tell(uow, people, meeting, text("phrase_minutes"),
         text("meeting_minutes", title=meeting.title, n=meeting.attendee_count, summary=summary[:300]),
         f"meeting:{meeting.id}:minutes", note=summary)
    for item in meeting.agenda:
        report = uow.session.get(Report, item.get("report_id")) if item.get("report_id") else None
        if report is not None:
            uow.session.add(ReportEvent(report_id=report.id, actor=text("actor_meeting"),
                                        note=text("event_meeting_decided", title=meeting.title,
                                                  summary=summary[:200]), created_at=uow.now))
    audit.record(uow, actor, "meeting_close", f"meeting:{meeting.id}", before,
                 {**_state(meeting), "attendees": meeting.attendee_count})
    return meeting.attendee_count


@use_case
def proxy_signup(uow: Unit, actor: Actor, meeting: Meeting, resident: Resident,
                 name: str | None = None) -> Signup:
    """代报名: staff sign up a resident (or a family member by name) who has no phone."""
    _staff(actor, meeting.community_id)
    signup = sign_up(uow, meeting.id, resident, proxy_name=name or None, waitlist=True,
                     registered_by=actor.label[:64])
    audit.record(uow, actor, "meeting_proxy_signup", f"meeting:{meeting.id}", None,
                 {"signup": signup.id, "status": signup.status.value})
    return signup
