"""Verifying service records (时间储蓄 as public schemes run it).

Each community's policy says who must verify before hours count: the person served
(`beneficiary`), a social worker (`staff`) or `both` (the default). Staff are always
needed where nobody registered can confirm (a name typed, an activity), and for records
flagged as possible self-dealing: the same two people more often than `pair_max` in the
window, the same home, or a declared family member. Approval credits the hours; above the
cap the excess goes to the community pool.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from core.db import ROW_LOCK
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.people import person_name
from domain.reports.places import household
from domain.timebank.ledger import account_of, hours, lock, pool_of, post
from domain.unit import Unit, use_case
from models import (
    Community,
    EntryKind,
    FamilyLink,
    LinkStatus,
    RecordStatus,
    Resident,
    ServiceRecord,
)

STAFF, BENEFICIARY = "staff", "beneficiary"


def policy(uow: Unit, community_id: int) -> str:
    name = uow.session.scalar(select(Community.name).where(Community.id == community_id)) or ""
    return uow.config.timebank.verification_for(name)


def flags_for(uow: Unit, volunteer: Resident, beneficiary: Resident | None,
              beneficiary_name: str | None) -> list[str]:
    """Self-dealing patterns for staff: family, same home, the same pair too often."""
    flags = []
    if beneficiary is not None:
        if uow.session.scalar(select(FamilyLink.id).where(
                FamilyLink.status != LinkStatus.DECLINED,
                or_((FamilyLink.resident_id == volunteer.id) & (FamilyLink.relative_id == beneficiary.id),
                    (FamilyLink.resident_id == beneficiary.id) & (FamilyLink.relative_id == volunteer.id)))
                .limit(1)) is not None:
            flags.append("family")
        if household(volunteer) == household(beneficiary):
            flags.append("household")
    if beneficiary is None and not beneficiary_name:
        return flags
    settings = uow.config.timebank
    since = (uow.now - timedelta(days=settings.pair_window_days)).date()
    pair = (ServiceRecord.beneficiary_id == beneficiary.id) if beneficiary is not None \
        else (ServiceRecord.beneficiary_name == beneficiary_name)
    together = or_((ServiceRecord.volunteer_id == volunteer.id) & pair,
                   (ServiceRecord.volunteer_id == beneficiary.id) & (ServiceRecord.beneficiary_id == volunteer.id)
                   if beneficiary is not None else False)
    count = uow.session.scalar(select(func.count()).where(
        together, ServiceRecord.status != RecordStatus.REJECTED, ServiceRecord.service_date >= since)) or 0
    if count + 1 > settings.pair_max:
        flags.append(f"pair:{count + 1}")
    return flags


def flag_texts(record: ServiceRecord, days: int) -> list[str]:
    """The flags as staff read them."""
    shown = []
    for flag in record.flags or []:
        kind, _, n = flag.partition(":")
        shown.append(text(f"tb_flag_{kind}", n=n, days=days))
    return shown


def waiting_on(uow: Unit, record: ServiceRecord, rule: str | None = None) -> set[str]:
    """Who still has to verify this pending record (empty: it can be credited); `rule` is
    the community's policy when the caller already knows it."""
    rule = rule or policy(uow, record.community_id)
    needed = set()
    if rule in (STAFF, "both") or record.flags or record.beneficiary_id is None:
        needed.add(STAFF)
    if rule in (BENEFICIARY, "both") and record.beneficiary_id is not None:
        needed.add(BENEFICIARY)
    if record.confirmed_at is not None:
        needed.discard(BENEFICIARY)
    if record.reviewed_at is not None:
        needed.discard(STAFF)
    return needed


def _locked(uow: Unit, record: ServiceRecord) -> ServiceRecord:
    record = uow.session.get(ServiceRecord, record.id, with_for_update=ROW_LOCK, populate_existing=True)
    if record.status is not RecordStatus.PENDING:
        raise Refused("tb_record_done")
    return record


