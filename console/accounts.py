"""Admin pages: staff accounts (create, roles, lock-out, WeChat link) and the audit log."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import staff as domain
from bot.texts import text
from console.access import allow, audit, communities, grids
from console.web import db, get_or_404, paginate
from models import AuditLog, Resident, StaffUser

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


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@bp.post("/accounts")
@allow("admin")
def save():
    form = request.form
    username = form.get("username", "").strip()[:64]
    try:
        if not username:
            raise ValueError("username")
        user = domain.upsert_staff(db(), username, form.get("password", ""), form.get("role", ""),
                                   _int(form.get("community")), form.get("display_name", "").strip()[:64]
                                   or None, _int(form.get("grid")))
        db().flush()
    except ValueError as exc:
        db().rollback()
        flash(text("c_account_refused", reason=str(exc)), "error")
        return redirect(url_for("accounts.index"))
    audit("staff_save", f"staff:{user.username}", None,
          {"role": user.role, "community_id": user.community_id, "grid_id": user.grid_id})
    db().commit()
    flash(text("c_saved"), "ok")
    return redirect(url_for("accounts.index"))


@bp.post("/accounts/<int:user_id>")
@allow("admin")
def change(user_id: int):
    """Activate/deactivate, unlock, link or unlink a WeChat follower."""
    user = get_or_404(StaffUser, user_id)
    action = request.form.get("action", "")
    before = {"active": user.active, "resident_id": user.resident_id,
              "locked": user.locked_until is not None}
    try:
        if action == "toggle":
            user.active = not user.active
        elif action == "unlock":
            user.failed_logins, user.locked_until = 0, None
        elif action == "link":
            domain.link_resident(db(), user, request.form.get("openid", "")[:64])
        elif action == "unlink":
            domain.unlink_resident(db(), user)
        else:
            raise domain.LinkError("c_bad_request")
    except domain.LinkError as exc:
        db().rollback()
        flash(text(exc.key), "error")
        return redirect(url_for("accounts.index"))
    audit(f"staff_{action}", f"staff:{user.username}", before,
          {"active": user.active, "resident_id": user.resident_id,
           "locked": user.locked_until is not None})
    db().commit()
    flash(text("c_saved"), "ok")
    return redirect(url_for("accounts.index"))


@bp.get("/audit")
@allow("admin")
def audit_log():
    query = select(AuditLog)
    if (actor := request.args.get("actor", "").strip()[:64]):
        query = query.where(AuditLog.actor.like(f"%{actor}%"))
    if (target := request.args.get("target", "").strip()[:64]):
        query = query.where(AuditLog.target.like(f"%{target}%"))
    rows, page = paginate(query.order_by(AuditLog.id.desc()))
    return render_template("console/audit.html", rows=rows, page=page)
