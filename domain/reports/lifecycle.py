"""A report's life: filed → accepted → in progress → resolved → closed (or rejected,
referred, merged), its escalation state, and everyone who is told.

Every change goes through here, whether it comes from chat, the console, Open311
or a scheduler job; staff changes write one audit row each.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from core.texts import text
from core.words import clip
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.reports import clock, notify, places, visits
from domain.reports.categories import category
from domain.reports.routing import may_work, route, staff_title
from domain.unit import Unit, use_case
from models import (
    OPEN_STATUSES,
    Report,
    ReportEvent,
    ReportFollower,
    ReportPhoto,
    Resident,
    Status,
    Tier,
)

TRANSITIONS: dict[Status, set[Status]] = {
    Status.SUBMITTED: {Status.ACCEPTED, Status.IN_PROGRESS, Status.REJECTED, Status.REFERRED,
                       Status.DUPLICATE},
    Status.ACCEPTED: {Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED, Status.REFERRED,
                      Status.DUPLICATE},
    Status.IN_PROGRESS: {Status.RESOLVED, Status.REFERRED},
    Status.RESOLVED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.REFERRED: {Status.IN_PROGRESS},  # a 私事 whose resident asks for mediation
}
MAX_NOTE = 500
MAX_PHOTOS = 9
NOT_ON_TIME, WARNED, ESCALATED = 0, 1, 2


# --- filing -------------------------------------------------------------------------

@use_case
def file(uow: Unit, *, resident: Resident | None, community_id: int, building_id: int | None,
         category_code: str, description: str, address: str | None, lat: float | None,
         lng: float | None, photos: list[dict], source: str) -> Report:
    """File a report: code, tier and SLA from the category, routed, the assignee told."""
    cat = category(uow.config, category_code)
    if cat is None:
        raise Refused("report_bad_category")
    description = (description or "").strip()
    if not description:
        raise Refused("bad_description_empty")
    if len(description) > uow.config.reports.max_description:
        raise Refused("bad_description_long", limit=uow.config.reports.max_description)
    now = uow.now
    grid_id = places.grid_at(uow.session, community_id, lat, lng) if building_id is None else None
    grid_id, assignee_id, title = route(uow.session, community_id, building_id, cat.tier, grid_id)
    report = Report(resident_id=resident.id if resident else None, community_id=community_id,
                    grid_id=grid_id, building_id=building_id, category=cat.code, tier=cat.tier,
                    description=description, address=clip(address, 128), lat=lat, lng=lng,
                    assignee_id=assignee_id, assignee_title=title, source=source,
                    public_id=secrets.token_hex(8),
                    accept_due_at=clock.due(uow.config, now, cat.accept_hours, cat.working),
                    resolve_due_at=clock.due(uow.config, now, cat.resolve_hours, cat.working),
                    next_check_at=clock.warn_point(uow.config, now, cat.accept_hours, cat.working),
                    updated_at=now, created_at=now)
    uow.session.add(report)
    uow.session.flush()
    report.code = f"BS{report.id:06d}"
    for photo in photos[:uow.config.reports.max_photos]:
        uow.session.add(ReportPhoto(report_id=report.id, media_id=clip(photo["media_id"], 128) or "",
                                    pic_url=clip(photo.get("pic_url"), 512), created_at=now))
    uow.session.add(ReportEvent(report_id=report.id, to_status=Status.SUBMITTED, created_at=now,
                                actor=text("actor_resident") if resident else source))
    if cat.tier is Tier.PRIVATE:  # 私事: advice and referral; the resident may still ask for 调解
        move(uow, report, Status.REFERRED, actor=text("actor_system"),
             note=cat.advice or text("private_default_advice"), skip_resident=resident.id if resident else None)
    else:
        notify.assigned_or_unassigned(uow, report)
    return report


@use_case
def follow(uow: Unit, report: Report, resident: Resident) -> bool:
    """+1: the resident will receive this report's updates. False if already following."""
    if report.resident_id == resident.id or uow.session.scalar(select(ReportFollower.id).where(
            ReportFollower.report_id == report.id, ReportFollower.resident_id == resident.id)):
        return False
    uow.session.add(ReportFollower(report_id=report.id, resident_id=resident.id, created_at=uow.now))
    uow.session.add(ReportEvent(report_id=report.id, actor=text("actor_resident"),
                                note=text("event_plus_one"), created_at=uow.now))
    return True


# --- the lifecycle ------------------------------------------------------------------------

