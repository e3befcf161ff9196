"""The demo's ready personas: one phone each in the simulator, registered in 金宁, the
staff and grid worker linked to their console logins so chat and console are one person.

Seeded once (idempotent): a volunteer with hours, a confirmed family link to the elder
and a service the elder is asked to confirm, so every time-bank path can be played.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from cli.base import unit
from core.config import Config
from domain.actor import Actor
from domain.meetings import signups
from domain.staff import link_resident
from domain.timebank import family, records
from models import (
    Building,
    Community,
    Meeting,
    MeetingStatus,
    MeetingType,
    Resident,
    ResidentRole,
    Role,
    StaffUser,
)


@dataclass(frozen=True)
class Persona:
    openid: str
    label: str  # what the simulator's persona list shows
    name: str | None
    building: str | None
    address: str | None
    mobile: str | None
    role: Role | None = None
    login: str | None = None  # the console account this person holds


PERSONAS = [
    Persona("demo-resident-jinning", "居民 陈小玲（3栋）", "陈小玲", "3栋", "3栋2单元502", "13800000101"),
    Persona("demo-elder-jinning", "长者 李婆婆（5栋）", "李婆婆", "5栋", "5栋1单元101", "13800000102"),
    Persona("demo-buildinghead-jinning", "楼道长 王伯（3栋）", "王伯", "3栋", "3栋1单元201", "13800000103",
            Role.BUILDING_HEAD),
    Persona("demo-volunteer-jinning", "志愿者 张敏", "张敏", "2栋", "2栋3单元402", "13800000104", Role.VOLUNTEER),
    Persona("demo-staff-jinning", "社工（jinning-staff）", "金宁社区社工", None, None, "13800000105",
            Role.STAFF, "jinning-staff"),
    Persona("demo-gridworker-jinning-1", "网格员 第一网格（jinning-grid1）", None, None, None, None,
            None, "jinning-grid1"),
    Persona("demo-gridworker-jinning-2", "网格员 第二网格", None, None, None, None),
]
LABELS = {p.openid: p.label for p in PERSONAS}


def seed_personas(config: Config) -> str:
    actor = Actor.cli("seed")
    with unit(config) as uow:
        session = uow.session
        community = session.scalars(select(Community).where(Community.name == "金宁社区")).one()
        made: dict[str, Resident] = {}
        fresh = session.scalar(select(Resident.id).where(Resident.openid == PERSONAS[0].openid)) is None
        for p in PERSONAS:
            person = session.scalars(select(Resident).where(Resident.openid == p.openid)).first()
            if person is None:
                building = session.scalar(select(Building.id).where(
                    Building.community_id == community.id, Building.name == p.building)) if p.building else None
                person = Resident(openid=p.openid, community_id=community.id, name=p.name, address=p.address,
                                  building_id=building, mobile=p.mobile, created_at=uow.now)
                session.add(person)
            if not person.followed or person.registered_at is None:
                person.followed, person.followed_at = True, uow.now
                person.registered_at = person.registered_at or uow.now
                person.consent_version, person.consented_at = config.privacy.consent_version, uow.now
            if p.role is not None and p.role not in person.role_set:
                person.roles.append(ResidentRole(role=p.role, granted_by="seed"))
            session.flush()
            if p.login:
                account = session.scalars(select(StaffUser).where(StaffUser.username == p.login)).one()
                if account.resident_id != person.id:
                    link_resident(uow, account, p.openid)
            made[p.openid] = person
        if fresh:
            _time_bank(uow, actor, made["demo-volunteer-jinning"], made["demo-elder-jinning"])
            _sign_up(uow, made["demo-volunteer-jinning"])
    return f"demo personas ready: {len(PERSONAS)}"


def _sign_up(uow, volunteer: Resident) -> None:
    """The volunteer on the activity about to start, so 签到 and its hours can be tried."""
    soon = uow.session.scalar(select(Meeting.id).where(
        Meeting.type == MeetingType.VOLUNTEER, Meeting.status == MeetingStatus.PUBLISHED,
        Meeting.starts_at > uow.now, Meeting.starts_at <= uow.now + timedelta(hours=2)))
    if soon is not None:
        signups.sign_up(uow, soon, volunteer)


def _time_bank(uow, actor: Actor, volunteer: Resident, elder: Resident) -> None:
    """Hours to spend, the elder as confirmed family, and one service waiting for her word."""
    records.proxy_log(uow, actor, volunteer, service_type="上门探访", day=uow.now.date() - timedelta(days=3),
                      minutes=180)
    link = family.declare(uow, volunteer, elder, "母亲")
    family.decide_link(uow, actor, link, True)
    records.log_service(uow, volunteer, service_type="助餐送餐", day=uow.now.date() - timedelta(days=1),
                        minutes=60, beneficiary=elder, beneficiary_name=None, description="送午饭",
                        photo=None)
