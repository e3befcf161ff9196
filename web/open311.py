"""Open311 GeoReport v2: services, requests (read; create with an API key), discovery.

The feed is public, so it carries only what a stranger may see:
- private matters (私事) and categories marked `public: false` never appear;
- requests are named by a random public id, never by the walkable BS code;
- the place is the building or the community, coordinates are rounded to ~100 m;
- the description and photo appear only once staff approved publishing the report
  (console → 公开), with phone, ID-card numbers and names masked.
Reports created here enter the same triage as chat reports. Nothing about a
reporter is returned; personal fields a client sends (email, name, phone) are not stored.
"""
from __future__ import annotations

import hmac
import math
import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select

from core.clock import Clock
from core.db import transaction
from core.texts import text
from domain.errors import Refused
from domain.people import mask_numbers
from domain.reports import lifecycle, places, queries
from domain.reports.categories import categories, category
from domain.unit import Unit
from models import Community, Report, ReportEvent, ReportPhoto, Status, Tier

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

CLOSED = {Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.REFERRED, Status.DUPLICATE}
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
MAX_ADDRESS, MAX_URL = 128, 512
URL = re.compile(r"^https?://[^\s]+$")
# What XML 1.0 cannot carry (and what no description needs).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Names people write about others: a surname with a form of address.
NAMED = re.compile(r"([\u4e00-\u9fa5])(?=(?:先生|女士|小姐|阿姨|叔叔|伯伯|阿伯|伯|姨|哥|姐|师傅|老师|婆婆|爷爷|奶奶))")
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def _config():
    return current_app.config["LINLI"]


def _clock() -> Clock:
    return current_app.extensions["linli.clock"]


def _render(fmt: str, root: str, item: str, rows: list[dict], status: int = 200) -> Response:
    if fmt == "json":
        resp = jsonify(rows)
        resp.status_code = status
        return resp
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            shown = "" if value is None else (
                ",".join(value) if isinstance(value, list) else
                str(value).lower() if isinstance(value, bool) else str(value))
            ET.SubElement(node, key).text = CONTROL.sub("", shown)
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


@bp.before_request
def _refuse_nul() -> None:
    """PostgreSQL cannot store a NUL, and no client needs one: refused up front."""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise Open311Error(400, f"{key.replace(chr(0), '')[:32]} contains a NUL byte")


@bp.get("/discovery.json")
def discovery():
    base = request.host_url.rstrip("/") + "/open311/v2"
    return jsonify(changeset="2026-12-01T00:00:00Z", contact="community staff",
                   key_service="ask community staff for an API key",
                   endpoints=[{"specification": "http://wiki.open311.org/GeoReport_v2",
                               "url": base, "changeset": "2026-12-01T00:00:00Z",
                               "type": "production",
                               "formats": ["application/json", "text/xml"]}])


def _public_codes() -> list[str]:
    return [c.code for c in categories(_config()) if c.public]


@bp.get("/services.<fmt>")
def services(fmt: str):
    rows = [{"service_code": c.code, "service_name": c.name, "description": c.advice or c.name,
             "metadata": False, "type": "realtime", "keywords": list(c.keywords),
             "group": text(f"tier_{c.tier.value}")} for c in categories(_config()) if c.public]
    return _render(_fmt(fmt), "services", "service", rows)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(_config().tz).isoformat(timespec="seconds") if moment else None


def _public_text(words: str | None) -> str | None:
    if not words:
        return words
    return CONTROL.sub("", NAMED.sub("*", mask_numbers(words)))


def _represent(session, rows: list[Report]) -> list[dict]:
    ids = [r.id for r in rows]
    notes, media = {}, {}
    communities = dict(session.execute(select(Community.id, Community.name)).all()) if rows else {}
    if ids:
        last = (select(func.max(ReportEvent.id)).where(ReportEvent.report_id.in_(ids),
                                                       ReportEvent.to_status.is_not(None))
                .group_by(ReportEvent.report_id))
        for event in session.scalars(select(ReportEvent).where(ReportEvent.id.in_(last))):
            notes[event.report_id] = event
        published = [r.id for r in rows if r.published]
        for report_id, url in session.execute(
                select(ReportPhoto.report_id, ReportPhoto.pic_url).where(
                    ReportPhoto.report_id.in_(published), ReportPhoto.purpose == "report")
                .order_by(ReportPhoto.id)):
            media.setdefault(report_id, url)
    out = []
    for r in rows:
        cat = category(_config(), r.category)
        event = notes.get(r.id)
        status_note = text(f"status_{r.status.value}")
        out.append({
            "service_request_id": r.public_id, "status": "closed" if r.status in CLOSED else "open",
            "status_notes": _public_text(event.note) if event and r.published and event.note
            else status_note,
            "service_name": cat.name if cat else r.category, "service_code": r.category,
            "description": _public_text(r.description) if r.published else None,
            "agency_responsible": r.assignee_title,
            "service_notice": text(f"tier_{r.tier.value}"),
            "requested_datetime": _iso(r.created_at), "updated_datetime": _iso(r.updated_at),
            "expected_datetime": _iso(r.resolve_due_at) if r.status not in CLOSED else None,
            "address": queries.coarse_place(session, r) or communities.get(r.community_id),
            "address_id": None, "zipcode": None,
            "lat": round(r.lat, 3) if r.lat is not None else None,
            "long": round(r.lng, 3) if r.lng is not None else None,
            "media_url": media.get(r.id)})
    return out


