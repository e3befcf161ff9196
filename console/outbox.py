"""The outbox as staff see it: every push with its channel, or why it could not be sent.

Scoped like the rest of the console: staff see pushes to residents of their community.
Undeliverable pushes say what was missing (no subscription, no template, the person
unfollowed …); `linli delivery --requeue-failed` puts dead letters back.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from console.access import READ, allow, scoped
from console.web import db, paginate
from core import outbox
from core.texts import TEXTS
from models import OutboxMessage, OutboxStatus, Resident

bp = Blueprint("outbox", __name__, url_prefix="/console/outbox")
STATUSES = [s.value for s in OutboxStatus]
KIND_KEYS = {k for k in TEXTS if k.startswith("kind_")}


@bp.get("")
@allow(*READ)
def index():
    status = request.args.get("status", "undeliverable")
    query = scoped(select(OutboxMessage, Resident).join(Resident, Resident.id == OutboxMessage.resident_id),
                   Resident.community_id)
    if status in STATUSES:
        query = query.where(OutboxMessage.status == status)
    if (kind := request.args.get("kind", "")[:32]):
        query = query.where(OutboxMessage.kind == kind)
    rows, page = paginate(query.order_by(OutboxMessage.id.desc()))
    rows = [(row, db().get(Resident, row.resident_id)) for row in rows]
    return render_template("console/outbox.html", rows=rows, page=page, status=status, statuses=STATUSES,
                           counts=outbox.status_counts(db()), kinds=KIND_KEYS)
