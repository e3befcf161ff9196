"""Residents: search, profile, roles, and whether they still follow or were anonymised."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from bot.texts import text
from console.access import WRITE, allow, audit, chosen_community, communities, in_scope, scoped
from console.web import db, paginate
from models import Account, Report, Resident, ResidentRole, Role, ServiceRecord

bp = Blueprint("residents", __name__, url_prefix="/console/residents")
# Roles staff grant here; grid worker, staff and admin come with a linked console account.
GRANTABLE = (Role.VOLUNTEER, Role.BUILDING_HEAD)


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
                           account=account, services=services, grantable=GRANTABLE)


@bp.post("/<int:resident_id>/roles")
@allow(*WRITE)
def roles(resident_id: int):
    resident = _resident(resident_id)
    wanted = request.form.get("role", "")
    if wanted not in {r.value for r in GRANTABLE} or resident.anonymised_at is not None:
        flash(text("c_role_refused"), "error")
        return redirect(url_for("residents.detail", resident_id=resident_id))
    role, before = Role(wanted), sorted(r.value for r in resident.role_set)
    held = next((r for r in resident.roles if r.role is role), None)
    if request.form.get("grant"):
        if held is None:
            resident.roles.append(ResidentRole(role=role, granted_by=current_user.actor))
    elif held is not None:
        resident.roles.remove(held)
    db().flush()
    audit("resident_roles", f"resident:{resident.id}", {"roles": before},
          {"roles": sorted(r.value for r in resident.role_set)})
    db().commit()
    flash(text("c_saved"), "ok")
    return redirect(url_for("residents.detail", resident_id=resident_id))
