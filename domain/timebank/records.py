"""Volunteering: applications, service records and their verification.

A record is pending until verified (by staff, or by the beneficiary it names);
approval credits the hours, above the cap the excess goes to the pool. The daily
maximum is counted under the volunteer's row lock, so staff entering hours for
the same person at once cannot pass it together.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.db import ROW_LOCK
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.people import person_name
from domain.timebank.ledger import account_of, hours, lock, pool_of, post
from domain.unit import Unit, use_case
from models import (
    ApplicationStatus,
    EntryKind,
    RecordStatus,
    Resident,
    ResidentRole,
    Role,
    ServiceRecord,
    VolunteerApplication,
)


def is_volunteer(resident: Resident) -> bool:
    return resident.has_role(Role.VOLUNTEER)


def _grant_role(uow: Unit, resident: Resident, by: str) -> None:
    if not is_volunteer(resident):
        resident.roles.append(ResidentRole(role=Role.VOLUNTEER, granted_by=by[:64]))


def _staff(actor: Actor, community_id: int | None) -> None:
    if not actor.is_staff_of(community_id):
        raise Refused("not_allowed")


# --- applications ----------------------------------------------------------------------

def has_pending_application(uow: Unit, resident: Resident) -> bool:
    return uow.session.scalar(select(VolunteerApplication.id).where(
        VolunteerApplication.resident_id == resident.id,
        VolunteerApplication.status == ApplicationStatus.PENDING).limit(1)) is not None


@use_case
def apply(uow: Unit, resident: Resident, skills: str, availability: str) -> VolunteerApplication:
    """A resident asks to volunteer; staff decide."""
    if is_volunteer(resident):
        raise Refused("tb_already_volunteer")
    if has_pending_application(uow, resident):
        raise Refused("tb_application_pending")
    application = VolunteerApplication(resident_id=resident.id, skills=clip(skills, 200) or "",
                                       availability=clip(availability, 200) or "",
                                       status=ApplicationStatus.PENDING, created_at=uow.now)
    uow.session.add(application)
    return application


@use_case
def decide_application(uow: Unit, actor: Actor, application: VolunteerApplication, approve: bool,
                       reason: str = "") -> None:
    """Approve (the volunteer role is granted) or decline with the reason; they are told."""
    applicant = uow.session.get(Resident, application.resident_id)
    _staff(actor, applicant.community_id)
    if application.status is not ApplicationStatus.PENDING:
        raise Refused("tb_record_done")
    if not approve and not reason.strip():
        raise Refused("c_reason_required")
    application.decided_by, application.decided_at = actor.label[:64], uow.now
    if approve:
        application.status = ApplicationStatus.APPROVED
        _grant_role(uow, applicant, actor.label)
        uow.push(applicant.id, "timebank_result", message(text("tb_application_approved"), {
            "item": text("notice_application"), "note": text("notice_approved"), "time": uow.now}),
            f"application:{application.id}:approved")
    else:
        application.status, application.reason = ApplicationStatus.DECLINED, clip(reason, 200)
        uow.push(applicant.id, "timebank_result", message(
            text("tb_application_declined", reason=application.reason), {
                "item": text("notice_application"), "note": application.reason, "time": uow.now}),
            f"application:{application.id}:declined")
    audit.record(uow, actor, "volunteer_approve" if approve else "volunteer_decline",
                 f"application:{application.id}", {"status": "pending"},
                 {"status": application.status.value}, reason.strip()[:200] or None)


# --- service records -----------------------------------------------------------------------

def day_total(uow: Unit, volunteer_id: int, day: date) -> int:
    return uow.session.scalar(select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.service_date == day,
        ServiceRecord.status != RecordStatus.REJECTED)) or 0


def _new_record(uow: Unit, volunteer: Resident, *, service_type: str, day: date, minutes: int,
                beneficiary: Resident | None, beneficiary_name: str | None,
                description: str | None, photo: str | None, entered_by: str | None) -> ServiceRecord:
    if service_type not in uow.config.timebank.service_types:
        raise Refused("unknown_choice")
    # The volunteer's row lock serialises everyone logging hours for this person.
    uow.session.get(Resident, volunteer.id, with_for_update=ROW_LOCK, populate_existing=True)
    limit = uow.config.timebank.daily_max_hours
    if minutes <= 0 or day_total(uow, volunteer.id, day) + minutes > limit * 60:
        raise Refused("tb_day_limit", limit=f"{limit:g}")
    record = ServiceRecord(volunteer_id=volunteer.id, community_id=volunteer.community_id,
                           service_type=service_type, service_date=day, minutes=minutes,
                           beneficiary_id=beneficiary.id if beneficiary else None,
                           beneficiary_name=clip(beneficiary_name, 32), description=clip(description, 200),
                           photo_media_id=clip(photo, 128), entered_by=entered_by, created_at=uow.now)
    uow.session.add(record)
    uow.session.flush()
    return record


@use_case
def log_service(uow: Unit, volunteer: Resident, *, service_type: str, day: date, minutes: int,
                beneficiary: Resident | None, beneficiary_name: str | None,
                description: str | None, photo: str | None) -> ServiceRecord:
    """A volunteer's own record, pending; the beneficiary (when a resident) is asked to confirm."""
    if not is_volunteer(volunteer):
        raise Refused("tb_not_volunteer")
    if beneficiary is not None and beneficiary.id == volunteer.id:
        raise Refused("tb_self_service")
    record = _new_record(uow, volunteer, service_type=service_type, day=day, minutes=minutes,
                         beneficiary=beneficiary, beneficiary_name=beneficiary_name,
                         description=description, photo=photo, entered_by=None)
    if beneficiary is not None:
        uow.push(beneficiary.id, "timebank_confirm", message(text(
            "tb_beneficiary_confirm", volunteer=person_name(volunteer), type=service_type,
            hours=hours(minutes), day=f"{day:%m月%d日}", id=record.id), {
                "item": text("notice_confirm"), "time": uow.now,
                "note": text("notice_service", who=person_name(volunteer), type=service_type,
                             hours=hours(minutes))}),
            f"record:{record.id}:ask-beneficiary")
    return record


