"""Oversight lists: 督办 (supervision tickets and their answers) and 回访 (return visits
staff make, with the outcome buttons) — written through domain.reports.oversight."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import EVERYONE, READ, WRITE, allow, scoped
from console.web import db, get_or_404, paginate, unit
from core.texts import text
from domain.errors import Refused
from domain.reports import oversight
from domain.reports.visits import OUTCOMES
from models import Report, ReturnVisit, Supervision

bp = Blueprint("oversight", __name__, url_prefix="/console/oversight")


def _reports(ids) -> dict[int, Report]:
    return {r.id: r for r in db().scalars(select(Report).where(Report.id.in_(set(ids))))}


@bp.get("/supervisions")
@allow(*EVERYONE)
def supervisions():
    status = request.args.get("status", "open")
    query = scoped(select(Supervision).join(Report, Report.id == Supervision.report_id),
                   Report.community_id, Report.grid_id)
    if status == "open":
        query = query.where(Supervision.answered_at.is_(None))
    elif status == "answered":
        query = query.where(Supervision.answered_at.is_not(None))
    rows, page = paginate(query.order_by(Supervision.id.desc()))
    return render_template("console/supervisions.html", rows=rows, page=page, status=status,
                           reports=_reports(r.report_id for r in rows))


@bp.get("/visits")
@allow(*READ)
def visits():
    status = request.args.get("status", "pending")
    query = scoped(select(ReturnVisit), ReturnVisit.community_id)
    if status == "pending":
        query = query.where(ReturnVisit.outcome.is_(None))
    elif status in OUTCOMES:
        query = query.where(ReturnVisit.outcome == status)
    rows, page = paginate(query.order_by(ReturnVisit.id.desc()))
    return render_template("console/visits.html", rows=rows, page=page, status=status,
                           outcomes=OUTCOMES, reports=_reports(r.report_id for r in rows))


@bp.post("/visits/<int:visit_id>")
@allow(*WRITE)
def record_visit(visit_id: int):
    visit = get_or_404(ReturnVisit, visit_id)
    if not current_user.sees_community(visit.community_id):
        abort(404)
    try:
        oversight.record_visit(unit(), current_user.actor, visit, request.form.get("outcome", ""),
                               request.form.get("note", "").strip()[:500] or None)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text("c_visit_recorded", outcome=text(f"c_visit_{visit.outcome}")), "ok")
    return redirect(url_for("oversight.visits"))
