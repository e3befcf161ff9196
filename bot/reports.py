"""Reports domain: categories, routing, the status lifecycle and its notifications.

Used alike by the chat handlers, the grid workers' commands, Open311, the
console and the scheduler, so a report behaves the same wherever it is touched.
"""
from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import PROJECT_ROOT, Config
from bot.inbound import normalise
from bot.outbox import enqueue, message
from bot.texts import text
from models import (Building, Community, Grid, GridWorker, Report, ReportEvent, ReportFollower,
                    ReportPhoto, Resident, Status, Tier)
from models.report import OPEN_STATUSES

KIND = "report_status"
# Photos are stored and served only as these types (anything else is refused).
SAFE_IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
                    "image/webp": ".webp"}
STAFF_TITLE_KEY = "community_staff_title"

TRANSITIONS: dict[Status, set[Status]] = {
    Status.SUBMITTED: {Status.ACCEPTED, Status.IN_PROGRESS, Status.REJECTED, Status.REFERRED,
                       Status.DUPLICATE},
    Status.ACCEPTED: {Status.IN_PROGRESS, Status.RESOLVED, Status.REJECTED, Status.REFERRED,
                      Status.DUPLICATE},
    Status.IN_PROGRESS: {Status.RESOLVED, Status.REFERRED},
    Status.RESOLVED: {Status.CLOSED, Status.IN_PROGRESS},
}


class ReportError(ValueError):
    """An operation the report's state or the actor's rights do not allow."""


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    tier: Tier
    keywords: tuple[str, ...]
    accept_hours: float
    resolve_hours: float
    advice: str | None


def media_dir(config: Config) -> Path:
    folder = Path(config.get_path("storage.media_dir") or "var/media")
    return folder if folder.is_absolute() else PROJECT_ROOT / folder


def categories(config: Config) -> list[Category]:
    sla = config.get_path("reports.sla") or {}
    out = []
    for item in config.get_path("reports.categories") or []:
        tier = Tier(item["tier"])
        defaults = sla.get(tier.value, {})
        out.append(Category(item["code"], item["name"], tier, tuple(item.get("keywords") or ()),
                            float(item.get("accept_hours", defaults.get("accept_hours", 24))),
                            float(item.get("resolve_hours", defaults.get("resolve_hours", 72))),
                            item.get("advice")))
    return out


def category(config: Config, code: str) -> Category | None:
    return next((c for c in categories(config) if c.code == code), None)


def suggest(config: Config, words: str) -> Category | None:
    """The category whose keywords occur most in the text (substring match: Chinese
    is written without spaces, and a keyword like 路灯 matches inside 小区路灯坏了)."""
    scored = [(sum(len(k) for k in c.keywords if k in words), -i, c)
              for i, c in enumerate(categories(config))]
    best = max(scored, key=lambda t: (t[0], t[1]), default=None)
    return best[2] if best and best[0] > 0 else None


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def community_at(session: Session, lat: float, lng: float) -> Community | None:
    """The nearest community whose service area contains the point."""
    inside = [(distance_m(lat, lng, c.center_lat, c.center_lng), c)
              for c in session.scalars(select(Community).where(Community.center_lat.is_not(None)))
              if distance_m(lat, lng, c.center_lat, c.center_lng) <= (c.radius_m or 0)]
    return min(inside, key=lambda t: t[0])[1] if inside else None


def route(session: Session, community_id: int, building_id: int | None) -> tuple[int | None, int | None, str]:
    """(grid id, assignee resident id, title shown to residents): the building's grid
    worker, else community staff."""
    grid_id = session.scalar(select(Building.grid_id).where(Building.id == building_id)) \
        if building_id else None
    if grid_id is not None:
        worker = session.scalars(select(GridWorker).where(GridWorker.grid_id == grid_id)
                                 .order_by(GridWorker.id)).first()
        if worker is not None:
            return grid_id, worker.resident_id, worker.title
    name = session.scalar(select(Community.name).where(Community.id == community_id)) or ""
    return grid_id, None, text(STAFF_TITLE_KEY, community=name)


