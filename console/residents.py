"""Residents: search, profile, roles, and whether they still follow or were anonymised."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from console.access import WRITE, allow, chosen_community, communities, in_scope, scoped
from console.web import db, paginate, unit
from core.texts import text
from domain import residents
from domain.errors import Refused
from models import Account, Report, Resident, Role, ServiceRecord

bp = Blueprint("residents", __name__, url_prefix="/console/residents")


@bp.get("")
@allow(*WRITE)
def index():
    query = scoped(select(Resident), Resident.community_id)
    if (community_id := chosen_community(request.args.get("community"))):
        query = query.where(Resident.community_id == community_id)
    if (words := request.args.get("q", "").strip()[:32]):
        query = query.where(or_(Resident.name.like(f"%{words}%"), Resident.mobile == words,
                                Resident.openid == words))
    state = request.args.get("state", "")
    if state == "following":
        query = query.where(Resident.followed.is_(True))
    elif state == "anonymised":
        query = query.where(Resident.anonymised_at.is_not(None))
    rows, page = paginate(query.order_by(Resident.id.desc()))
    return render_template("console/residents.html", rows=rows, page=page, state=state,
                           communities=communities())


def _resident(resident_id: int) -> Resident:
    return in_scope(Resident, resident_id)


@bp.get("/<int:resident_id>")
@allow(*WRITE)
def detail(resident_id: int):
    resident = _resident(resident_id)
    reports = db().scalars(select(Report).where(Report.resident_id == resident.id)
                           .order_by(Report.id.desc()).limit(20)).all()
    account = db().scalar(select(Account).where(Account.owner_id == resident.id))
    services = db().scalar(select(func.count()).select_from(ServiceRecord)
                           .where(ServiceRecord.volunteer_id == resident.id)) or 0
    return render_template("console/resident.html", resident=resident, reports=reports,
                           account=account, services=services, grantable=residents.GRANTABLE)


def _run(resident_id: int, work):
    try:
        work()
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text("c_saved"), "ok")
    return redirect(url_for("residents.detail", resident_id=resident_id))


@bp.post("/<int:resident_id>/roles")
@allow(*WRITE)
def roles(resident_id: int):
    """Grant or take back volunteer / building head (grid worker and staff come with a console
    account)."""
    resident = _resident(resident_id)
    wanted = request.form.get("role", "")

    def work():
        if wanted not in {r.value for r in residents.GRANTABLE}:
            raise Refused("c_role_refused")
        residents.set_role(unit(), current_user.actor, resident, Role(wanted),
                           bool(request.form.get("grant")))
    return _run(resident_id, work)


@bp.post("/<int:resident_id>/name")
@allow(*WRITE)
def rename(resident_id: int):
    """Staff correct how a resident is named."""
    resident = _resident(resident_id)
    return _run(resident_id, lambda: residents.staff_rename(
        unit(), current_user.actor, resident, request.form.get("name", "")[:40]))
