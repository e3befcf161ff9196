"""Open311 GeoReport v2: services, requests (read; create with an API key), discovery.

Reports created here enter the same triage as chat reports. Nothing about a
reporter is ever returned; personal fields a client sends (email, name, phone)
are not stored.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select

from bot import reports
from bot.db import transaction
from bot.texts import text
from models import Report, ReportEvent, ReportPhoto, Status, utcnow

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

CLOSED = {Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE}
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
MAX_ADDRESS, MAX_URL = 128, 512
URL = re.compile(r"^https?://[^\s]+$")


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def _config():
    return current_app.config["LINLI"]


def _render(fmt: str, root: str, item: str, rows: list[dict], status: int = 200) -> Response:
    if fmt == "json":
        resp = jsonify(rows)
        resp.status_code = status
        return resp
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            ET.SubElement(node, key).text = "" if value is None else (
                ",".join(value) if isinstance(value, list) else
                str(value).lower() if isinstance(value, bool) else str(value))
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, status=status, mimetype="text/xml")


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "format must be json or xml")
    return fmt


@bp.errorhandler(Open311Error)
def _error(exc: Open311Error):
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return _render(fmt, "errors", "error", [{"code": exc.status, "description": exc.description}],
                   exc.status)


@bp.get("/discovery.json")
def discovery():
    base = request.host_url.rstrip("/") + "/open311/v2"
    return jsonify(changeset="2026-11-21T00:00:00Z", contact="community staff",
                   key_service="ask community staff for an API key",
                   endpoints=[{"specification": "http://wiki.open311.org/GeoReport_v2",
                               "url": base, "changeset": "2026-11-21T00:00:00Z",
                               "type": "production",
                               "formats": ["application/json", "text/xml"]}])


@bp.get("/services.<fmt>")
def services(fmt: str):
    rows = [{"service_code": c.code, "service_name": c.name, "description": c.advice or c.name,
             "metadata": False, "type": "realtime", "keywords": list(c.keywords),
             "group": text(f"tier_{c.tier.value}")} for c in reports.categories(_config())]
    return _render(_fmt(fmt), "services", "service", rows)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(_config().tz).isoformat(timespec="seconds") if moment else None


def _represent(session, rows: list[Report]) -> list[dict]:
    ids = [r.id for r in rows]
    notes, media = {}, {}
    if ids:
        last = (select(func.max(ReportEvent.id)).where(ReportEvent.report_id.in_(ids))
                .group_by(ReportEvent.report_id))
        for event in session.scalars(select(ReportEvent).where(ReportEvent.id.in_(last))):
            notes[event.report_id] = event.note
        for report_id, url in session.execute(
                select(ReportPhoto.report_id, ReportPhoto.pic_url).where(
                    ReportPhoto.report_id.in_(ids), ReportPhoto.purpose == "report")
                .order_by(ReportPhoto.id)):
            media.setdefault(report_id, url)
    out = []
    for r in rows:
        cat = reports.category(_config(), r.category)
        out.append({
            "service_request_id": r.code, "status": "closed" if r.status in CLOSED else "open",
            "status_notes": notes.get(r.id) or text(f"status_{r.status.value}"),
            "service_name": cat.name if cat else r.category, "service_code": r.category,
            "description": r.description, "agency_responsible": r.assignee_title,
            "service_notice": text(f"tier_{r.tier.value}"),
            "requested_datetime": _iso(r.created_at), "updated_datetime": _iso(r.updated_at),
            "expected_datetime": _iso(r.resolve_due_at) if r.status not in CLOSED else None,
            "address": r.address, "address_id": None, "zipcode": None,
            "lat": r.lat, "long": r.lng, "media_url": media.get(r.id)})
    return out


def _date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=_config().tz)


@bp.get("/requests.<fmt>")
def list_requests(fmt: str):
    fmt = _fmt(fmt)
    query = select(Report).where(Report.code.is_not(None))
    ids = request.args.get("service_request_id")
    if ids:
        query = query.where(Report.code.in_([i.strip().upper() for i in ids.split(",")][:MAX_RESULTS]))
    else:
        end = _date("end_date") or utcnow()
        start = _date("start_date") or end - timedelta(days=DEFAULT_DAYS)
        query = query.where(Report.created_at >= start, Report.created_at <= end)
    if request.args.get("service_code"):
        query = query.where(Report.category == request.args["service_code"])
    status = request.args.get("status")
    if status == "open":
        query = query.where(Report.status.not_in(CLOSED))
    elif status == "closed":
        query = query.where(Report.status.in_(CLOSED))
    elif status:
        raise Open311Error(400, "status must be open or closed")
    with current_app.extensions["linli.sessions"]() as session:
        rows = session.scalars(query.order_by(Report.created_at.desc()).limit(MAX_RESULTS)).all()
        return _render(fmt, "service_requests", "request", _represent(session, rows))


@bp.get("/requests/<code>.<fmt>")
def one_request(code: str, fmt: str):
    fmt = _fmt(fmt)
    with current_app.extensions["linli.sessions"]() as session:
        report = reports.by_code(session, code)
        if report is None:
            raise Open311Error(404, f"no service request {code[:20]}")
        return _render(fmt, "service_requests", "request", _represent(session, [report]))


def _number(name: str, low: float, high: float) -> float | None:
    raw = request.form.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} out of range")
    return value


@bp.post("/requests.<fmt>")
def create_request(fmt: str):
    """Create a report (API key required): service_code, lat/long, description, media_url."""
    fmt = _fmt(fmt)
    config = _config()
    if request.form.get("api_key") not in set(config.get_path("open311.api_keys") or []):
        raise Open311Error(403, "a valid api_key is required to create service requests")
    code = request.form.get("service_code", "")
    if reports.category(config, code) is None:
        raise Open311Error(400, f"unknown service_code {code[:32]!r}")
    lat, lng = _number("lat", -90, 90), _number("long", -180, 180)
    if lat is None or lng is None:
        raise Open311Error(400, "lat and long are required")
    description = (request.form.get("description") or "").strip()
    limit = int(config.get_path("reports.max_description", 500))
    if not description:
        raise Open311Error(400, "description is required")
    if len(description) > limit:
        raise Open311Error(400, f"description longer than {limit} characters")
    address = (request.form.get("address_string") or "").strip() or None
    if address and len(address) > MAX_ADDRESS:
        raise Open311Error(400, f"address_string longer than {MAX_ADDRESS} characters")
    media_url = (request.form.get("media_url") or "").strip()
    if media_url and (len(media_url) > MAX_URL or not URL.match(media_url)):
        raise Open311Error(400, "media_url must be an http(s) URL of at most 512 characters")
    with transaction(current_app.extensions["linli.sessions"]) as session:
        community = reports.community_at(session, lat, lng)
        if community is None:
            raise Open311Error(400, "the location is outside every community served here")
        report = reports.create(
            session, config, resident=None, community_id=community.id, building_id=None,
            category_code=code, description=description, address=address, lat=lat, lng=lng,
            photos=[{"media_id": "", "pic_url": media_url}] if media_url else [],
            source="open311", now=datetime.now(timezone.utc))
        result = [{"service_request_id": report.code,
                   "service_notice": text(f"tier_{report.tier.value}"), "account_id": None}]
    return _render(fmt, "service_requests", "request", result)