def nearby_open(session: Session, config: Config, *, community_id: int, category_code: str,
                lat: float | None, lng: float | None, building_id: int | None,
                now: datetime) -> Report | None:
    """An open report of the same category nearby (or in the same building) this week."""
    days = config.get_path("reports.duplicate_days", 7)
    radius = config.get_path("reports.duplicate_radius_m", 100)
    candidates = session.scalars(select(Report).where(
        Report.community_id == community_id, Report.category == category_code,
        Report.status.in_(OPEN_STATUSES), Report.created_at >= now - timedelta(days=days))
        .order_by(Report.created_at.desc()).limit(200))
    for report in candidates:
        if building_id is not None and report.building_id == building_id:
            return report
        if None not in (lat, lng, report.lat, report.lng) and \
                distance_m(lat, lng, report.lat, report.lng) <= radius:
            return report
    return None


def create(session: Session, config: Config, *, resident: Resident | None, community_id: int,
           building_id: int | None, category_code: str, description: str, address: str | None,
           lat: float | None, lng: float | None, photos: list[dict], source: str,
           now: datetime) -> Report:
    """File a report: code, tier and SLA from the category, routed, timeline started."""
    cat = category(config, category_code)
    if cat is None:
        raise ReportError(f"unknown category {category_code!r}")
    grid_id, assignee_id, title = route(session, community_id, building_id)
    report = Report(resident_id=resident.id if resident else None, community_id=community_id,
                    grid_id=grid_id, building_id=building_id, category=cat.code, tier=cat.tier,
                    description=description, address=address, lat=lat, lng=lng,
                    assignee_id=assignee_id, assignee_title=title, source=source,
                    accept_due_at=now + timedelta(hours=cat.accept_hours),
                    resolve_due_at=now + timedelta(hours=cat.resolve_hours),
                    updated_at=now, created_at=now)
    session.add(report)
    session.flush()
    report.code = f"BS{report.id:06d}"
    for photo in photos:
        session.add(ReportPhoto(report_id=report.id, media_id=photo["media_id"],
                                pic_url=photo.get("pic_url"), created_at=now))
    session.add(ReportEvent(report_id=report.id, actor=text("actor_resident") if resident
                            else source, to_status=Status.SUBMITTED, created_at=now))
    if assignee_id is not None:
        enqueue(session, assignee_id, "report_assigned", message(
            text("push_assigned", code=report.code, category=cat.name,
                 description=description[:40]), {"code": report.code, "category": cat.name}),
            f"report:{report.id}:assigned:{assignee_id}")
    return report


def transition(session: Session, report: Report, to: Status, *, actor: str, note: str | None,
               now: datetime, skip_resident: int | None = None) -> ReportEvent:
    """Move the report to `to` (if allowed), record it and tell the reporter and followers
    (except `skip_resident`, who caused the change and is answered directly)."""
    if to not in TRANSITIONS.get(report.status, set()):
        raise ReportError(f"{report.code}: cannot go from {report.status.value} to {to.value}")
    before = report.status
    report.status, report.updated_at = to, now
    if to is Status.ACCEPTED or (to is Status.IN_PROGRESS and report.accepted_at is None):
        report.accepted_at = now
    if to is Status.RESOLVED:
        report.resolved_at = now
    if to in (Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE):
        report.closed_at = now
    event = ReportEvent(report_id=report.id, actor=actor, from_status=before, to_status=to,
                        note=note, created_at=now)
    session.add(event)
    session.flush()
    notify(session, report, event, skip_resident)
    return event


def add_note(session: Session, report: Report, *, actor: str, note: str, now: datetime) -> ReportEvent:
    """A progress note on an open report; the reporter and followers are told."""
    if report.status not in (*OPEN_STATUSES, Status.RESOLVED):
        raise ReportError(f"{report.code} is {report.status.value}")
    event = ReportEvent(report_id=report.id, actor=actor, note=note, created_at=now)
    report.updated_at = now
    session.add(event)
    session.flush()
    notify(session, report, event)
    return event


def notify(session: Session, report: Report, event: ReportEvent,
           skip_resident: int | None = None) -> None:
    """One outbox row per reporter/follower for this timeline event."""
    status = text(f"status_{report.status.value}")
    body = text("push_report_update", code=report.code, status=status,
                note=f"\n{event.note}" if event.note else "")
    if event.to_status is Status.RESOLVED:
        body += "\n" + text("ask_solved", code=report.code)
    payload = message(body, {"code": report.code, "status": status,
                             "note": (event.note or status)[:20]})
    for resident_id in audience(session, report):
        if resident_id == skip_resident:
            continue
        enqueue(session, resident_id, KIND, payload,
                f"report:{report.id}:event:{event.id}:{resident_id}")