def _credit(uow: Unit, record: ServiceRecord, verifier: str, verifier_name: str) -> int:
    """Credit a pending record (above the cap the excess goes to the pool); minutes kept."""
    record = uow.session.get(ServiceRecord, record.id, with_for_update=ROW_LOCK, populate_existing=True)
    if record.status is not RecordStatus.PENDING:
        raise Refused("tb_record_done")
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


@use_case
def approve(uow: Unit, actor: Actor, record: ServiceRecord) -> int:
    """Staff verify a record: the hours are credited."""
    _staff(actor, record.community_id)
    kept = _credit(uow, record, actor.label, actor.display)
    audit.record(uow, actor, "timebank_approve", f"record:{record.id}", {"status": "pending"},
                 {"status": "approved", "minutes": record.minutes})
    return kept


@use_case
def approve_many(uow: Unit, actor: Actor, community_id: int, ids: list[int] | None = None) -> list[int]:
    """Bulk approval of the community's pending records (all, or the ticked ones): one audit row."""
    _staff(actor, community_id)
    query = select(ServiceRecord).where(ServiceRecord.community_id == community_id,
                                        ServiceRecord.status == RecordStatus.PENDING)
    if ids is not None:
        query = query.where(ServiceRecord.id.in_(ids))
    done = []
    for record in uow.session.scalars(query.order_by(ServiceRecord.id).limit(200)).all():
        _credit(uow, record, actor.label, actor.display)
        done.append(record.id)
    audit.record(uow, actor, "timebank_bulk_approve", f"community:{community_id}",
                 {"status": "pending"}, {"records": done})
    return done


