"""Time bank (时间银行): pending approvals in bulk, balances, each volunteer's ledger,
redemption requests, the community pool, and adjustments with a mandatory reason."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased

from console.access import (
    READ,
    WRITE,
    allow,
    chosen_community,
    communities,
    in_scope,
    require_community,
)
from console.web import config, db, get_or_404, to_id, unit
from core.texts import TEXTS, text
from domain import residents
from domain.errors import Refused
from domain.people import person_name
from domain.timebank import exchange, family, records, verification
from domain.timebank.input import parse_duration, parse_signed_duration
from models import (
    Account,
    ApplicationStatus,
    Community,
    FamilyLink,
    LedgerEntry,
    LinkStatus,
    RecordStatus,
    Redemption,
    RedemptionStatus,
    Resident,
    ServiceRecord,
    StaffUser,
    VolunteerApplication,
)

bp = Blueprint("timebank", __name__, url_prefix="/console/timebank")
LIST = 200


def _community() -> int:
    community_id = chosen_community(request.values.get("community"))
    if community_id is None:
        community_id = communities()[0].id
    require_community(community_id)
    return community_id


@bp.get("")
@allow(*READ)
def index():
    community_id = _community()
    served = aliased(Resident)
    pending = db().execute(select(ServiceRecord, Resident, served).join(
        Resident, Resident.id == ServiceRecord.volunteer_id).outerjoin(
        served, served.id == ServiceRecord.beneficiary_id).where(
        ServiceRecord.community_id == community_id, ServiceRecord.status == RecordStatus.PENDING)
        .order_by(ServiceRecord.id).limit(LIST)).all()
    relative = aliased(Resident)
    links = db().execute(select(FamilyLink, Resident, relative).join(
        Resident, Resident.id == FamilyLink.resident_id).join(relative, relative.id == FamilyLink.relative_id)
        .where(FamilyLink.community_id == community_id, FamilyLink.status == LinkStatus.PENDING)
        .order_by(FamilyLink.id).limit(LIST)).all()
    applications = db().execute(select(VolunteerApplication, Resident).join(Resident).where(
        Resident.community_id == community_id,
        VolunteerApplication.status == ApplicationStatus.PENDING).order_by(VolunteerApplication.id)).all()
    redemptions = db().execute(select(Redemption, Resident).join(
        Account, Account.id == Redemption.account_id).join(Resident, Resident.id == Account.owner_id)
        .where(Redemption.community_id == community_id, Redemption.status == RedemptionStatus.HELD)
        .order_by(Redemption.id)).all()
    balances = db().execute(select(Account, Resident).join(Resident, Resident.id == Account.owner_id)
                            .where(Account.community_id == community_id)
                            .order_by(Account.balance.desc()).limit(LIST)).all()
    pool = db().scalar(select(Account).where(Account.community_id == community_id,
                                             Account.owner_id.is_(None)))
    days = config().timebank.pair_window_days
    rule = verification.policy(unit(), community_id)
    return render_template("console/timebank.html", records=pending, applications=applications, links=links,
                           policy=rule, waiting=lambda record: "、".join(
                               text(f"c_waiting_{who}") for who in sorted(verification.waiting_on(unit(), record, rule))),
                           flag_texts=lambda record: verification.flag_texts(record, days),
                           redemptions=redemptions, balances=balances, pool=pool,
                           community=db().get(Community, community_id), communities=communities())


def _run(work, back, ok=lambda result: text("c_saved")):
    """One use case; a refusal is shown and nothing of it was written."""
    try:
        result = work()
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(ok(result), "ok")
    return back


def _back(community_id: int):
    return redirect(url_for("timebank.index", community=community_id))


def _ids() -> list[int]:
    return [i for i in (to_id(raw) for raw in request.form.getlist("ids")[:LIST]) if i]


@bp.post("/records")
@allow(*WRITE)
def decide_records():
    """Approve or reject the ticked service records (bulk)."""
    community_id = _community()
    reason = request.form.get("reason", "").strip()[:200]
    if request.form.get("decision") == "approve":
        work = lambda: verification.approve_many(unit(), current_user.actor, community_id, _ids())  # noqa: E731
    else:
        work = lambda: verification.reject_many(unit(), current_user.actor, community_id, _ids(), reason)  # noqa: E731
    return _run(work, _back(community_id), lambda done: _records_done(community_id, done))


def _records_done(community_id: int, done: list[int]) -> str:
    """How many were handled, which still wait for the person served, which flagged ones
    were left for one-by-one review."""
    said = text("c_records_done", n=len(done))
    rows = db().scalars(select(ServiceRecord).where(ServiceRecord.community_id == community_id,
                                                    ServiceRecord.status == RecordStatus.PENDING)).all()
    waiting = [f"S{r.id}" for r in rows if r.id in done]
    flagged = [f"S{r.id}" for r in rows if r.flags and r.reviewed_at is None]
    if waiting:
        said += text("c_records_waiting", codes="、".join(waiting[:10]))
    if flagged:
        said += text("c_records_flagged", codes="、".join(flagged[:10]))
    return said


@bp.post("/applications/<int:application_id>")
@allow(*WRITE)
def decide_application(application_id: int):
    application = get_or_404(VolunteerApplication, application_id)
    owner = db().get(Resident, application.resident_id)
    require_community(owner.community_id)
    approve = request.form.get("decision") == "approve"
    return _run(lambda: records.decide_application(
        unit(), current_user.actor, application, approve, request.form.get("reason", "")[:200]),
        _back(owner.community_id))


@bp.post("/family/<int:link_id>")
@allow(*WRITE)
def decide_link(link_id: int):
    """Confirm a family link a resident declared, or decline it with the reason."""
    link = in_scope(FamilyLink, link_id)
    confirm = request.form.get("decision") == "confirm"
    return _run(lambda: family.decide_link(unit(), current_user.actor, link, confirm,
                                           request.form.get("reason", "")[:200]), _back(link.community_id))


@bp.post("/redemptions/<int:redemption_id>")
@allow(*WRITE)
def settle(redemption_id: int):
    redemption = in_scope(Redemption, redemption_id)
    fulfil = request.form.get("decision") == "fulfil"
    return _run(lambda: exchange.settle_redemption(unit(), current_user.actor, redemption, fulfil),
                _back(redemption.community_id))


@bp.get("/accounts/<int:account_id>")
@allow(*READ)
def ledger(account_id: int):
    account = in_scope(Account, account_id)
    entries = db().scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                           .order_by(LedgerEntry.id.desc()).limit(500)).all()
    owner = db().get(Resident, account.owner_id) if account.owner_id else None
    return render_template("console/ledger.html", account=account, owner=owner, entries=entries)


@bp.post("/accounts/<int:account_id>/adjust")
@allow(*WRITE)
def adjust(account_id: int):
    account = in_scope(Account, account_id)
    if account.owner_id is None:
        abort(404)
    reason = request.form.get("reason", "").strip()[:200]

    def work():
        if not reason:
            raise Refused("c_reason_required")
        minutes = parse_signed_duration(request.form.get("hours", ""), config())
        return exchange.adjust(unit(), current_user.actor, account, minutes, reason)
    return _run(work, redirect(url_for("timebank.ledger", account_id=account_id)))


@bp.post("/pool/grant")
@allow(*WRITE)
def grant():
    """From the community pool to an elder in need, found by registered mobile number."""
    community_id = _community()

    def work():
        elder = residents.by_mobile(unit(), request.form.get("mobile", "").strip()[:11], community_id)
        if elder is None:
            raise Refused("c_resident_unknown")
        minutes = parse_duration(request.form.get("hours", ""), config(), daily_limit=False)
        exchange.grant(unit(), current_user.actor, elder, minutes)
    return _run(work, _back(community_id))


# --- the ledger in words staff read ---------------------------------------------------------

SOURCES = {"record": "S", "redemption": "R", "transfer": "Z"}


def entry_source(source: str) -> str:
    """record:12 → 服务记录 S12, transfer:5 → 转赠 Z5, donation:… → 捐赠 …"""
    kind, _, rest = source.partition(":")
    key = f"c_source_{kind}"
    if key not in TEXTS:
        return source
    number = rest if rest.isdigit() else ""
    return text(key, code=f"{SOURCES.get(kind, '')}{number}" if number else "").strip()


def entry_actor(label: str) -> str:
    """Who made the entry, named: 本人, 系统, a staff member's or resident's name."""
    names = g.setdefault("ledger_names", {})
    if label not in names:
        kind, _, rest = label.partition(":")
        if kind in ("chat", "beneficiary") and rest.isdigit():
            who = person_name(db().get(Resident, int(rest)))
            names[label] = text("c_actor_beneficiary", name=who) if kind == "beneficiary" else who
        elif kind == "console":
            names[label] = db().scalar(select(StaffUser.display_name).where(StaffUser.username == rest)) or rest
        else:
            names[label] = text(f"c_actor_{kind}", name=rest) if f"c_actor_{kind}" in TEXTS else label
    return names[label]
