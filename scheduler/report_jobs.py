"""Report housekeeping: SLA reminders and escalation, daily digests, auto-close,
photo fetching and the weekly focal-issues summary (焦点议题)."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot import reports
from bot.db import transaction
from bot.outbox import enqueue, message
from bot.texts import text
from handlers.report_status import escalate_to_staff
from models import (Community, GridWorker, Report, ReportEvent, ReportPhoto, Resident,
                    ResidentRole, Role, Status, utcnow)
from models.report import OPEN_STATUSES

log = logging.getLogger("linli.reports")
PHOTO_BATCH = 20


def escalate_overdue(rt, now: datetime | None = None) -> int:
    """Past a deadline: remind the assignee; past it by half its span again: escalate."""
    now = now or utcnow()
    changed = 0
    with transaction(rt.sessions) as session:
        overdue = session.scalars(select(Report).where(
            Report.status.in_(OPEN_STATUSES), Report.escalation < 2,
            ((Report.status == Status.SUBMITTED) & (Report.accept_due_at < now))
            | ((Report.status != Status.SUBMITTED) & (Report.resolve_due_at < now))))
        for report in overdue:
            accepting = report.status is Status.SUBMITTED
            due = report.accept_due_at if accepting else report.resolve_due_at
            span = due - report.created_at if accepting else due - (report.accepted_at or report.created_at)
            what = text("sla_accept" if accepting else "sla_resolve")
            cat = reports.category(rt.config, report.category)
            name = cat.name if cat else report.category
            if report.escalation == 0:
                report.escalation = 1
                if report.assignee_id is not None:
                    enqueue(session, report.assignee_id, "report_reminder", message(
                        text("push_escalation_reminder", code=report.code, category=name, what=what),
                        {"code": report.code}), f"report:{report.id}:remind:{what}")
                changed += 1
            if report.escalation == 1 and now >= due + span / 2:
                report.escalation = 2
                session.add(ReportEvent(report_id=report.id, actor=text("actor_system"),
                                        note=text("event_escalated", what=what), created_at=now))
                escalate_to_staff(session, rt.config, report, what)
                changed += 1
    return changed


def daily_digest(rt, now: datetime | None = None) -> int:
    """Each grid worker with open items gets one list of them (once a day)."""
    now = now or utcnow()
    day = now.astimezone(rt.config.tz).strftime("%Y%m%d")
    sent = 0
    with transaction(rt.sessions) as session:
        workers = session.scalars(select(GridWorker.resident_id).distinct())
        for worker_id in list(workers):
            items = session.scalars(select(Report).where(
                Report.assignee_id == worker_id, Report.status.in_(OPEN_STATUSES))
                .order_by(Report.created_at).limit(20)).all()
            if not items:
                continue
            lines = "\n".join(text(
                "digest_line", code=r.code, category=_name(rt, r.category),
                status=text(f"status_{r.status.value}"),
                overdue=text("digest_overdue") if min(r.accept_due_at, r.resolve_due_at) < now
                and (r.status is Status.SUBMITTED or r.resolve_due_at < now) else "")
                for r in items)
            enqueue(session, worker_id, "report_digest", message(text("digest", n=len(items),
                                                                      items=lines)),
                    f"digest:{day}:{worker_id}")
            sent += 1
    return sent


def auto_close(rt, now: datetime | None = None) -> int:
    """Resolved reports nobody confirmed within `reports.feedback_days` are closed."""
    now = now or utcnow()
    days = rt.config.get_path("reports.feedback_days", 7)
    with transaction(rt.sessions) as session:
        stale = session.scalars(select(Report).where(
            Report.status == Status.RESOLVED, Report.resolved_at < now - timedelta(days=days))).all()
        for report in stale:
            reports.transition(session, report, Status.CLOSED, actor=text("actor_system"),
                               note=text("auto_closed"), now=now)
    return len(stale)


def fetch_photos(rt) -> int:
    """Download WeChat media to storage, a few at a time (never in the webhook)."""
    media_dir = reports.media_dir(rt.config)
    with rt.sessions() as session:
        todo = session.scalars(select(ReportPhoto).where(
            ReportPhoto.fetched_at.is_(None), ReportPhoto.fetch_error.is_(None),
            ReportPhoto.media_id != "")  # Open311 photos are links, not WeChat media
            .order_by(ReportPhoto.id).limit(PHOTO_BATCH)).all()
    for photo in todo:
        path, ctype, error = None, None, None
        try:
            resp = rt.api.call(lambda c: c.get("media/get", params={"media_id": photo.media_id}))
            ctype = (getattr(resp, "headers", {}).get("Content-Type") or "").split(";")[0]
            if ctype not in reports.SAFE_IMAGE_TYPES:
                error = f"not an image: {ctype or 'unknown'}"[:128]
            else:
                target = media_dir / str(photo.report_id)
                target.mkdir(parents=True, exist_ok=True)
                path = target / f"{photo.id}{reports.SAFE_IMAGE_TYPES[ctype]}"
                path.write_bytes(resp.content)
        except WeChatClientException as exc:
            error = f"{exc.errcode}: {exc.errmsg}"[:128]
        except Exception as exc:  # noqa: BLE001 - retried on the next run
            log.warning("photo %d not fetched yet: %s", photo.id, type(exc).__name__)
            continue
        with transaction(rt.sessions) as session:
            row = session.get(ReportPhoto, photo.id)
            row.stored_path = str(path) if path else None
            row.content_type = ctype if path else None
            row.fetch_error, row.fetched_at = error, utcnow()
    return len(todo)


def focal_issues(session, config, community_id: int, since: datetime, top: int = 3) -> dict:
    """The most-raised categories and places of a community since `since`."""
    rows = session.execute(select(Report.category, Report.address, Report.building_id).where(
        Report.community_id == community_id, Report.created_at >= since)).all()
    categories = Counter(r.category for r in rows)
    places = Counter(r.address for r in rows if r.address)
    return {"reports": len(rows),
            "categories": [(_name_cfg(config, c), n) for c, n in categories.most_common(top)],
            "places": places.most_common(top)}


def weekly_focal_issues(rt, now: datetime | None = None) -> int:
    """Offer each community's staff the week's focal issues as meeting topics."""
    now = now or utcnow()
    week = now.astimezone(rt.config.tz).strftime("%G-W%V")
    sent = 0
    with transaction(rt.sessions) as session:
        for community in session.scalars(select(Community)).all():
            summary = focal_issues(session, rt.config, community.id, now - timedelta(days=7))
            if not summary["reports"]:
                continue
            body = text("focal_issues", community=community.name, n=summary["reports"],
                        categories="、".join(f"{c}（{n}）" for c, n in summary["categories"]),
                        places="、".join(f"{p}（{n}）" for p, n in summary["places"]) or "—")
            staff = session.scalars(select(Resident.id).join(ResidentRole).where(
                Resident.community_id == community.id, Resident.followed.is_(True),
                ResidentRole.role.in_([Role.STAFF, Role.ADMIN])))
            for staff_id in staff:
                enqueue(session, staff_id, "focal_issues", message(body),
                        f"focal:{week}:{community.id}:{staff_id}")
                sent += 1
    return sent


def _name(rt, code: str) -> str:
    return _name_cfg(rt.config, code)


def _name_cfg(config, code: str) -> str:
    cat = reports.category(config, code)
    return cat.name if cat else code