@use_case
def reject(uow: Unit, actor: Actor, record: ServiceRecord, reason: str) -> None:
    _staff(actor, record.community_id)
    if not reason.strip():
        raise Refused("tb_need_reason")
    record = uow.session.get(ServiceRecord, record.id, with_for_update=ROW_LOCK, populate_existing=True)
    if record.status is not RecordStatus.PENDING:
        raise Refused("tb_record_done")
    record.status, record.verifier, record.verified_at = RecordStatus.REJECTED, actor.display[:64], uow.now
    record.reason = clip(reason, 200)
    uow.push(record.volunteer_id, "timebank_result", message(text(
        "tb_record_rejected", type=record.service_type, hours=hours(record.minutes),
        reason=record.reason), _rejected_facts(uow, record)), f"record:{record.id}:rejected")
    audit.record(uow, actor, "timebank_reject", f"record:{record.id}", {"status": "pending"},
                 {"status": "rejected"}, record.reason)


@use_case
def reject_many(uow: Unit, actor: Actor, community_id: int, ids: list[int], reason: str) -> list[int]:
    _staff(actor, community_id)
    if not reason.strip():
        raise Refused("c_reason_required")
    done = []
    for record in uow.session.scalars(select(ServiceRecord).where(
            ServiceRecord.id.in_(ids), ServiceRecord.community_id == community_id,
            ServiceRecord.status == RecordStatus.PENDING)).all():
        record.status, record.verifier, record.verified_at = RecordStatus.REJECTED, actor.display[:64], uow.now
        record.reason = clip(reason, 200)
        uow.push(record.volunteer_id, "timebank_result", message(text(
            "tb_record_rejected", type=record.service_type, hours=hours(record.minutes),
            reason=record.reason), _rejected_facts(uow, record)), f"record:{record.id}:rejected")
        done.append(record.id)
    audit.record(uow, actor, "timebank_bulk_reject", f"community:{community_id}",
                 {"status": "pending"}, {"records": done}, reason.strip()[:200])
    return done


@use_case
def beneficiary_confirms(uow: Unit, resident: Resident, record: ServiceRecord) -> int:
    """The person served confirms; the hours are credited."""
    if record.beneficiary_id != resident.id or record.status is not RecordStatus.PENDING:
        raise Refused("tb_not_yours", code=f"S{record.id}")
    return _credit(uow, record, f"beneficiary:{resident.id}",
                   text("tb_verified_by_beneficiary", name=person_name(resident)))


@use_case
def beneficiary_denies(uow: Unit, resident: Resident, record: ServiceRecord) -> None:
    """The person served disputes it; the record stays for staff to check."""
    if record.beneficiary_id != resident.id or record.status is not RecordStatus.PENDING:
        raise Refused("tb_not_yours", code=f"S{record.id}")
    record.beneficiary_id, record.reason = None, text("tb_denied_by_beneficiary")


@use_case
def proxy_log(uow: Unit, actor: Actor, volunteer: Resident, *, service_type: str, day: date,
              minutes: int) -> ServiceRecord:
    """代录: staff enter (and verify) hours for a volunteer without a phone."""
    _staff(actor, volunteer.community_id)
    # Lock first: staff entering hours for this volunteer at once wait here, one by one.
    uow.session.get(Resident, volunteer.id, with_for_update=ROW_LOCK, populate_existing=True)
    _grant_role(uow, volunteer, actor.label)
    record = _new_record(uow, volunteer, service_type=service_type, day=day, minutes=minutes,
                         beneficiary=None, beneficiary_name=None, description=None, photo=None,
                         entered_by=actor.label[:64])
    _credit(uow, record, actor.label, actor.display)
    audit.record(uow, actor, "timebank_proxy_log", f"record:{record.id}", None,
                 {"volunteer": volunteer.id, "minutes": minutes, "day": day.isoformat()})
    return record


def _rejected_facts(uow: Unit, record: ServiceRecord) -> dict:
    return {"item": text("notice_record_rejected"), "note": record.reason, "time": uow.now}