def credit(uow: Unit, record: ServiceRecord, verifier: str, verifier_name: str) -> int:
    """Credit a pending record (above the cap the excess goes to the pool); minutes kept."""
    record = _locked(uow, record)
    volunteer = uow.session.get(Resident, record.volunteer_id)
    account = account_of(uow, volunteer)
    pool = pool_of(uow, record.community_id)
    current = lock(uow, account.id, pool.id)[account.id]
    cap = uow.config.timebank.cap_minutes
    kept = max(0, min(record.minutes, cap - current.balance))
    before_total = current.earned_total
    if kept:
        post(uow, account.id, kept, EntryKind.EARN, source=f"record:{record.id}", actor=verifier)
    excess = record.minutes - kept
    if excess:
        post(uow, pool.id, excess, EntryKind.OVERFLOW, source=f"record:{record.id}", actor=verifier,
             note=f"cap reached for account {account.id}")
        uow.push(volunteer.id, "timebank_account", message(text(
            "tb_cap_overflow", hours=hours(excess), cap=f"{uow.config.timebank.balance_cap_hours:g}"), {
                "item": text("notice_overflow"), "note": text("notice_hours", hours=hours(excess)),
                "time": uow.now}),
            f"record:{record.id}:overflow")
    record.status, record.verifier, record.verified_at = RecordStatus.APPROVED, verifier_name[:64], uow.now
    uow.push(volunteer.id, "timebank_result", message(text(
        "tb_record_approved", type=record.service_type, hours=hours(record.minutes),
        day=f"{record.service_date:%m月%d日}"), {
            "item": text("notice_record_approved"), "time": uow.now,
            "note": f"{record.service_type}{text('notice_hours', hours=hours(record.minutes))}"}),
        f"record:{record.id}:approved")
    for mark in uow.config.timebank.milestones_hours:
        if before_total < mark * 60 <= current.earned_total:
            uow.push(volunteer.id, "timebank_account", message(text("tb_milestone", hours=mark), {
                "item": text("notice_milestone"), "note": text("notice_hours", hours=mark),
                "time": uow.now}), f"milestone:{volunteer.id}:{mark}")
    return kept


def _review(uow: Unit, actor: Actor, record: ServiceRecord) -> bool:
    """Staff's half of the verification; True when the hours were credited."""
    record = _locked(uow, record)
    record.reviewed_by, record.reviewed_at = actor.display[:64], uow.now
    if waiting_on(uow, record):
        return False
    credit(uow, record, actor.label, _verifiers(uow, record))
    return True


def _verifiers(uow: Unit, record: ServiceRecord) -> str:
    """Everyone who verified, as the ledger's 审核人 names them: 李社工, 服务对象李婆婆确认, or
    both (李社工审核；服务对象李婆婆确认)."""
    served = record.confirmed_at is not None and record.beneficiary_id is not None
    beneficiary = text("tb_verified_by_beneficiary",
                       name=person_name(uow.session.get(Resident, record.beneficiary_id))) if served else ""
    if record.reviewed_by and served:
        return f"{text('tb_verified_by_staff', name=record.reviewed_by)}；{beneficiary}"[:64]
    return (record.reviewed_by or beneficiary)[:64]


@use_case
def approve(uow: Unit, actor: Actor, record: ServiceRecord) -> bool:
    """Staff verify a record: credited now, or once the person served confirms too."""
    if not actor.is_staff_of(record.community_id):
        raise Refused("not_allowed")
    credited = _review(uow, actor, record)
    audit.record(uow, actor, "timebank_approve", f"record:{record.id}", {"status": "pending"},
                 {"status": "approved" if credited else "reviewed", "minutes": record.minutes,
                  "flags": record.flags or []})
    return credited


