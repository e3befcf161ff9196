"""`/healthz`: database reachable, scheduler heartbeat age and outbox backlog, as JSON; and
the site icon browsers ask for at `/favicon.ico`."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, send_file
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from core.outbox import status_counts
from models import Lease

bp = Blueprint("health", __name__)
ICON = Path(__file__).resolve().parent.parent / "console" / "static" / "favicon.svg"


@bp.get("/favicon.ico")
def favicon():
    return send_file(ICON, mimetype="image/svg+xml", max_age=86400)


@bp.get("/healthz")
def healthz():
    """200 when the database answers; scheduler heartbeat age is reported, not judged."""
    sessions = current_app.extensions["linli.read_sessions"]
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
            lease = session.scalar(select(Lease).where(Lease.name == "scheduler"))
            outbox = status_counts(session)
    except SQLAlchemyError:
        return jsonify(database="unreachable"), 503
    age = (current_app.extensions["linli.clock"].now() - lease.heartbeat_at).total_seconds() if lease else None
    return jsonify(database="ok", scheduler_heartbeat_age_seconds=age,
                   scheduler_holder=lease.holder if lease else None, outbox=outbox,
                   outbox_backlog=outbox["pending"] + outbox["sending"])
