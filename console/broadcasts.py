"""Broadcasts: composer with audience picker and live recipient count by channel, send
now or schedule, a live progress bar, cancel, and the history with results."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import READ, WRITE, allow, chosen_community, communities, grids
from console.web import config, db, get_or_404, now, parse_local, to_id, unit
from core.texts import text
from domain import broadcasts as domain
from domain.errors import Refused
from models import Broadcast, Building, Role, Strategy

bp = Blueprint("broadcasts", __name__, url_prefix="/console/broadcasts")
HISTORY = 200


def community_of(audience: dict) -> int | None:
    return domain.community_of(db(), audience)


def _visible(broadcast: Broadcast) -> bool:
    return current_user.is_admin or community_of(broadcast.audience) == current_user.community_id


def _broadcast(broadcast_id: int) -> Broadcast:
    broadcast = get_or_404(Broadcast, broadcast_id)
    if not _visible(broadcast):
        abort(404)
    return broadcast


def _audience(args) -> dict:
    """The audience picked in the composer, refused when outside the user's scope."""
    kind = args.get("audience", "community")
    community_id = chosen_community(args.get("community"))
    if kind == "all":
        if not current_user.is_admin:
            abort(403)
        return {"type": "all"}
    if kind == "role":
        return {"type": "role", "role": args.get("role", ""), "id": community_id}
    if kind in ("grid", "building"):
        audience = {"type": kind, "id": to_id(args.get("target"))}
        if audience["id"] is None:
            raise Refused("bc_no_target", kind=kind, id="?")
        if community_of(audience) is None or not current_user.sees_community(community_of(audience)):
            raise Refused("bc_no_target", kind=kind, id=audience["id"])
        return audience
    if community_id is None:
        raise Refused("bc_no_target", kind="community", id="")
    return {"type": "community", "id": community_id}


def _strategy(raw: str | None) -> Strategy:
    return Strategy.MASS_TAG if raw == Strategy.MASS_TAG.value else Strategy.PER_RESIDENT


@bp.get("")
@allow(*READ)
def index():
    recent = db().scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(HISTORY))
    rows = [b for b in recent if _visible(b)]
    progress = {b.id: domain.progress(db(), b) for b in rows}
    return render_template("console/broadcasts.html", rows=rows, progress=progress)


@bp.get("/new")
@allow(*WRITE)
def new():
    buildings = db().scalars(select(Building).where(Building.grid_id.in_([g.id for g in grids()]))
                             .order_by(Building.id)).all()
    return render_template("console/broadcast_form.html", communities=communities(),
                           grids=grids(), buildings=buildings, roles=list(Role), form={})


@bp.get("/preview")
@allow(*WRITE)
def preview():
    """Recipients by channel for the audience being composed (live count)."""
    try:
        audience = _audience(request.args)
        domain.audience_query(audience)
        counts = domain.preview(db(), config(), audience, _strategy(request.args.get("strategy")),
                                now())
    except Refused as refusal:
        return jsonify(error=refusal.message), 400
    return jsonify(counts)


@bp.post("")
@allow(*WRITE)
def create():
    form = request.form
    send_at = parse_local(form.get("send_at")) if form.get("when") == "later" else None
    try:
        if form.get("when") == "later" and send_at is None:
            raise Refused("bc_past")
        made = domain.create(unit(), current_user.actor, title=form.get("title", "")[:100],
                             text=form.get("text", "")[:2000], audience=_audience(form),
                             strategy=_strategy(form.get("strategy")), send_at=send_at,
                             urgent=bool(form.get("urgent")))
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("broadcasts.new"))
    flash(text("c_broadcast_created"), "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=made.id))


@bp.get("/<int:broadcast_id>")
@allow(*READ)
def detail(broadcast_id: int):
    broadcast = _broadcast(broadcast_id)
    return render_template("console/broadcast.html", b=broadcast,
                           progress=domain.progress(db(), broadcast))


@bp.get("/<int:broadcast_id>/progress")
@allow(*READ)
def progress(broadcast_id: int):
    return jsonify(domain.progress(db(), _broadcast(broadcast_id)))


@bp.post("/<int:broadcast_id>/cancel")
@allow(*WRITE)
def cancel(broadcast_id: int):
    broadcast = _broadcast(broadcast_id)
    try:
        withdrawn = domain.cancel(unit(), current_user.actor, broadcast)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text("c_broadcast_cancelled", n=withdrawn), "ok")
    return redirect(url_for("broadcasts.detail", broadcast_id=broadcast_id))
