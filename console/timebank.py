"""Time bank (时间银行): pending approvals in bulk, balances, each volunteer's ledger,
redemption requests, the community pool, and adjustments with a mandatory reason."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import timebank as tb
from bot.texts import text
from bot.timebank_input import parse_duration, parse_signed_duration
from console.access import READ, WRITE, allow, audit, chosen_community, communities, \
    in_scope, require_community
from console.web import config, db, get_or_404, now
from models import (Account, ApplicationStatus, Community, LedgerEntry, RecordStatus, Redemption,
                    RedemptionStatus, Resident, ServiceRecord, VolunteerApplication)

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
    records = db().execute(select(ServiceRecord, Resident).join(
        Resident, Resident.id == ServiceRecord.volunteer_id).where(
        ServiceRecord.community_id == community_id, ServiceRecord.status == RecordStatus.PENDING)
        .order_by(ServiceRecord.id).limit(LIST)).all()
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
    return render_template("console/timebank.html", records=records, applications=applications,
                           redemptions=redemptions, balances=balances, pool=pool,
                           community=db().get(Community, community_id), communities=communities())


def _back(community_id: int):
    return redirect(url_for("timebank.index", community=community_id))


def _refused(exc: tb.TimebankError, back):
    db().rollback()
    flash(str(exc), "error")
    return back


def _ids() -> list[int]:
    return [int(i) for i in request.form.getlist("ids") if i.isdigit()][:LIST]


@bp.post("/records")
@allow(*WRITE)
def decide_records():
    """Approve or reject the ticked service records (bulk)."""
    community_id = _community()
    approve, reason = request.form.get("decision") == "approve", request.form.get("reason", "").strip()
    if not approve and not reason:
        flash(text("c_reason_required"), "error")
        return _back(community_id)
    done = []
    for record in db().scalars(select(ServiceRecord).where(
            ServiceRecord.id.in_(_ids()), ServiceRecord.community_id == community_id,
            ServiceRecord.status == RecordStatus.PENDING)):
        if approve:
            tb.approve(db(), config(), record, current_user.actor, now())
        else:
            tb.reject(db(), record, current_user.actor, reason, now())
        done.append(record.id)
    audit("timebank_bulk_" + ("approve" if approve else "reject"), f"community:{community_id}",
          {"status": "pending"}, {"records": done}, reason or None)
    db().commit()
    flash(text("c_records_done", n=len(done)), "ok" if done else "error")
    return _back(community_id)


@bp.post("/applications/<int:application_id>")
@allow(*WRITE)
def decide_application(application_id: int):
    application = get_or_404(VolunteerApplication, application_id)
    owner = db().get(Resident, application.resident_id)
    require_community(owner.community_id)
    approve, reason = request.form.get("decision") == "approve", request.form.get("reason", "").strip()
    if not approve and not reason:
        flash(text("c_reason_required"), "error")
        return _back(owner.community_id)
    try:
        tb.decide_application(db(), application, approve, current_user.actor, now(), reason)
    except tb.TimebankError as exc:
        return _refused(exc, _back(owner.community_id))
    audit("volunteer_" + ("approve" if approve else "decline"), f"application:{application.id}",
          {"status": "pending"}, {"status": application.status.value}, reason or None)
    db().commit()
    flash(text("c_saved"), "ok")
    return _back(owner.community_id)


@bp.post("/redemptions/<int:redemption_id>")
@allow(*WRITE)
def settle(redemption_id: int):
    redemption = in_scope(Redemption, redemption_id)
    fulfil = request.form.get("decision") == "fulfil"
    try:
        tb.settle_redemption(db(), redemption, fulfil, current_user.actor, now())
    except tb.TimebankError as exc:
        return _refused(exc, _back(redemption.community_id))
    audit("redemption_" + ("fulfil" if fulfil else "cancel"), f"redemption:{redemption.id}",
          {"status": "held"}, {"status": redemption.status.value})
    db().commit()
    flash(text("c_saved"), "ok")
    return _back(redemption.community_id)


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
    reason = request.form.get("reason", "").strip()
    try:
        if not reason:
            raise tb.TimebankError("c_reason_required")
        minutes = parse_signed_duration(request.form.get("hours", ""), config())
        before = tb.adjust(db(), account, minutes, current_user.actor, reason)
    except tb.TimebankError as exc:
        return _refused(exc, redirect(url_for("timebank.ledger", account_id=account_id)))
    audit("timebank_adjust", f"account:{account.id}", {"balance": before},
          {"balance": before + minutes}, reason[:200])
    db().commit()
    flash(text("c_saved"), "ok")
    return redirect(url_for("timebank.ledger", account_id=account_id))


@bp.post("/pool/grant")
@allow(*WRITE)
def grant():
    """From the community pool to an elder in need, found by registered mobile number."""
    community_id = _community()
    mobile = request.form.get("mobile", "").strip()[:11]
    elder = db().scalar(select(Resident).where(Resident.mobile == mobile,
                                               Resident.community_id == community_id))
    try:
        if elder is None:
            raise tb.TimebankError("c_resident_unknown")
        minutes = parse_duration(request.form.get("hours", ""), config(), daily_limit=False)
        tb.grant(db(), elder, minutes, current_user.actor, now())
    except tb.TimebankError as exc:
        return _refused(exc, _back(community_id))
    audit("timebank_grant", f"resident:{elder.id}", None, {"minutes": minutes})
    db().commit()
    flash(text("c_saved"), "ok")
    return _back(community_id)
