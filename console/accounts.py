"""Admin pages: staff accounts (create, roles, lock-out, WeChat link) and the audit log."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import allow, communities, grids
from console.web import db, get_or_404, paginate, to_id, unit
from core.texts import TEXTS, text
from domain import staff as domain
from domain.errors import Refused
from models import Account, AuditLog, FamilyLink, Resident, ServiceRecord, StaffUser

bp = Blueprint("accounts", __name__, url_prefix="/console/admin")


@bp.get("/accounts")
@allow("admin")
def index():
    users = db().scalars(select(StaffUser).order_by(StaffUser.id)).all()
    linked = {r.id: r for r in db().scalars(select(Resident).where(
        Resident.id.in_([u.resident_id for u in users if u.resident_id])))}
    return render_template("console/accounts.html", users=users, linked=linked,
                           communities={c.id: c for c in communities()},
                           grids={g.id: g for g in grids()}, roles=sorted(domain.STAFF_ROLES))


def _run(work):
    try:
        work()
    except Refused as refusal:
        flash(text("c_account_refused", reason=refusal.message), "error")
    else:
        flash(text("c_saved"), "ok")
    return redirect(url_for("accounts.index"))


@bp.post("/accounts")
@allow("admin")
def save():
    form = request.form
    return _run(lambda: domain.save_account(
        unit(), current_user.actor, form.get("username", "")[:64], form.get("password", "")[:256],
        form.get("role", ""), to_id(form.get("community")),
        form.get("display_name", "").strip()[:64] or None, to_id(form.get("grid"))))


@bp.post("/accounts/<int:user_id>")
@allow("admin")
def change(user_id: int):
    """Activate/deactivate, unlock, link or unlink a WeChat follower."""
    user = get_or_404(StaffUser, user_id)
    return _run(lambda: domain.change_account(unit(), current_user.actor, user,
                                              request.form.get("action", ""),
                                              request.form.get("openid", "")))


@bp.get("/audit")
@allow("admin")
def audit_log():
    query = select(AuditLog)
    if (actor := request.args.get("actor", "").strip()[:64]):
        query = query.where(AuditLog.actor.like(f"%{actor}%") | AuditLog.actor_name.like(f"%{actor}%"))
    if (target := request.args.get("target", "").strip()[:64]):
        query = query.where(AuditLog.target.like(f"%{target}%") | AuditLog.target.in_(_targets_of(target)))
    if (action := request.args.get("action", "").strip()[:64]):
        query = query.where(AuditLog.action == action)
    rows, page = paginate(query.order_by(AuditLog.id.desc()))
    actions = sorted(key[len("audit_"):] for key in TEXTS if key.startswith("audit_") and not
                     key.startswith(("audit_target_", "audit_key_", "audit_value_")))
    return render_template("console/audit.html", rows=rows, page=page, actions=actions, action=action)


def _targets_of(name: str) -> list[str]:
    """Audit targets about the people so named: their own row, account, records, family links."""
    people = db().scalars(select(Resident.id).where(Resident.name.like(f"%{name}%")).limit(50)).all()
    if not people:
        return []
    accounts = db().scalars(select(Account.id).where(Account.owner_id.in_(people))).all()
    served = db().scalars(select(ServiceRecord.id).where(
        ServiceRecord.volunteer_id.in_(people) | ServiceRecord.beneficiary_id.in_(people)).limit(500)).all()
    links = db().scalars(select(FamilyLink.id).where(
        FamilyLink.resident_id.in_(people) | FamilyLink.relative_id.in_(people))).all()
    return ([f"resident:{i}" for i in people] + [f"account:{i}" for i in accounts]
            + [f"record:{i}" for i in served] + [f"family:{i}" for i in links])
