"""Residents: registration (community, consent, name, building, mobile), renaming, what is
held about a person, and erasure (unfollow or 注销) that keeps governance records.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, func, select, update

from core.outbox import cancel_for_resident
from core.words import normalise
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.people import mask_name, mask_numbers
from domain.reports.places import match_building
from domain.timebank import family
from domain.unit import Unit, use_case
from models import (
    Account,
    Community,
    Conversation,
    Handoff,
    HandoffMessage,
    OutboxMessage,
    ProcessedMessage,
    Reminder,
    Report,
    Resident,
    ResidentRole,
    Role,
    ServiceRecord,
    Signup,
    SignupStatus,
)

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
ADDRESS_MIN, ADDRESS_MAX = 2, 30
NAME_MAX = 20


def by_mobile(uow: Unit, mobile: str, community_id: int | None) -> Resident | None:
    """The active resident (still following, not erased) of a community with this mobile."""
    if not MOBILE_RE.match(mobile or "") or community_id is None:
        return None
    return uow.session.scalar(select(Resident).where(
        Resident.mobile == mobile, Resident.community_id == community_id,
        Resident.openid.is_not(None)).limit(1))


def clean_mobile(raw: str) -> str:
    return re.sub(r"[\s\-]", "", normalise(raw or ""))


# --- registration ------------------------------------------------------------------------

def bind_community(uow: Unit, resident: Resident, community: Community) -> None:
    if resident.community_id != community.id:
        taken = resident.mobile and by_mobile(uow, resident.mobile, community.id)
        resident.community_id = community.id
        resident.building_id = None  # a building belongs to the old community
        if taken and taken.id != resident.id:
            resident.mobile = None  # one number, one resident per community


@use_case
def consent(uow: Unit, resident: Resident) -> None:
    """The resident agreed to the privacy notice (this version, now)."""
    resident.consent_version, resident.consented_at = uow.config.privacy.consent_version, uow.now


def has_consented(uow: Unit, resident: Resident) -> bool:
    return resident.consent_version == uow.config.privacy.consent_version


@use_case
def rename(uow: Unit, resident: Resident, name: str | None) -> None:
    """The name or form of address the resident wants (None: none)."""
    name = (name or "").strip()
    if name and (len(name) > NAME_MAX or re.search(r"[\x00-\x1f<>]", name)):
        raise Refused("bad_name", limit=NAME_MAX)
    resident.name = name or None


@use_case
def set_address(uow: Unit, resident: Resident, address: str) -> None:
    """The building/unit text, matched to a building of the community where possible."""
    address = (address or "").strip()
    if not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
        raise Refused("bad_address")
    resident.address = address
    resident.building_id = match_building(uow.session, resident.community_id, address)


@use_case
def set_mobile(uow: Unit, resident: Resident, mobile: str | None) -> None:
    """An 11-digit mainland number, at most one active resident per community."""
    if mobile is None:
        resident.mobile = None
        return
    if not MOBILE_RE.match(mobile):
        raise Refused("bad_mobile")
    other = by_mobile(uow, mobile, resident.community_id)
    if other is not None and other.id != resident.id:
        raise Refused("mobile_taken")
    resident.mobile = mobile


@use_case
def finish_registration(uow: Unit, resident: Resident) -> None:
    resident.registered_at = resident.registered_at or uow.now


@use_case
def staff_rename(uow: Unit, actor: Actor, resident: Resident, name: str) -> None:
    """Staff correct how a resident is named (audited)."""
    if not actor.is_staff_of(resident.community_id) or resident.anonymised_at is not None:
        raise Refused("not_allowed")
    before = resident.name
    rename(uow, resident, name)
    audit.record(uow, actor, "resident_rename", f"resident:{resident.id}", {"name": before},
                 {"name": resident.name})


GRANTABLE = (Role.VOLUNTEER, Role.BUILDING_HEAD)


@use_case
def set_role(uow: Unit, actor: Actor, resident: Resident, role: Role, granted: bool) -> None:
    """Staff grant or take back a resident role (volunteer, building head)."""
    if not actor.is_staff_of(resident.community_id) or role not in GRANTABLE \
            or resident.anonymised_at is not None:
        raise Refused("c_role_refused")
    before = sorted(r.value for r in resident.role_set)
    held = next((r for r in resident.roles if r.role is role), None)
    if granted and held is None:
        resident.roles.append(ResidentRole(role=role, granted_by=actor.label[:64]))
    elif not granted and held is not None:
        resident.roles.remove(held)
    uow.session.flush()
    audit.record(uow, actor, "resident_roles", f"resident:{resident.id}", {"roles": before},
                 {"roles": sorted(r.value for r in resident.role_set)})


def remember_location(uow: Unit, resident: Resident, lat: float, lng: float) -> None:
    """The last position a resident shared (erased with them)."""
    resident.last_lat, resident.last_lng, resident.last_location_at = lat, lng, uow.now


# --- what is held, and erasure ----------------------------------------------------------------

def held_data(uow: Unit, resident: Resident) -> dict:
    """Everything Linli keeps about the person, for 我的数据."""
    session = uow.session
    community = session.get(Community, resident.community_id) if resident.community_id else None
    count = lambda q: session.scalar(q) or 0
    return {
        "name": resident.name, "community": community.name if community else None,
        "address": resident.address, "mobile": resident.masked_mobile,
        "roles": sorted(r.value for r in resident.role_set),
        "consented_at": resident.consented_at,
        "location": resident.last_location_at,
        "reports": count(select(func.count()).select_from(Report).where(Report.resident_id == resident.id)),
        "signups": count(select(func.count()).select_from(Signup).where(
            Signup.resident_id == resident.id, Signup.status != SignupStatus.CANCELLED)),
        "services": count(select(func.count()).select_from(ServiceRecord).where(
            ServiceRecord.volunteer_id == resident.id)),
        "balance": count(select(Account.balance).where(Account.owner_id == resident.id)),
    }


@use_case
def erase(uow: Unit, resident: Resident) -> None:
    """Erase personal data (unfollow, or the person's own 注销), keeping the resident row and
    the governance records it is linked to (reports, sign-ups, hours)."""
    session, openid = uow.session, resident.openid
    home = resident.address
    # Reports keep what happened where, never who lives where or a phone number.
    for report in session.scalars(select(Report).where(Report.resident_id == resident.id)):
        report.description = mask_numbers(report.description)
        if report.address and (report.address == home or mask_numbers(report.address) != report.address):
            report.address = None
        _scrub_payloads(uow, f"report:{report.id}:")
    for signup in session.scalars(select(Signup).where(Signup.resident_id == resident.id,
                                                       Signup.proxy_name.is_not(None))):
        signup.proxy_name = mask_name(signup.proxy_name)
    family.forget(uow, resident)
    resident.openid = None
    resident.name = resident.mobile = resident.address = None
    resident.building_id = None
    resident.last_lat = resident.last_lng = None
    resident.last_location_at = resident.last_message_at = resident.last_event_at = None
    resident.followed, resident.unfollowed_at, resident.anonymised_at = False, uow.now, uow.now
    resident.tagged_community_id = None
    resident.consent_version = resident.consented_at = None
    session.execute(delete(Conversation).where(Conversation.resident_id == resident.id))
    # A chat with staff is the person's own words: it goes with them.
    handoffs = select(Handoff.id).where(Handoff.resident_id == resident.id)
    session.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoffs)))
    session.execute(delete(Handoff).where(Handoff.resident_id == resident.id))
    resident.handoff_id, resident.misunderstood = None, 0
    cancel_for_resident(session, resident.id, "recipient unfollowed")
    blank = {"text": "", "fields": {}, "url": None}
    session.execute(update(OutboxMessage).where(OutboxMessage.resident_id == resident.id)
                    .values(payload=blank))
    session.execute(update(Reminder).where(Reminder.resident_id == resident.id).values(payload=blank))
    session.execute(delete(ResidentRole).where(ResidentRole.resident_id == resident.id))
    if openid:
        session.execute(delete(ProcessedMessage).where(ProcessedMessage.openid == openid))
    session.expire(resident, ["roles"])


def _scrub_payloads(uow: Unit, key_prefix: str) -> None:
    """Mask numbers in pushes about a report that went to other people (assignees, staff)."""
    for row in uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedup_key.startswith(key_prefix, autoescape=True))):
        payload = dict(row.payload or {})
        if payload.get("text"):
            payload["text"] = mask_numbers(payload["text"])
            row.payload = payload