def move(uow: Unit, report: Report, to: Status, *, actor: str, note: str | None,
          skip_resident: int | None = None) -> ReportEvent:
    """Move the report to `to` (if allowed), record it and tell the reporter and followers
    (except `skip_resident`, who caused the change and is answered directly)."""
    if to not in TRANSITIONS.get(report.status, set()):
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    now = uow.now
    before = report.status
    report.status, report.updated_at = to, now
    if to is Status.ACCEPTED or (to is Status.IN_PROGRESS and report.accepted_at is None):
        report.accepted_at = now
    if to is Status.RESOLVED:
        report.resolved_at = now
    if to in (Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE, Status.RESOLVED):
        report.next_check_at = None  # the clock stops
    if to in (Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE):
        report.closed_at = now
    event = ReportEvent(report_id=report.id, actor=actor[:64], from_status=before, to_status=to,
                        note=clip(note, MAX_NOTE), created_at=now)
    uow.session.add(event)
    uow.session.flush()
    notify.update(uow, report, event, skip_resident)
    return event


def _check(actor: Actor, report: Report) -> None:
    if not may_work(actor, report):
        raise Refused("not_allowed")


def record_change(uow: Unit, actor: Actor, action: str, report: Report, before: dict, after: dict,
           note: str | None = None) -> None:
    audit.record(uow, actor, action, f"report:{report.code}", before, after, note)


@use_case
def accept(uow: Unit, actor: Actor, report: Report, note: str | None = None) -> Report:
    """The assignee (or staff) takes the report on; the resolve deadline starts its own clock."""
    _check(actor, report)
    move(uow, report, Status.ACCEPTED, actor=actor.display, note=note)
    restart_clock(uow, report, resolving=True, fresh=False)
    record_change(uow, actor, "report_accept", report, {"status": "submitted"}, {"status": "accepted"})
    return report


@use_case
def progress(uow: Unit, actor: Actor, report: Report, note: str) -> Report:
    """A progress note; a new or accepted report moves to in progress. Reporters are told."""
    _check(actor, report)
    note = (note or "").strip()
    if not note:
        raise Refused("c_note_required")
    before = report.status.value
    if report.status in (Status.SUBMITTED, Status.ACCEPTED):
        move(uow, report, Status.IN_PROGRESS, actor=actor.display, note=note)
    elif report.status in (Status.IN_PROGRESS, Status.RESOLVED):
        event = ReportEvent(report_id=report.id, actor=actor.display[:64], note=clip(note, MAX_NOTE),
                            created_at=uow.now)
        report.updated_at = uow.now
        uow.session.add(event)
        uow.session.flush()
        notify.update(uow, report, event)
    else:
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    record_change(uow, actor, "report_update", report, {"status": before}, {"status": report.status.value},
           note[:MAX_NOTE])
    return report


CLOSING = {Status.RESOLVED: "report_resolved", Status.REJECTED: "report_rejected",
           Status.REFERRED: "report_referred"}


@use_case
def finish(uow: Unit, actor: Actor, report: Report, to: Status, note: str) -> Report:
    """Resolve, reject or refer, with the note the reporter reads."""
    _check(actor, report)
    note = (note or "").strip()
    if to not in CLOSING:
        raise Refused("c_bad_request")
    if not note:
        raise Refused("c_note_required")
    before = report.status.value
    move(uow, report, to, actor=actor.display, note=note)
    record_change(uow, actor, CLOSING[to], report, {"status": before}, {"status": to.value}, note[:MAX_NOTE])
    return report


@use_case
def add_result_photo(uow: Unit, actor: Actor, report: Report, media_id: str | None,
                     pic_url: str | None) -> int:
    """A photo of the work done; returns how many result photos the report has."""
    _check(actor, report)
    if not media_id:
        raise Refused("photo_unreadable")
    count = sum(1 for p in report.photos if p.purpose == "result")
    if count >= MAX_PHOTOS:
        raise Refused("too_many_photos", limit=MAX_PHOTOS)
    report.photos.append(ReportPhoto(media_id=clip(media_id, 128), pic_url=clip(pic_url, 512),
                                     purpose="result", created_at=uow.now))
    return count + 1


@use_case
def assign(uow: Unit, actor: Actor, report: Report, *, grid_id: int | None,
           assignee_id: int | None, title: str) -> Report:
    """Hand an open report to a grid worker (or community staff: no assignee); they are told."""
    _check(actor, report)
    if report.status not in OPEN_STATUSES:
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    now = uow.now
    before = {"grid_id": report.grid_id, "assignee": report.assignee_title}
    report.grid_id, report.assignee_id, report.assignee_title = grid_id, assignee_id, title[:64]
    report.updated_at = now
    uow.session.add(ReportEvent(report_id=report.id, actor=actor.display[:64],
                                note=text("event_transferred", title=title), created_at=now))
    if assignee_id is not None:
        notify.assigned(uow, report, assignee_id,
                        f"report:{report.id}:assigned:{assignee_id}:{now:%Y%m%d%H%M%S}")
    record_change(uow, actor, "report_assign", report, before,
           {"grid_id": report.grid_id, "assignee": report.assignee_title})
    return report


def to_community_staff(uow: Unit, report: Report) -> tuple[None, None, str]:
    return None, None, staff_title(uow.session, report.community_id)