def audience(session: Session, report: Report) -> list[int]:
    followers = session.scalars(select(ReportFollower.resident_id)
                                .where(ReportFollower.report_id == report.id))
    ids = ([report.resident_id] if report.resident_id else []) + list(followers)
    return list(dict.fromkeys(ids))


def follow(session: Session, report: Report, resident: Resident, now: datetime) -> bool:
    """+1: the resident will receive this report's updates. False if already following."""
    if report.resident_id == resident.id or session.scalar(select(ReportFollower.id).where(
            ReportFollower.report_id == report.id, ReportFollower.resident_id == resident.id)):
        return False
    session.add(ReportFollower(report_id=report.id, resident_id=resident.id, created_at=now))
    session.add(ReportEvent(report_id=report.id, actor=text("actor_resident"),
                            note=text("event_plus_one"), created_at=now))
    return True


def can_see(session: Session, report: Report, resident: Resident) -> bool:
    """Only the reporter and followers see a report (staff work from the console)."""
    return report.resident_id == resident.id or resident.id in audience(session, report)


def match_building(session: Session, community_id: int | None, address: str) -> int | None:
    """The community building whose name starts the typed address ("3栋" in "3栋2单元")."""
    if community_id is None:
        return None
    typed = normalise(address)
    best = None
    for building in session.scalars(select(Building).where(Building.community_id == community_id)):
        name = normalise(building.name)
        if typed.startswith(name) and (best is None or len(name) > len(best[0])):
            best = (name, building.id)
    return best[1] if best else None


def by_code(session: Session, code: str) -> Report | None:
    return session.scalar(select(Report).where(Report.code == code.strip().upper()))


TIERS = {"大事": Tier.BIG, "小事": Tier.SMALL, "私事": Tier.PRIVATE}


def assign(session: Session, config: Config, report: Report, *, grid_id: int | None,
           assignee_id: int | None, title: str, actor: str, now: datetime) -> None:
    """Hand an open report to a grid worker (or community staff: no assignee); they are told."""
    if report.status not in OPEN_STATUSES:
        raise ReportError(f"{report.code} is {report.status.value}")
    report.grid_id, report.assignee_id, report.assignee_title = grid_id, assignee_id, title
    report.updated_at = now
    session.add(ReportEvent(report_id=report.id, actor=actor,
                            note=text("event_transferred", title=title), created_at=now))
    if assignee_id is not None:
        cat = category(config, report.category)
        enqueue(session, assignee_id, "report_assigned", message(
            text("push_assigned", code=report.code, category=cat.name if cat else report.category,
                 description=report.description[:40]), {"code": report.code}),
            f"report:{report.id}:assigned:{assignee_id}:{now:%Y%m%d%H%M%S}")


def assignees(session: Session, community_id: int) -> list[tuple[int, int, str]]:
    """(grid id, grid worker resident id, title) for each grid worker of the community."""
    return list(session.execute(select(Grid.id, GridWorker.resident_id, GridWorker.title)
                                .join(GridWorker, GridWorker.grid_id == Grid.id)
                                .where(Grid.community_id == community_id).order_by(Grid.id)))


def merge(session: Session, report: Report, original: Report, *, actor: str,
          now: datetime) -> None:
    """Close `report` as a duplicate of `original`; its reporter then follows the original."""
    if original.id == report.id or original.community_id != report.community_id:
        raise ReportError("not a report of the same community")
    transition(session, report, Status.DUPLICATE, actor=actor,
               note=text("event_merged", code=original.code), now=now)
    report.duplicate_of_id = original.id
    if report.resident_id is not None:
        follow(session, original, session.get(Resident, report.resident_id), now)


def retier(session: Session, report: Report, tier: Tier, *, actor: str, now: datetime) -> None:
    """Re-classify as 大事/小事/私事 (三事分流)."""
    report.tier, report.updated_at = tier, now
    session.add(ReportEvent(report_id=report.id, actor=actor,
                            note=text("event_tier", tier=text(f"tier_{tier.value}")),
                            created_at=now))
