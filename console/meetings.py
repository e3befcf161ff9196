"""Meetings (议事会, 活动): create, edit, publish, cancel, sign-ups and waitlist, check-in
by code, walk-ins and 代报名, minutes and decisions, and a printable sign-in sheet."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import (
    READ,
    WRITE,
    allow,
    chosen_community,
    communities,
    grids,
    in_scope,
    require_community,
    scoped,
)
from console.web import config, db, paginate, parse_local, to_id, unit
from core.texts import text
from domain import residents
from domain.errors import Refused
from domain.meetings import admin, signups
from domain.people import person_name
from domain.reports import paths, queries
from models import Meeting, MeetingStatus, MeetingType, Resident, Role, SignupStatus

bp = Blueprint("meetings", __name__, url_prefix="/console/meetings")


def _meeting(meeting_id: int) -> Meeting:
    return in_scope(Meeting, meeting_id)


@bp.get("")
@allow(*READ)
def index():
    query = scoped(select(Meeting), Meeting.community_id)
    if (community_id := chosen_community(request.args.get("community"))):
        query = query.where(Meeting.community_id == community_id)
    if request.args.get("status") in MeetingStatus.__members__.values():
        query = query.where(Meeting.status == MeetingStatus(request.args["status"]))
    rows, page = paginate(query.order_by(Meeting.starts_at.desc()))
    return render_template("console/meetings.html", rows=rows, page=page,
                           communities=communities(), statuses=list(MeetingStatus))


@bp.route("/new", methods=["GET", "POST"])
@allow(*WRITE)
def new():
    if request.method == "GET":
        return render_template("console/meeting_form.html", types=list(MeetingType),
                               communities=communities(), grids=grids(), form={})
    form = request.form
    community_id = chosen_community(form.get("community"))
    require_community(community_id)
    try:
        made = admin.create(
            unit(), current_user.actor, community_id=community_id, type=_type(form.get("type")),
            title=form.get("title", "")[:100], place=form.get("place", "")[:200],
            online_url=form.get("online_url", "").strip()[:255] or None,
            starts_at=_time(form.get("starts_at")), ends_at=_time(form.get("ends_at")),
            capacity=_number(form.get("capacity")), reserved_seats=_number(form.get("reserved")),
            signup_deadline=parse_local(form.get("deadline")),
            audience=_audience(form, community_id), agenda=_agenda(form, community_id),
            terms=form.get("terms", "").strip()[:500] or None,
            allow_proxy=bool(form.get("allow_proxy")))
    except Refused as refusal:
        flash(refusal.message, "error")
        return render_template("console/meeting_form.html", types=list(MeetingType),
                               communities=communities(), grids=grids(), form=form), 400
    flash(text("c_meeting_created"), "ok")
    return redirect(url_for("meetings.detail", meeting_id=made.id))


def _type(raw: str | None) -> MeetingType:
    return MeetingType(raw) if raw in MeetingType.__members__.values() else MeetingType.COUNCIL


def _time(raw: str | None):
    moment = parse_local(raw)
    if moment is None:
        raise Refused("c_meeting_bad_time")
    return moment


def _number(raw: str | None) -> int:
    value = (raw or "0").strip() or "0"
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise Refused("meeting_bad_capacity")
    return int(value)


def _audience(form, community_id: int) -> dict:
    kind = form.get("audience", "community")
    if kind == "grid":
        grid_id = to_id(form.get("grid"))
        if grid_id not in {g.id for g in grids(community_id)}:
            raise Refused("c_meeting_bad_audience")
        return {"type": "grid", "id": grid_id}
    if kind == "role":
        if form.get("role") not in {r.value for r in Role}:
            raise Refused("c_meeting_bad_audience")
        return {"type": "role", "role": form["role"], "id": community_id}
    return {"type": "community", "id": community_id}


def _agenda(form, community_id: int) -> list[dict]:
    items = [{"text": line.strip()[:200]} for line in form.get("agenda", "").splitlines()[:50]
             if line.strip()]
    for code in form.get("reports", "").replace("，", ",").split(",")[:50]:
        report = queries.by_code(db(), code) if code.strip() else None
        if code.strip() and (report is None or report.community_id != community_id):
            raise Refused("c_meeting_bad_report", code=code.strip()[:16])
        if report is not None:
            items.append(paths.agenda_item(config(), report))
    return items


@bp.get("/<int:meeting_id>")
@allow(*READ)
def detail(meeting_id: int):
    meeting = _meeting(meeting_id)
    people = signups.signups_of(db(), meeting, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED,
                               SignupStatus.CANCELLED)
    residents = {r.id: r for r in db().scalars(select(Resident).where(
        Resident.id.in_([p.resident_id for p in people if p.resident_id])))}
    return render_template("console/meeting.html", meeting=meeting, people=people,
                           residents=residents, seats_left=signups.seats_left(meeting))


@bp.get("/<int:meeting_id>/sheet")
@allow(*READ)
def sheet(meeting_id: int):
    """The printable sign-in sheet: one line per confirmed person, with their check-in QR."""
    meeting = _meeting(meeting_id)
    people = signups.signups_of(db(), meeting, SignupStatus.CONFIRMED)
    residents = {r.id: r for r in db().scalars(select(Resident).where(
        Resident.id.in_([p.resident_id for p in people if p.resident_id])))}
    return render_template("console/meeting_sheet.html", meeting=meeting, people=people,
                           residents=residents)


def _act(meeting_id: int, work, ok_key: str):
    """Run one staff use case on the meeting; a refusal is shown, never half-applied."""
    meeting = _meeting(meeting_id)
    try:
        result = work(meeting)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text(ok_key, result=result), "ok")
    return redirect(url_for("meetings.detail", meeting_id=meeting_id))


@bp.post("/<int:meeting_id>/publish")
@allow(*WRITE)
def publish(meeting_id: int):
    return _act(meeting_id, lambda m: admin.publish(unit(), current_user.actor, m),
                "c_meeting_published")


@bp.post("/<int:meeting_id>/cancel")
@allow(*WRITE)
def cancel(meeting_id: int):
    return _act(meeting_id, lambda m: admin.cancel(unit(), current_user.actor, m),
                "c_meeting_cancelled")


@bp.post("/<int:meeting_id>/edit")
@allow(*WRITE)
def edit(meeting_id: int):
    form = request.form

    def work(meeting: Meeting):
        capacity = _number(form["capacity"]) if form.get("capacity", "").strip() else None
        return admin.edit(unit(), current_user.actor, meeting,
                          starts_at=parse_local(form.get("starts_at")),
                          ends_at=parse_local(form.get("ends_at")),
                          place=form.get("place", "").strip()[:128], capacity=capacity)
    return _act(meeting_id, work, "c_meeting_edited")


@bp.post("/<int:meeting_id>/checkin")
@allow(*WRITE)
def checkin(meeting_id: int):
    code = request.form.get("code", "").strip()[:8]
    return _act(meeting_id, lambda m: _name(admin.check_in(unit(), current_user.actor, m, code)),
                "c_checked_in")


@bp.post("/<int:meeting_id>/walk-in")
@allow(*WRITE)
def walk_in(meeting_id: int):
    name = request.form.get("name", "").strip()[:32]
    return _act(meeting_id, lambda m: _name(admin.walk_in(unit(), current_user.actor, m, name)),
                "c_walked_in")


@bp.post("/<int:meeting_id>/proxy")
@allow(*WRITE)
def proxy(meeting_id: int):
    """代报名: staff sign up a resident (or their family member, by name) who has no phone."""
    mobile, name = request.form.get("mobile", "").strip()[:11], request.form.get("name", "").strip()[:32]

    def work(meeting: Meeting):
        resident = residents.by_mobile(unit(), mobile, meeting.community_id)
        if resident is None:
            raise Refused("c_resident_unknown")
        signup = admin.proxy_signup(unit(), current_user.actor, meeting, resident, name or None)
        return f"{signup.checkin_code}（{text('signup_status_' + signup.status.value)}）"
    return _act(meeting_id, work, "c_proxy_done")


@bp.post("/<int:meeting_id>/close")
@allow(*WRITE)
def close(meeting_id: int):
    form = request.form
    decisions = []
    for line in form.get("decisions", "").splitlines()[:50]:
        if line.strip():
            what, _, owner = line.replace("｜", "|").partition("|")
            decisions.append({"text": what.strip()[:200], "owner": owner.strip()[:32]})
    count = form.get("attendees", "").strip()

    def work(meeting: Meeting):
        if count and not (count.isascii() and count.isdigit() and len(count) <= 6):
            raise Refused("c_bad_attendees")
        return admin.close(unit(), current_user.actor, meeting, minutes=form.get("minutes", "")[:5000],
                           decisions=decisions, attendee_count=int(count) if count else None)
    return _act(meeting_id, work, "c_meeting_closed")


def _name(signup) -> str:
    if signup.proxy_name:
        return signup.proxy_name
    resident = db().get(Resident, signup.resident_id) if signup.resident_id else None
    return person_name(resident) if resident else signup.checkin_code
