"""A work order for whoever must act on it from their phone (楼道长, grid worker, staff): what,
where and by when, the timeline, and 接单 / 进展 / 办结 — the same use cases as the chat's
commands and the console's buttons. The 派单 and 临期 cards link here, so a 楼道长 without a
console login can open them."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from domain.actor import Actor
from domain.errors import Refused
from domain.reports import lifecycle, queries
from domain.reports.categories import name_of
from domain.reports.routing import may_work
from models import Building, Report, Status
from web.resident.signin import bp, config, db, done, me, not_found, refused, signed_in, unit

WORKING = (Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS)


def _task(code: str) -> tuple[Report | None, Actor]:
    actor = Actor.resident(me())
    found = db().scalar(select(Report).where(Report.code == code.upper()[:16]))
    return (found if found is not None and may_work(actor, found) else None), actor


@bp.get("/tasks/<code>")
@signed_in
def task(code: str):
    found, _ = _task(code)
    if found is None:
        return not_found()
    building = db().get(Building, found.building_id) if found.building_id else None
    return render_template("resident/task.html", report=found, category=name_of(config(), found.category),
                           place=building.name if building else (found.address or ""),
                           timeline=queries.timeline(db(), found, limit=50), working=found.status in WORKING,
                           due=found.accept_due_at if found.status is Status.SUBMITTED else found.resolve_due_at)


@bp.post("/tasks/<code>/<action>")
@signed_in
def act(code: str, action: str):
    found, actor = _task(code)
    if found is None or action not in ("accept", "progress", "finish"):
        return not_found()
    note = (request.form.get("note") or "").strip()[:200]
    back = f"/tasks/{found.code}"
    try:
        if action == "accept":
            lifecycle.accept(unit(), actor, found)
        elif action == "progress":
            lifecycle.progress(unit(), actor, found, note)
        else:
            lifecycle.finish(unit(), actor, found, Status.RESOLVED, note)
    except Refused as refusal:
        return refused(refusal)
    return done(f"r_task_{action}ed" if action != "progress" else "r_task_noted", back, code=found.code)
