"""Meeting pages for phones and printers: RFC 5545 calendars (`/meetings/<id>.ics`, a
community's `…/meetings.ics`) and check-in QR codes (`/meetings/<id>/checkin/<code>.svg`)."""
from __future__ import annotations

import io
from datetime import timedelta

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app
from icalendar import Calendar, Event
from sqlalchemy import select

from models import Community, Meeting, MeetingStatus, Signup, SignupStatus

MAX_ID = 2 ** 31 - 1

bp = Blueprint("calendar", __name__)
SHOWN = (MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED, MeetingStatus.CLOSED)


def _calendar(name: str, meetings: list[Meeting]) -> Response:
    cal = Calendar()
    cal.add("prodid", "-//Linli//Community meetings//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    host = current_app.config["LINLI"].server.public_url.split("//")[-1]
    for meeting in meetings:
        event = Event()
        event.add("uid", f"meeting-{meeting.id}@{host}")
        event.add("dtstamp", meeting.published_at or meeting.created_at)
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.ends_at)
        event.add("summary", meeting.title)
        event.add("location", meeting.place)
        event.add("description", "；".join(a.get("text", "") for a in meeting.agenda))
        event.add("status", "CANCELLED" if meeting.status is MeetingStatus.CANCELLED else "CONFIRMED")
        if meeting.online_url:
            event.add("url", meeting.online_url)
        cal.add_component(event)
    return Response(cal.to_ical(), mimetype="text/calendar",
                    headers={"Content-Disposition": "inline; filename=meetings.ics"})


@bp.get("/meetings/<int:meeting_id>.ics")
def meeting_ics(meeting_id: int):
    if meeting_id > MAX_ID:
        abort(404)
    with current_app.extensions["linli.read_sessions"]() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None or meeting.status not in SHOWN:
            abort(404)
        return _calendar(meeting.title, [meeting])


@bp.get("/communities/<int:community_id>/meetings.ics")
def community_ics(community_id: int):
    if community_id > MAX_ID:
        abort(404)
    now = current_app.extensions["linli.clock"].now()
    with current_app.extensions["linli.read_sessions"]() as session:
        community = session.get(Community, community_id)
        if community is None:
            abort(404)
        meetings = session.scalars(select(Meeting).where(
            Meeting.community_id == community_id, Meeting.status.in_(SHOWN),
            Meeting.starts_at >= now - timedelta(days=90)).order_by(Meeting.starts_at)).all()
        return _calendar(f"{community.name}议事会·活动", list(meetings))


@bp.get("/meetings/<int:meeting_id>/checkin/<code>.svg")
def checkin_qr(meeting_id: int, code: str):
    """The sign-up's check-in code as a QR image (it encodes only the code)."""
    if not (code.isascii() and code.isdigit()) or len(code) != 6 or meeting_id > MAX_ID:
        abort(404)
    with current_app.extensions["linli.read_sessions"]() as session:
        found = session.scalar(select(Signup.id).where(
            Signup.meeting_id == meeting_id, Signup.checkin_code == code,
            Signup.status == SignupStatus.CONFIRMED))
    if found is None:
        abort(404)
    image = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    out = io.BytesIO()
    image.save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})
