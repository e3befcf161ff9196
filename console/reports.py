"""Report triage: filterable list, detail (photos, position, timeline) and every action
staff and grid workers take — accept, assign, change tier, update, resolve, reject/refer,
merge duplicates — through the same domain functions as the chat commands."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import or_, select

from console.access import (
    EVERYONE,
    REPORT_WORK,
    WRITE,
    allow,
    chosen_community,
    communities,
    grids,
    scoped,
)
from console.web import config, db, get_or_404, int_arg, now, paginate, to_id, unit
from core.media import send_photo
from core.texts import text
from domain.deliberation import topics
from domain.errors import Refused
from domain.reports import lifecycle, oversight, paths, places, queries
from domain.reports.categories import categories, category
from domain.reports.routing import assignees
from models import (
    OPEN_STATUSES,
    Building,
    Community,
    Grid,
    MediationCase,
    Meeting,
    Report,
    ReportPhoto,
    Resident,
    ReturnVisit,
    Status,
    Supervision,
    Tier,
)

bp = Blueprint("reports", __name__, url_prefix="/console/reports")
MAX_NOTE = 500


def _report(code: str) -> Report:
    report = queries.by_code(db(), code[:16])
    if report is None or not current_user.sees_report(report):
        abort(404)
    return report


@bp.get("")
@allow(*EVERYONE)
def index():
    query = scoped(select(Report), Report.community_id, Report.grid_id)
    community_id = chosen_community(request.args.get("community"))
    if community_id:
        query = query.where(Report.community_id == community_id)
    if (grid := int_arg("grid")):
        query = query.where(Report.grid_id == grid)
    status = request.args.get("status", "open")
    if status == "open":
        query = query.where(Report.status.in_(OPEN_STATUSES))
    elif status in Status.__members__.values():
        query = query.where(Report.status == Status(status))
    if request.args.get("tier") in Tier.__members__.values():
        query = query.where(Report.tier == Tier(request.args["tier"]))
    if request.args.get("category"):
        query = query.where(Report.category == request.args["category"][:32])
    if request.args.get("overdue"):
        moment = now()
        query = query.where(Report.status.in_(OPEN_STATUSES), or_(
            (Report.status == Status.SUBMITTED) & (Report.accept_due_at < moment),
            Report.resolve_due_at < moment))
    if request.args.get("warned"):
        query = query.where(Report.status.in_(OPEN_STATUSES), Report.escalation == 1)
    if request.args.get("unassigned"):
        query = query.where(Report.status.in_(OPEN_STATUSES), Report.assignee_id.is_(None),
                            Report.tier == Tier.SMALL)
    if (words := request.args.get("q", "").strip()[:40]):
        like = f"%{words}%"
        query = query.where(or_(Report.code == words.upper(), Report.description.like(like),
                                Report.address.like(like)))
    rows, page = paginate(query.order_by(Report.id.desc()))
    return render_template("console/reports.html", rows=rows, page=page, status=status,
                           communities=communities(), grids=grids(community_id),
                           categories=categories(config()), now=now())


@bp.get("/<code>")
@allow(*EVERYONE)
def detail(code: str):
    report = _report(code)
    community = db().get(Community, report.community_id)
    targets = assignees(db(), report.community_id)
    original = db().get(Report, report.duplicate_of_id) if report.duplicate_of_id else None
    reporter = db().get(Resident, report.resident_id) if report.resident_id else None
    tickets = db().scalars(select(Supervision).where(Supervision.report_id == report.id)
                           .order_by(Supervision.id)).all()
    visits = db().scalars(select(ReturnVisit).where(ReturnVisit.report_id == report.id)
                          .order_by(ReturnVisit.id)).all()
    meetings = db().scalars(select(Meeting).where(
        Meeting.community_id == report.community_id, Meeting.status.in_(paths.AGENDA_STATUSES),
        Meeting.type.in_(paths.DELIBERATIONS), Meeting.starts_at > now())
        .order_by(Meeting.starts_at).limit(20)).all()
    building = db().get(Building, report.building_id) if report.building_id else None
    grid = db().get(Grid, report.grid_id) if report.grid_id else None
    mediation = db().scalar(select(MediationCase).where(MediationCase.report_id == report.id))
    return render_template("console/report.html", report=report, community=community,
                           targets=targets, original=original, grids={g.id: g for g in grids()},
                           category=category(config(), report.category), reporter=reporter,
                           position=_position(report, community), tickets=tickets, visits=visits,
                           meetings=meetings, mediation=mediation, building=building,
                           grid_name=grid.name if grid else None,
                           templates=_templates(), open=report.status in OPEN_STATUSES)


def _position(report: Report, community: Community) -> dict | None:
    """Where the report sits inside the community circle, for a tile-free SVG sketch."""
    if report.lat is None or community.center_lat is None:
        return None
    radius = community.radius_m or 1000
    dx = places.distance_m(community.center_lat, community.center_lng,
                           community.center_lat, report.lng) * (1 if report.lng >= community.center_lng else -1)
    dy = places.distance_m(community.center_lat, community.center_lng,
                           report.lat, community.center_lng) * (1 if report.lat >= community.center_lat else -1)
    clamp = lambda v: max(-1.0, min(1.0, v / radius))  # noqa: E731
    return {"x": round(100 + 90 * clamp(dx), 1), "y": round(100 - 90 * clamp(dy), 1),
            "distance": round((dx * dx + dy * dy) ** 0.5)}


def _templates() -> dict[str, list[str]]:
    return {status: text(f"c_tpl_{status}").split("\n")
            for status in ("in_progress", "resolved", "rejected", "referred")}


@bp.get("/photos/<int:photo_id>")
@allow(*EVERYONE)
def photo(photo_id: int):
    row = get_or_404(ReportPhoto, photo_id)
    _report(db().get(Report, row.report_id).code)
    return send_photo(config(), row)


def _run(report: Report, work, ok_key: str = "c_report_done", **values):
    """One use case on the report; a refusal is shown, and nothing of it was written."""
    try:
        work()
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(text(ok_key, code=report.code, **values), "ok")
    return redirect(url_for("reports.detail", code=report.code))


def _note() -> str:
    return request.form.get("note", "").strip()[:MAX_NOTE]


def _actor():
    return current_user.actor


@bp.post("/<code>/accept")
@allow(*REPORT_WORK)
def accept(code: str):
    report = _report(code)
    return _run(report, lambda: lifecycle.accept(unit(), _actor(), report, _note() or None))


@bp.post("/<code>/update")
@allow(*REPORT_WORK)
def update(code: str):
    """A progress note; a new or accepted report moves to in progress."""
    report = _report(code)
    return _run(report, lambda: lifecycle.progress(unit(), _actor(), report, _note()))


FINISH = {"resolved": Status.RESOLVED, "rejected": Status.REJECTED, "referred": Status.REFERRED}


@bp.post("/<code>/finish")
@allow(*REPORT_WORK)
def finish(code: str):
    """Resolve, reject or refer, with the note the reporter will read."""
    report = _report(code)
    to = FINISH.get(request.form.get("to", ""))
    if to is None:
        flash(text("c_bad_request"), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: lifecycle.finish(unit(), _actor(), report, to, _note()))


@bp.post("/<code>/assign")
@allow(*REPORT_WORK)
def assign(code: str):
    report = _report(code)
    wanted = request.form.get("target", "")
    if wanted == "staff":
        target = lifecycle.to_community_staff(unit(), report)
    else:
        target = next((t for t in assignees(db(), report.community_id)
                       if f"{t[0]}:{t[1]}" == wanted), None)
    if target is None:
        flash(text("c_assign_unknown"), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: lifecycle.assign(unit(), _actor(), report, grid_id=target[0],
                                                 assignee_id=target[1], title=target[2]),
                "c_report_assigned", title=target[2])


@bp.post("/<code>/tier")
@allow(*WRITE)
def tier(code: str):
    report = _report(code)
    if request.form.get("tier") not in Tier.__members__.values():
        flash(text("c_bad_tier"), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: oversight.triage(unit(), _actor(), report, Tier(request.form["tier"]),
                                                request.form.get("reason", "")[:200]))


@bp.post("/<code>/send-back")
@allow(*REPORT_WORK)
def send_back(code: str):
    """退单: the assignee returns a wrong assignment to triage, saying why."""
    report = _report(code)
    return _run(report, lambda: oversight.send_back(unit(), _actor(), report, _note()),
                "c_report_sent_back")


@bp.post("/<code>/supervise")
@allow(*WRITE)
def supervise(code: str):
    """督办: staff require the assignee to account for the report."""
    report = _report(code)
    return _run(report, lambda: oversight.supervise(unit(), _actor(), report, _note()),
                "c_report_supervised")


@bp.post("/<code>/answer")
@allow(*REPORT_WORK)
def answer(code: str):
    """The assignee answers the report's open 督办."""
    report = _report(code)
    ticket = db().scalar(select(Supervision).where(Supervision.report_id == report.id,
                                                   Supervision.answered_at.is_(None)))
    if ticket is None:
        flash(text("supervision_none", code=report.code), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: oversight.answer_supervision(unit(), _actor(), ticket, _note()))