@use_case
def merge(uow: Unit, actor: Actor, report: Report, original: Report) -> Report:
    """Close `report` as a duplicate of `original`; its reporter then follows the original."""
    _check(actor, report)
    if original.id == report.id or original.community_id != report.community_id:
        raise Refused("report_not_found", code=original.code or "")
    before = report.status.value
    move(uow, report, Status.DUPLICATE, actor=actor.display,
          note=text("event_merged", code=original.code))
    report.duplicate_of_id = original.id
    if report.resident_id is not None:
        follow(uow, original, uow.session.get(Resident, report.resident_id))
    record_change(uow, actor, "report_merge", report, {"status": before},
           {"status": "duplicate", "duplicate_of": original.code})
    return report


@use_case
def set_published(uow: Unit, actor: Actor, report: Report, shown: bool) -> Report:
    """Staff approve showing the description and photos in the public feed (or withdraw it).
    Private matters and non-public categories are never shown."""
    if not actor.is_staff_of(report.community_id):
        raise Refused("not_allowed")
    cat = category(uow.config, report.category)
    if shown and (report.tier is Tier.PRIVATE or cat is None or not cat.public):
        raise Refused("c_publish_private")
    before = report.published
    report.published = shown
    record_change(uow, actor, "report_publish", report, {"published": before}, {"published": shown})
    return report


# --- the reporter's answer ----------------------------------------------------------------

@use_case
def confirm_solved(uow: Unit, resident: Resident, report: Report) -> Report:
    """The reporter says it is solved: closed (a rating is asked next)."""
    if report.resident_id != resident.id or report.status is not Status.RESOLVED:
        raise Refused("no_report_awaiting")
    move(uow, report, Status.CLOSED, actor=text("actor_resident"),
          note=text("event_confirmed_solved"), skip_resident=resident.id)
    return report


@use_case
def reopen(uow: Unit, resident: Resident, report: Report) -> Report:
    """The reporter says it is not solved: back in progress, escalated to community staff."""
    if report.resident_id != resident.id or report.status is not Status.RESOLVED:
        raise Refused("no_report_awaiting")
    move(uow, report, Status.IN_PROGRESS, actor=text("actor_resident"),
          note=text("event_not_solved"), skip_resident=resident.id)
    escalate(uow, report, text("escalate_not_solved"))
    restart_clock(uow, report, resolving=True, fresh=True)
    visits.open_visit(uow, report, "not_solved")
    return report


@use_case
def rate(uow: Unit, resident: Resident, report: Report, stars: int,
         comment: str | None = None) -> Report:
    """1-5 stars (and an optional comment) on the reporter's own closed report."""
    if report.resident_id != resident.id or not 1 <= stars <= 5:
        raise Refused("bad_rating")
    report.rating = stars
    if comment:
        report.rating_comment = clip(comment, 200)
    if stars <= 2:
        visits.open_visit(uow, report, "low_rating")
    return report


@use_case
def comment(uow: Unit, resident: Resident, report: Report, words: str) -> Report:
    if report.resident_id != resident.id:
        raise Refused("report_not_found", code=report.code)
    report.rating_comment = clip(words, 200)
    return report


# --- escalation and housekeeping ------------------------------------------------------------

def escalate(uow: Unit, report: Report, why: str) -> None:
    """Hand the matter up: community staff are told, the timeline says so."""
    report.escalation = ESCALATED
    uow.session.add(ReportEvent(report_id=report.id, actor=text("actor_system"),
                                note=text("event_escalated", why=why), created_at=uow.now))
    notify.escalated(uow, report, why)


@use_case
def auto_close(uow: Unit, report: Report) -> None:
    """A resolved report nobody confirmed within the feedback period (a sample is called back)."""
    move(uow, report, Status.CLOSED, actor=text("actor_system"), note=text("auto_closed"))
    if visits.sampled(uow.config, report):
        visits.open_visit(uow, report, "sampled")


def restart_clock(uow: Unit, report: Report, *, resolving: bool, fresh: bool,
                  start: datetime | None = None) -> None:
    """A new window: the resolve window once accepted (from filing, or `fresh` from now for a
    reopened report, or from `start`: the end of the meeting deliberating it), or a new
    accept window (sent back to triage, taken over)."""
    cat = category(uow.config, report.category)
    hours = (cat.resolve_hours if resolving else cat.accept_hours) if cat else 24
    working = cat.working if cat else True
    start = start or (uow.now if fresh or not resolving else report.created_at)
    if resolving:
        report.resolve_due_at = clock.due(uow.config, start, hours, working)
    else:
        report.accept_due_at = clock.due(uow.config, start, hours, working)
    report.escalation = NOT_ON_TIME
    report.next_check_at = max(clock.warn_point(uow.config, start, hours, working), uow.now)
