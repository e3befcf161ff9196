"""The resident pages: my reports and one report (timeline, photos, 已解决/未解决, rating),
one meeting (agenda, time, place, map link, my sign-up with its QR, cancel), one notice,
my hours (balance, ledger, this month), and the notifications I subscribe to."""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import datetime
from urllib.parse import quote

import requests
from flask import current_app, render_template, request
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from core.media import send_photo
from core.texts import text
from domain import subscriptions
from domain.broadcasts import audience_query
from domain.errors import Refused
from domain.meetings import signups
from domain.people import person_name
from domain.reports import lifecycle, queries
from domain.reports.categories import name_of
from domain.timebank import family, verification
from domain.timebank.ledger import hours, kind_key, statement
from models import (
    Account,
    Broadcast,
    LedgerEntry,
    Meeting,
    MeetingStatus,
    RecordStatus,
    Report,
    ReportPhoto,
    Resident,
    ServiceRecord,
    Signup,
    SignupStatus,
    Status,
    Transfer,
)
from web.resident.signin import bp, config, db, done, me, message, not_found, refused, signed_in, unit

log = logging.getLogger(__name__)
SHOWN_MEETINGS = (MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED, MeetingStatus.CLOSED)


def local(moment: datetime | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    return moment.astimezone(config().tz).strftime(fmt) if moment else ""


@bp.app_context_processor
def _helpers():
    return {"local": local, "t": text, "hours": hours, "kind_key": kind_key}


@bp.get("/my")
@signed_in
def home():
    return render_template("resident/home.html", resident=me())


# --- reports ---------------------------------------------------------------------------------

def _report(code: str) -> Report | None:
    report = queries.by_code(db(), code[:16])
    return report if report is not None and queries.can_see(db(), report, me()) else None


@bp.get("/my/reports")
@signed_in
def reports():
    rows = queries.mine(db(), me(), limit=50)
    return render_template("resident/reports.html", rows=rows,
                           category=lambda r: name_of(config(), r.category))


@bp.get("/my/reports/<code>")
@signed_in
def report(code: str):
    found = _report(code)
    if found is None:
        return not_found()
    photos = db().scalars(select(ReportPhoto).where(ReportPhoto.report_id == found.id)
                          .order_by(ReportPhoto.id)).all()
    return render_template("resident/report.html", report=found, mine=found.resident_id == me().id,
                           category=name_of(config(), found.category),
                           timeline=queries.timeline(db(), found, limit=50), photos=photos,
                           awaiting=found.status is Status.RESOLVED, rateable=found.status is Status.CLOSED)


@bp.get("/my/reports/<code>/photos/<int:photo_id>")
@signed_in
def report_photo(code: str, photo_id: int):
    found = _report(code)
    photo = db().get(ReportPhoto, photo_id) if found else None
    if photo is None or photo.report_id != found.id:
        return not_found()
    return send_photo(config(), photo)


@bp.post("/my/reports/<code>/answer")
@signed_in
def report_answer(code: str):
    """已解决 (then a rating) or 未解决 (reopened and escalated), from the buttons."""
    found = _report(code)
    if found is None:
        return not_found()
    back = f"/my/reports/{found.code}"
    try:
        if request.form.get("solved") == "yes":
            lifecycle.confirm_solved(unit(), me(), found)
            return done("r_solved", back)
        lifecycle.reopen(unit(), me(), found)
        return done("reopened", back, code=found.code)
    except Refused as refusal:
        return refused(refusal)


@bp.post("/my/reports/<code>/rating")
@signed_in
def report_rating(code: str):
    found = _report(code)
    if found is None:
        return not_found()
    stars = request.form.get("stars", "")
    try:
        lifecycle.rate(unit(), me(), found, int(stars) if stars.isdigit() else 0,
                       request.form.get("comment", "")[:200] or None)
    except Refused as refusal:
        return refused(refusal)
    return done("thanks_feedback", f"/my/reports/{found.code}", code=found.code)


# --- meetings --------------------------------------------------------------------------------

def _meeting(meeting_id: int) -> tuple[Meeting | None, Signup | None]:
    meeting = db().get(Meeting, meeting_id) if meeting_id < 2 ** 31 else None
    if meeting is None or meeting.status not in SHOWN_MEETINGS:
        return None, None
    signup = db().scalar(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.resident_id == me().id,
        Signup.status != SignupStatus.CANCELLED).order_by(Signup.id.desc()))
    if signup is None and not signups.in_audience(db(), meeting, me()):
        return None, None
    return meeting, signup


@bp.get("/my/meetings/<int:meeting_id>")
@signed_in
def meeting(meeting_id: int):
    found, signup = _meeting(meeting_id)
    if found is None:
        return not_found()
    return render_template(
        "resident/meeting.html", meeting=found, signup=signup,
        map_url=f"https://uri.amap.com/search?keyword={quote(found.place)}",
        qr=signups.qr_url(config(), found.id, signup.checkin_code) if signup else None,
        upcoming=found.starts_at > unit().now and found.status is MeetingStatus.PUBLISHED)


@bp.post("/my/meetings/<int:meeting_id>/cancel")
@signed_in
def meeting_cancel(meeting_id: int):
    found, signup = _meeting(meeting_id)
    if found is None:
        return not_found()
    back = f"/my/meetings/{found.id}"
    if signup is None:
        return message("cancel_not_signed_up", 400)
    try:
        signups.cancel_signup(unit(), signup)
    except Refused as refusal:
        return refused(refusal)
    return done("cancel_signup_done", back, title=found.title)