@use_case
def approve_many(uow: Unit, actor: Actor, community_id: int, ids: list[int] | None = None) -> list[int]:
    """Bulk approval of the community's pending records (the ticked ones, or all that carry
    no flag: a flagged record is approved one by one); one audit row."""
    if not actor.is_staff_of(community_id):
        raise Refused("not_allowed")
    query = select(ServiceRecord).where(ServiceRecord.community_id == community_id,
                                        ServiceRecord.status == RecordStatus.PENDING,
                                        ServiceRecord.reviewed_at.is_(None))
    query = query.where(ServiceRecord.id.in_(ids)) if ids is not None else query
    done = []
    for record in uow.session.scalars(query.order_by(ServiceRecord.id).limit(200)).all():
        if ids is None and record.flags:
            continue
        _review(uow, actor, record)
        done.append(record.id)
    if done:
        audit.record(uow, actor, "timebank_bulk_approve", f"community:{community_id}",
                     {"status": "pending"}, {"records": done})
    return done


def _reject(uow: Unit, actor: Actor, record: ServiceRecord, reason: str) -> None:
    record.status, record.verifier, record.verified_at = RecordStatus.REJECTED, actor.display[:64], uow.now
    record.reason = clip(reason, 200)
    uow.push(record.volunteer_id, "timebank_result", message(text(
        "tb_record_rejected", type=record.service_type, hours=hours(record.minutes), reason=record.reason),
        {"item": text("notice_record_rejected"), "note": record.reason, "time": uow.now}),
        f"record:{record.id}:rejected")


@use_case
def reject(uow: Unit, actor: Actor, record: ServiceRecord, reason: str) -> None:
    if not actor.is_staff_of(record.community_id):
        raise Refused("not_allowed")
    if not reason.strip():
        raise Refused("tb_need_reason")
    record = _locked(uow, record)
    _reject(uow, actor, record, reason)
    audit.record(uow, actor, "timebank_reject", f"record:{record.id}", {"status": "pending"},
                 {"status": "rejected"}, record.reason)


@use_case
def reject_many(uow: Unit, actor: Actor, community_id: int, ids: list[int], reason: str) -> list[int]:
    if not actor.is_staff_of(community_id):
        raise Refused("not_allowed")
    if not reason.strip():
        raise Refused("c_reason_required")
    done = []
    for record in uow.session.scalars(select(ServiceRecord).where(
            ServiceRecord.id.in_(ids), ServiceRecord.community_id == community_id,
            ServiceRecord.status == RecordStatus.PENDING)).all():
        _reject(uow, actor, record, reason)
        done.append(record.id)
    audit.record(uow, actor, "timebank_bulk_reject", f"community:{community_id}",
                 {"status": "pending"}, {"records": done}, reason.strip()[:200])
    return done


def _addressed_to(record: ServiceRecord, resident: Resident) -> None:
    if record.beneficiary_id != resident.id or record.status is not RecordStatus.PENDING \
            or record.confirmed_at is not None:
        raise Refused("tb_not_yours", code=f"S{record.id}")


@use_case
def beneficiary_confirms(uow: Unit, resident: Resident, record: ServiceRecord) -> bool:
    """The person served confirms: credited now, or once staff have reviewed it too."""
    _addressed_to(record, resident)
    record = _locked(uow, record)
    record.confirmed_at = uow.now
    if waiting_on(uow, record):
        return False
    credit(uow, record, f"beneficiary:{resident.id}", _verifiers(uow, record))
    return True


def confirmed_values(uow: Unit, record: ServiceRecord) -> dict:
    """What the person served is thanked for: whose service, what, how long."""
    return {"volunteer": person_name(uow.session.get(Resident, record.volunteer_id)),
            "type": record.service_type, "hours": hours(record.minutes)}


@use_case
def beneficiary_denies(uow: Unit, resident: Resident, record: ServiceRecord) -> None:
    """The person served disputes it; the record stays for staff to check."""
    _addressed_to(record, resident)
    record = _locked(uow, record)
    record.beneficiary_id, record.reason = None, text("tb_denied_by_beneficiary")
    record.reviewed_by = record.reviewed_at = None  # staff look again, at the dispute