@bp.post("/<code>/agenda")
@allow(*WRITE)
def agenda(code: str):
    """大事 to deliberation: the report becomes a topic of a coming meeting."""
    report = _report(code)
    meeting = db().get(Meeting, to_id(request.form.get("meeting", "")) or 0)
    if meeting is None or not current_user.sees_community(meeting.community_id):
        flash(text("agenda_bad_meeting"), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: paths.put_on_agenda(unit(), _actor(), report, meeting),
                "c_report_on_agenda", title=meeting.title)


@bp.post("/<code>/topic")
@allow(*WRITE)
def to_topic(code: str):
    """大事 → 议题: the report becomes a topic for 五步议事 (its reporter the proposer)."""
    report = _report(code)
    try:
        topic = topics.from_report(unit(), _actor(), report)
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("reports.detail", code=report.code))
    flash(text("c_topic_done", code=topic.code), "ok")
    return redirect(url_for("topics.detail", topic_id=topic.id))


@bp.post("/<code>/publish")
@allow(*WRITE)
def publish(code: str):
    """Staff approve (or withdraw) showing the description and photos in the public feed."""
    report = _report(code)
    shown = request.form.get("published") == "1"
    return _run(report, lambda: lifecycle.set_published(unit(), _actor(), report, shown))


@bp.post("/<code>/merge")
@allow(*REPORT_WORK)
def merge(code: str):
    report = _report(code)
    original = queries.by_code(db(), request.form.get("original", "")[:16])
    if original is None or original.id == report.id or not current_user.sees_report(original) \
            or original.community_id != report.community_id:
        flash(text("c_merge_unknown"), "error")
        return redirect(url_for("reports.detail", code=report.code))
    return _run(report, lambda: lifecycle.merge(unit(), _actor(), report, original),
                "c_report_merged", original=original.code)
