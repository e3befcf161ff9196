"""Dashboard figures, computed by the database for one community/grid and period."""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from statistics import mean

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core import outbox
from core.texts import text
from models import (
    OPEN_STATUSES,
    DecisionItem,
    ItemStatus,
    MediationCase,
    Meeting,
    MeetingStatus,
    RecordStatus,
    Report,
    ReturnVisit,
    ServiceRecord,
    Signup,
    Status,
    Supervision,
    Tier,
    Topic,
)

BUILDING_HEAD_SUFFIX = text("building_head_title", building="")


def _hours(pairs) -> float | None:
    spans = [(end - start).total_seconds() / 3600 for start, end in pairs if start and end]
    return round(mean(spans), 1) if spans else None


def dashboard(session: Session, *, community_id: int | None, grid_id: int | None,
              since: datetime, now: datetime, tz: tzinfo) -> dict:
    def reports(query):
        if community_id:
            query = query.where(Report.community_id == community_id)
        if grid_id:
            query = query.where(Report.grid_id == grid_id)
        return query

    open_q = reports(select(Report.tier, Report.status, func.count())
                     .where(Report.status.in_(OPEN_STATUSES)).group_by(Report.tier, Report.status))
    by_tier: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for tier, status, n in session.execute(open_q):
        by_tier[tier.value] = by_tier.get(tier.value, 0) + n
        by_status[status.value] = by_status.get(status.value, 0) + n
    overdue = session.scalar(reports(select(func.count()).select_from(Report).where(
        Report.status.in_(OPEN_STATUSES),
        or_(and_(Report.status == Status.SUBMITTED, Report.accept_due_at < now),
            Report.resolve_due_at < now)))) or 0
    period = reports(select(Report.category, Report.created_at, Report.accepted_at,
                            Report.resolved_at, Report.resolve_due_at, Report.rating, Report.tier,
                            Report.assignee_title, Report.id).where(Report.created_at >= since))
    rows = session.execute(period).all()
    by_category: dict[str, int] = {}
    per_day: dict[str, int] = {}
    for row in rows:
        by_category[row.category] = by_category.get(row.category, 0) + 1
        day = row.created_at.astimezone(tz).strftime("%m-%d")
        per_day[day] = per_day.get(day, 0) + 1
    ratings = [row.rating for row in rows if row.rating]
    done = [row for row in rows if row.resolved_at]
    on_time = sum(1 for row in done if row.resolved_at <= row.resolve_due_at)
    oversight = _oversight(session, reports, since)
    oversight["by_path"] = _paths(session, rows)

    meetings = select(Meeting.id).where(Meeting.starts_at >= since, Meeting.starts_at <= now,
                                        Meeting.status.in_((MeetingStatus.PUBLISHED,
                                                            MeetingStatus.CLOSED)))
    hours = select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.status == RecordStatus.APPROVED, ServiceRecord.service_date >= since.date())
    pending = select(func.count()).select_from(ServiceRecord).where(
        ServiceRecord.status == RecordStatus.PENDING)
    if community_id:
        meetings = meetings.where(Meeting.community_id == community_id)
        hours = hours.where(ServiceRecord.community_id == community_id)
        pending = pending.where(ServiceRecord.community_id == community_id)
    meeting_ids = meetings.scalar_subquery()
    signed = session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id.in_(meeting_ids), Signup.status == "confirmed")) or 0
    attended = session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id.in_(meeting_ids), Signup.checked_in_at.is_not(None))) or 0
    return {
        "open_total": sum(by_tier.values()), "by_tier": by_tier, "by_status": by_status,
        "overdue": overdue, "filed": len(rows), "by_category": by_category,
        "per_day": dict(sorted(per_day.items())),
        "response_hours": _hours((r.created_at, r.accepted_at) for r in rows),
        "resolution_hours": _hours((r.created_at, r.resolved_at) for r in rows),
        "rating": round(mean(ratings), 2) if ratings else None, "rated": len(ratings),
        "meetings": session.scalar(select(func.count()).select_from(meetings.subquery())) or 0,
        "signed_up": signed, "attended": attended,
        "volunteer_minutes": session.scalar(hours) or 0, "pending_records": session.scalar(pending) or 0,
        "outbox": outbox.status_counts(session),
        "on_time_rate": round(100 * on_time / len(done)) if done else None, "resolved": len(done),
        **oversight,
        "items_overdue": _items_overdue(session, community_id, now.astimezone(tz).date()),
    }


def _items_overdue(session: Session, community_id: int | None, today) -> int:
    """Decision items (议事结果) past their due date and not done."""
    query = select(func.count()).select_from(DecisionItem).join(Topic, Topic.id == DecisionItem.topic_id).where(
        DecisionItem.status == ItemStatus.OPEN, DecisionItem.due_on < today)
    if community_id:
        query = query.where(Topic.community_id == community_id)
    return session.scalar(query) or 0


def _oversight(session: Session, reports, since: datetime) -> dict:
    """Warnings and unassigned now; 督办 and 回访 outcomes in the period."""
    open_ = reports(select(func.count()).select_from(Report).where(Report.status.in_(OPEN_STATUSES)))
    scope = reports(select(Report.id)).scalar_subquery()
    tickets = session.execute(select(Supervision.answered_at.is_(None), func.count())
                              .where(Supervision.report_id.in_(scope), Supervision.raised_at >= since)
                              .group_by(Supervision.answered_at.is_(None))).all()
    visits = session.execute(select(ReturnVisit.outcome, func.count())
                             .where(ReturnVisit.report_id.in_(scope), ReturnVisit.created_at >= since)
                             .group_by(ReturnVisit.outcome)).all()
    return {
        "warned": session.scalar(open_.where(Report.escalation == 1)) or 0,
        "unassigned": session.scalar(open_.where(Report.assignee_id.is_(None),
                                                 Report.tier == Tier.SMALL)) or 0,
        "supervisions": {("open" if is_open else "answered"): n for is_open, n in tickets},
        "visits": {(outcome or "pending"): n for outcome, n in visits},
    }


def _paths(session: Session, rows) -> dict[str, int]:
    """Reports of the period by the path their tier took (三事分流)."""
    ids = [row.id for row in rows]
    mediated = set(session.scalars(select(MediationCase.report_id).where(
        MediationCase.report_id.in_(ids)))) if ids else set()
    paths: dict[str, int] = {}
    for row in rows:
        if row.tier is Tier.BIG:
            path = "big"
        elif row.tier is Tier.PRIVATE:
            path = "mediation" if row.id in mediated else "advice"
        else:
            path = "building_head" if (row.assignee_title or "").endswith(BUILDING_HEAD_SUFFIX) else "grid"
        paths[path] = paths.get(path, 0) + 1
    return paths


PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365}


def since(period: str, now: datetime) -> datetime:
    return now - timedelta(days=PERIODS.get(period, 30))
