"""Chats handed to staff (人工服务): the inbox with unread counts, one chat, answer, end.

Opening a chat marks the resident's messages read (a short write of its own: the page
itself only reads). Answers go out as customer-service messages, which WeChat accepts
only within 48 hours of the resident's last message; the page says when that closes.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import WRITE, allow, in_scope
from console.web import db, now, unit
from core.texts import text
from domain import handoffs
from domain.errors import Refused
from domain.unit import Unit
from models import OPEN_STATUSES, Building, Handoff, HandoffStatus, Report, Resident

bp = Blueprint("chats", __name__, url_prefix="/console/chats")


@bp.get("")
@allow(*WRITE)
def index():
    status = HandoffStatus.CLOSED if request.args.get("status") == "closed" else HandoffStatus.OPEN
    rows = handoffs.inbox(db(), current_user.actor, status)
    return render_template("console/chats.html", rows=rows, status=status.value)


@bp.get("/<int:handoff_id>")
@allow(*WRITE)
def detail(handoff_id: int):
    handoff = in_scope(Handoff, handoff_id)
    _mark_read(handoff.id)
    resident = db().get(Resident, handoff.resident_id)
    building = db().get(Building, resident.building_id) if resident.building_id else None
    reports = db().scalars(select(Report).where(Report.resident_id == resident.id,
                                                Report.status.in_(OPEN_STATUSES))
                           .order_by(Report.id.desc()).limit(10)).all()
    closes = handoffs.window_closes(db(), handoff)
    return render_template("console/chat.html", handoff=handoff, resident=resident, building=building,
                           reports=reports, closes=closes, window_open=bool(closes and closes > now()),
                           limit=handoffs.MAX_ANSWER)


def _mark_read(handoff_id: int) -> None:
    with current_app.extensions["linli.sessions"]() as session:
        work = Unit(session, unit().config, current_app.extensions["linli.clock"])
        handoffs.mark_read(work, current_user.actor, session.get(Handoff, handoff_id))
        session.commit()


def _run(handoff_id: int, work, done_key: str):
    try:
        work(in_scope(Handoff, handoff_id))
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text(done_key), "ok")
    return redirect(url_for("chats.detail", handoff_id=handoff_id))


@bp.post("/<int:handoff_id>/answer")
@allow(*WRITE)
def answer(handoff_id: int):
    words = request.form.get("text", "")[:2000]
    return _run(handoff_id, lambda h: handoffs.answer(unit(), current_user.actor, h, words), "c_chat_sent")


@bp.post("/<int:handoff_id>/close")
@allow(*WRITE)
def close(handoff_id: int):
    return _run(handoff_id, lambda h: handoffs.close(unit(), current_user.actor, h), "c_chat_closed")