def _date(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        value = value if value.tzinfo else value.replace(tzinfo=_config().tz)
        if not EARLIEST <= value <= LATEST:
            raise OverflowError
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time") from None
    except OverflowError:
        raise Open311Error(400, f"{name} must lie between 2000 and 2100") from None
    return value


def _public(query):
    return query.where(Report.public_id.is_not(None), Report.category.in_(_public_codes()),
                       Report.tier != Tier.PRIVATE)


@bp.get("/requests.<fmt>")
def list_requests(fmt: str):
    fmt = _fmt(fmt)
    query = _public(select(Report))
    ids = request.args.get("service_request_id")
    if ids:
        query = query.where(Report.public_id.in_([i.strip().lower()[:16] for i in ids.split(",")][:MAX_RESULTS]))
    else:
        end = _date("end_date") or _clock().now()
        start = _date("start_date") or end - timedelta(days=DEFAULT_DAYS)
        query = query.where(Report.created_at >= start, Report.created_at <= end)
    if request.args.get("service_code"):
        query = query.where(Report.category == request.args["service_code"][:32])
    status = request.args.get("status")
    if status == "open":
        query = query.where(Report.status.not_in(CLOSED))
    elif status == "closed":
        query = query.where(Report.status.in_(CLOSED))
    elif status:
        raise Open311Error(400, "status must be open or closed")
    with current_app.extensions["linli.read_sessions"]() as session:
        rows = session.scalars(query.order_by(Report.created_at.desc()).limit(MAX_RESULTS)).all()
        return _render(fmt, "service_requests", "request", _represent(session, rows))


@bp.get("/requests/<request_id>.<fmt>")
def one_request(request_id: str, fmt: str):
    fmt = _fmt(fmt)
    with current_app.extensions["linli.read_sessions"]() as session:
        report = session.scalar(_public(select(Report)).where(
            Report.public_id == request_id.strip().lower()[:16]))
        if report is None:
            raise Open311Error(404, f"no service request {request_id[:20]}")
        return _render(fmt, "service_requests", "request", _represent(session, [report]))


def _number(name: str, low: float, high: float) -> float | None:
    raw = request.form.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw[:32])
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} out of range")
    return value


def _key_ok(given: str | None) -> bool:
    return bool(given) and any(hmac.compare_digest(given, key) for key in _config().open311.api_keys)


@bp.post("/requests.<fmt>")
def create_request(fmt: str):
    """Create a report (API key required): service_code, lat/long, description, media_url."""
    fmt = _fmt(fmt)
    config = _config()
    if not _key_ok(request.form.get("api_key")):
        raise Open311Error(403, "a valid api_key is required to create service requests")
    code = request.form.get("service_code", "")
    if category(config, code) is None:
        raise Open311Error(400, f"unknown service_code {code[:32]!r}")
    lat, lng = _number("lat", -90, 90), _number("long", -180, 180)
    if lat is None or lng is None:
        raise Open311Error(400, "lat and long are required")
    description = CONTROL.sub("", request.form.get("description") or "").strip()
    limit = config.reports.max_description
    if not description:
        raise Open311Error(400, "description is required")
    if len(description) > limit:
        raise Open311Error(400, f"description longer than {limit} characters")
    address = CONTROL.sub("", request.form.get("address_string") or "").strip() or None
    if address and len(address) > MAX_ADDRESS:
        raise Open311Error(400, f"address_string longer than {MAX_ADDRESS} characters")
    media_url = (request.form.get("media_url") or "").strip()
    if media_url and (len(media_url) > MAX_URL or not URL.match(media_url)):
        raise Open311Error(400, "media_url must be an http(s) URL of at most 512 characters")
    with transaction(current_app.extensions["linli.sessions"]) as session:
        uow = Unit(session, config, _clock())
        community = places.community_at(session, lat, lng)
        if community is None:
            raise Open311Error(400, "the location is outside every community served here")
        try:
            report = lifecycle.file(
                uow, resident=None, community_id=community.id, building_id=None,
                category_code=code, description=description, address=address, lat=lat, lng=lng,
                photos=[{"media_id": "", "pic_url": media_url}] if media_url else [],
                source="open311")
        except Refused as refusal:
            raise Open311Error(400, refusal.key) from None
        result = [{"service_request_id": report.public_id,
                   "service_notice": text(f"tier_{report.tier.value}"), "account_id": None}]
    return _render(fmt, "service_requests", "request", result)