@bp.post("/my/meetings/<int:meeting_id>/signup")
@signed_in
def meeting_signup(meeting_id: int):
    found, signup = _meeting(meeting_id)
    if found is None:
        return not_found()
    back = f"/my/meetings/{found.id}"
    try:
        signed = signups.sign_up(unit(), found.id, me(), waitlist=request.form.get("waitlist") == "1")
    except Refused as refusal:
        return refused(refusal)
    key = "r_signed_up" if signed.status is SignupStatus.CONFIRMED else "r_waitlisted"
    return done(key, back, title=found.title)


# --- notices ---------------------------------------------------------------------------------

@bp.get("/notices/<int:notice_id>")
@signed_in
def notice(notice_id: int):
    """A notice in full, for the people it was sent to."""
    found = db().get(Broadcast, notice_id) if notice_id < 2 ** 31 else None
    if found is None or found.started_at is None:
        return not_found()
    audience = audience_query(found.audience).subquery()
    if db().scalar(select(audience.c.id).where(audience.c.id == me().id)) is None:
        return not_found()
    return render_template("resident/notice.html", notice=found)


# --- hours -----------------------------------------------------------------------------------

@bp.get("/my/hours")
@signed_in
def my_hours():
    resident = me()
    account = db().scalar(select(Account).where(Account.owner_id == resident.id))
    now = unit().now.astimezone(config().tz)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    entries, month = [], {"earned": 0, "spent": 0, "balance": 0}
    if account is not None:
        entries = db().scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                               .order_by(LedgerEntry.id.desc()).limit(30)).all()
        month = statement(unit(), account, month_start, unit().now)
    waiting = db().scalars(select(ServiceRecord).where(
        ServiceRecord.beneficiary_id == resident.id, ServiceRecord.status == RecordStatus.PENDING,
        ServiceRecord.confirmed_at.is_(None)).order_by(ServiceRecord.id)).all()
    offers = [(offer, person_name(db().get(Resident, offer.giver_id)))
              for offer in family.waiting_for(unit(), resident)]
    return render_template("resident/hours.html", account=account, entries=entries, month=month,
                           month_name=f"{now.month}月", waiting=waiting, offers=offers)


@bp.post("/my/hours/transfers/<int:transfer_id>")
@signed_in
def answer_transfer(transfer_id: int):
    """The family member takes the hours offered to them, or gives them back."""
    offer = db().get(Transfer, transfer_id) if transfer_id < 2 ** 31 else None
    if offer is None or offer.receiver_id != me().id:
        return not_found()
    take = request.form.get("answer") == "accept"
    try:
        settled = (family.accept if take else family.decline)(unit(), me(), offer)
    except Refused as refusal:
        return refused(refusal)
    return done("tb_transfer_taken" if take else "tb_transfer_given_back", "/my/hours",
                hours=hours(settled.minutes))


@bp.post("/my/hours/records/<int:record_id>")
@signed_in
def confirm_record(record_id: int):
    """The person served confirms (or disputes) a volunteer's hours."""
    record = db().get(ServiceRecord, record_id) if record_id < 2 ** 31 else None
    if record is None or record.beneficiary_id != me().id:
        return not_found()
    try:
        if request.form.get("answer") == "confirm":
            credited = verification.beneficiary_confirms(unit(), me(), record)
            return done("tb_confirmed_by_beneficiary" if credited else "tb_confirmed_staff_next", "/my/hours",
                        **verification.confirmed_values(unit(), record))
        verification.beneficiary_denies(unit(), me(), record)
        return done("tb_denied_by_beneficiary", "/my/hours")
    except Refused as refusal:
        return refused(refusal)


# --- subscriptions ---------------------------------------------------------------------------

@bp.get("/my/subscriptions")
@signed_in
def my_subscriptions():
    """Which notifications to receive outside the chat: WeChat's subscribe button per template."""
    by_template: dict[str, list[str]] = {}
    for kind, use in config().wechat.subscriptions.items():
        by_template.setdefault(use.id, []).append(kind)
    granted = subscriptions.allowed(unit(), me())
    offers = [{"id": tid, "labels": "、".join(text(f"sub_{k}") for k in kinds), "grant": granted.get(tid),
               "long_term": config().wechat.subscriptions[kinds[0]].long_term}
              for tid, kinds in by_template.items()]
    return render_template("resident/subscriptions.html", offers=offers, jssdk=_jssdk(),
                           all_ids=",".join(by_template))


def _jssdk() -> dict | None:
    """wx.config for this page: signed with the shared jsapi_ticket (None when unavailable)."""
    try:
        ticket = current_app.extensions["linli.wechat"].jsapi_ticket()
    except (requests.RequestException, WeChatClientException, KeyError):
        log.warning("jsapi ticket unavailable; the subscribe button is disabled")
        return None
    nonce, stamp = secrets.token_hex(8), str(int(time.time()))
    url = request.url.split("#")[0]
    raw = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={stamp}&url={url}"
    return {"appId": config().wechat.appid, "timestamp": stamp, "nonceStr": nonce,
            "signature": hashlib.sha1(raw.encode()).hexdigest(), "script": config().wechat.jssdk_url}
