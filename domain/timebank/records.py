"""Volunteering: applications, and the service records volunteers log, staff enter (代录)
or a volunteer activity's check-in proposes.

A record is pending until verified (see verification.py). The daily maximum is counted
under the volunteer's row lock, so staff entering hours for the same person at once
cannot pass it together.
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
from domain.timebank import verification
from domain.timebank.ledger import hours
from domain.unit import Unit, use_case
from models import (
    ApplicationStatus,
    Meeting,
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
                description: str | None, photo: str | None, entered_by: str | None,
                meeting_id: int | None = None) -> ServiceRecord:
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
                           photo_media_id=clip(photo, 128), entered_by=entered_by, meeting_id=meeting_id,
                           flags=verification.flags_for(uow, volunteer, beneficiary, clip(beneficiary_name, 32))
                           or None, created_at=uow.now)
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
    if beneficiary is not None and verification.BENEFICIARY in verification.waiting_on(uow, record):
        uow.push(beneficiary.id, "timebank_confirm", message(text(
            "tb_beneficiary_confirm", volunteer=person_name(volunteer), type=service_type,
            hours=hours(minutes), day=f"{day:%m月%d日}", id=record.id), {
                "item": text("notice_confirm"), "time": uow.now,
                "note": text("notice_service", who=person_name(volunteer), type=service_type,
                             hours=hours(minutes))}),
            f"record:{record.id}:ask-beneficiary")
    return record


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
    verification.credit(uow, record, actor.label, actor.display)
    audit.record(uow, actor, "timebank_proxy_log", f"record:{record.id}", None,
                 {"volunteer": volunteer.id, "minutes": minutes, "day": day.isoformat()})
    return record


def propose_for_activity(uow: Unit, volunteer: Resident, meeting: Meeting) -> ServiceRecord | None:
    """A volunteer checked in at a volunteer activity: its hours, pending verification
    (once per activity; within the day's maximum; nothing when the day is full)."""
    if not is_volunteer(volunteer) or uow.session.scalar(select(ServiceRecord.id).where(
            ServiceRecord.meeting_id == meeting.id, ServiceRecord.volunteer_id == volunteer.id)):
        return None
    settings = uow.config.timebank
    step = settings.granularity_minutes
    day = meeting.starts_at.astimezone(uow.config.tz).date()
    room = int(settings.daily_max_hours * 60) - day_total(uow, volunteer.id, day)
    minutes = min(int((meeting.ends_at - meeting.starts_at).total_seconds() // 60), room) // step * step
    if minutes <= 0:
        return None
    record = _new_record(uow, volunteer, service_type=settings.activity_service_type, day=day,
                         minutes=minutes, beneficiary=None, beneficiary_name=None,
                         description=meeting.title, photo=None, entered_by=None, meeting_id=meeting.id)
    uow.push(volunteer.id, "timebank_result", message(text(
        "tb_activity_proposed", title=meeting.title, hours=hours(minutes), id=record.id), {
            "item": text("notice_activity_hours"), "time": uow.now,
            "note": text("notice_service", who=person_name(volunteer), type=settings.activity_service_type,
                         hours=hours(minutes))}),
        f"record:{record.id}:proposed")
    return record
