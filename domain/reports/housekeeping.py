"""What the scheduler asks of reports: SLA reminders and escalation, digests, auto-close,
fetched photos and the weekly focal issues (焦点议题)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from core.outbox import message
from core.texts import text
from domain.reports import oversight
from domain.reports.categories import name_of
from domain.reports.lifecycle import NOT_ON_TIME, WARNED, auto_close
from domain.reports.routing import community_staff
from domain.unit import Unit
from models import OPEN_STATUSES, Community, GridWorker, Report, ReportPhoto, Status


def sla_sweep(uow: Unit, limit: int = 2000) -> int:
    """Reports whose clock point has passed: at 75 % of the window the assignee is warned
    (临期预警); at its end a 小事 nobody on the building accepted passes to the grid worker,
    anything else escalates to community staff. Reads only the indexed due rows."""
    now = uow.now
    # IN, not <: an equality on the index's first column lets next_check_at bound the scan.
    due_rows = uow.session.scalars(select(Report).where(
        Report.escalation.in_((NOT_ON_TIME, WARNED)), Report.next_check_at <= now,
        Report.status.in_(OPEN_STATUSES)).order_by(Report.next_check_at).limit(limit)).all()
    with uow.sweep():
        for report in due_rows:
            deadline = report.accept_due_at if report.status is Status.SUBMITTED else report.resolve_due_at
            if report.escalation == NOT_ON_TIME and now < deadline:
                oversight.warn(uow, report)
            else:
                oversight.overdue(uow, report)
    return len(due_rows)


def daily_digest(uow: Unit) -> int:
    """Each grid worker with open items gets one list of them (once a day)."""
    now = uow.now
    day = now.astimezone(uow.config.tz).strftime("%Y%m%d")
    sent = 0
    for worker_id in list(uow.session.scalars(select(GridWorker.resident_id).distinct())):
        items = uow.session.scalars(select(Report).where(
            Report.assignee_id == worker_id, Report.status.in_(OPEN_STATUSES))
            .order_by(Report.created_at).limit(20)).all()
        if not items:
            continue
        lines = "\n".join(text(
            "digest_line", code=r.code, category=name_of(uow.config, r.category),
            status=text(f"status_{r.status.value}"),
            overdue=text("digest_overdue") if (r.status is Status.SUBMITTED and r.accept_due_at < now)
            or r.resolve_due_at < now else "") for r in items)
        uow.push(worker_id, "report_digest", message(text("digest", n=len(items), items=lines), {
            "item": text("notice_digest"), "count": len(items), "time": now}), f"digest:{day}:{worker_id}")
        sent += 1
    return sent


def close_unconfirmed(uow: Unit) -> int:
    """Resolved reports nobody confirmed within `reports.feedback_days` are closed."""
    stale = uow.session.scalars(select(Report).where(
        Report.status == Status.RESOLVED,
        Report.resolved_at < uow.now - timedelta(days=uow.config.reports.feedback_days))).all()
    for report in stale:
        auto_close(uow, report)
    return len(stale)


def photos_to_fetch(uow: Unit, limit: int) -> list[tuple[int, int, str]]:
    """(photo id, report id, media id) of WeChat photos not yet in storage."""
    return list(uow.session.execute(select(ReportPhoto.id, ReportPhoto.report_id, ReportPhoto.media_id)
                                    .where(ReportPhoto.fetched_at.is_(None),
                                           ReportPhoto.fetch_error.is_(None),
                                           ReportPhoto.media_id != "")  # Open311: links only
                                    .order_by(ReportPhoto.id).limit(limit)))


def photo_fetched(uow: Unit, photo_id: int, path: str | None, content_type: str | None,
                  error: str | None) -> None:
    row = uow.session.get(ReportPhoto, photo_id)
    if row is not None:
        row.stored_path, row.content_type = path, content_type if path else None
        row.fetch_error, row.fetched_at = (error or None) and error[:128], uow.now


def focal_issues(uow: Unit, community_id: int, since: datetime, top: int = 3) -> dict:
    """The most-raised categories and places of a community since `since`."""
    rows = uow.session.execute(select(Report.category, Report.address).where(
        Report.community_id == community_id, Report.created_at >= since)).all()
    categories = Counter(r.category for r in rows)
    places = Counter(r.address for r in rows if r.address)
    return {"reports": len(rows),
            "categories": [(name_of(uow.config, c), n) for c, n in categories.most_common(top)],
            "places": places.most_common(top)}


def weekly_focal_issues(uow: Unit) -> int:
    """Offer each community's staff the week's focal issues as meeting topics."""
    week = uow.now.astimezone(uow.config.tz).strftime("%G-W%V")
    sent = 0
    for community in uow.session.scalars(select(Community)).all():
        summary = focal_issues(uow, community.id, uow.now - timedelta(days=7))
        if not summary["reports"]:
            continue
        body = text("focal_issues", community=community.name, n=summary["reports"],
                    categories="、".join(f"{c}（{n}）" for c, n in summary["categories"]),
                    places="、".join(f"{p}（{n}）" for p, n in summary["places"]) or "—")
        for staff_id in community_staff(uow.session, community.id):
            uow.push(staff_id, "focal_issues", message(body, {
                "item": text("notice_focal"), "count": summary["reports"], "time": uow.now}),
                f"focal:{week}:{community.id}:{staff_id}")
            sent += 1
    return sent
