"""Reading reports: by code, who may see one, a resident's own list, nearby open ones."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Boolean, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from core.db import read
from domain.reports.places import distance_m
from domain.unit import Unit
from models import (
    OPEN_STATUSES,
    Building,
    Report,
    ReportEvent,
    ReportFollower,
    Resident,
    Status,
)

CANDIDATES = 200


def by_code(session: Session, code: str) -> Report | None:
    code = (code or "").strip().upper()[:16]
    return session.scalar(select(Report).where(Report.code == code)) if code else None


def can_see(session: Session, report: Report, resident: Resident) -> bool:
    """Only the reporter and followers see a report in chat (staff work from the console)."""
    return report.resident_id == resident.id or session.scalar(select(ReportFollower.id).where(
        ReportFollower.report_id == report.id, ReportFollower.resident_id == resident.id)) is not None


class Mine(NamedTuple):
    code: str
    category: str
    status: Status
    created_at: datetime


# Built once, read through the driver: building and ORM-running it cost more than the query.
_MINE = (select(Report.code, Report.category, Report.status, Report.created_at)
         .where(or_(Report.resident_id == bindparam("rid"), Report.id.in_(
             select(ReportFollower.report_id).where(ReportFollower.resident_id == bindparam("rid")))))
         .order_by(Report.created_at.desc()).limit(bindparam("n")))


def mine(session: Session, resident: Resident, limit: int = 10) -> list[Mine]:
    """The resident's latest reports, filed or followed."""
    return [Mine(*row) for row in read(session, _MINE, {"rid": resident.id, "n": limit})]


def assigned_open(session: Session, resident: Resident, limit: int = 10):
    """Open reports assigned to the person, the one due soonest first (a worker's 工单)."""
    return session.execute(
        select(Report.code, Report.category, Report.status, Report.resolve_due_at)
        .where(Report.assignee_id == resident.id, Report.status.in_(OPEN_STATUSES))
        .order_by(Report.resolve_due_at).limit(limit)).all()


def timeline(session: Session, report: Report, limit: int = 6) -> list[ReportEvent]:
    events = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                             .order_by(ReportEvent.id.desc()).limit(limit)).all()
    return list(reversed(events))


def followers(session: Session, report: Report) -> int:
    return session.scalar(select(func.count()).select_from(ReportFollower)
                          .where(ReportFollower.report_id == report.id)) or 0


# Others' open reports of one category in one community, newest first, that could be the
# same problem: in the given building, or placed by coordinates (their distance is checked
# below). Only the columns the check needs: a busy community has many open reports.
_NEARBY = (select(Report.id, Report.building_id, Report.lat, Report.lng)
           .where(Report.community_id == bindparam("community"), Report.category == bindparam("category"),
                  or_(*(Report.status == status for status in OPEN_STATUSES)),
                  Report.created_at >= bindparam("since"),
                  or_(Report.resident_id.is_(None), Report.resident_id != bindparam("rid")),
                  or_(Report.building_id == bindparam("building"),
                      and_(bindparam("placed", type_=Boolean), Report.lat.is_not(None),
                           Report.lng.is_not(None))))
           .order_by(Report.created_at.desc()).limit(CANDIDATES))


def nearby_open(uow: Unit, *, resident: Resident, community_id: int, category_code: str,
                lat: float | None, lng: float | None, building_id: int | None) -> Report | None:
    """Someone else's open report of the same category, in the same community, nearby (or in
    the same building), filed within `reports.duplicate_days`."""
    cfg = uow.config.reports
    placed = None not in (lat, lng)
    if community_id != resident.community_id or (building_id is None and not placed):
        return None  # a neighbour's offer is from one's own community only; nothing to compare
    rows = read(uow.session, _NEARBY, {
        "community": community_id, "category": category_code, "rid": resident.id, "building": building_id,
        "placed": placed, "since": uow.now - timedelta(days=cfg.duplicate_days)})
    for report_id, building, report_lat, report_lng in rows:
        if (building_id is not None and building == building_id) or (
                placed and None not in (report_lat, report_lng)
                and distance_m(lat, lng, report_lat, report_lng) <= cfg.duplicate_radius_m):
            return uow.session.get(Report, report_id)
    return None


def coarse_place(session: Session, report: Report) -> str | None:
    """The building, else nothing finer than the community: what strangers may see."""
    if report.building_id is not None:
        return session.scalar(select(Building.name).where(Building.id == report.building_id))
    return None
