"""Demo data: the communities of the seed articles, with grids, buildings and staff.

金宁、仙湖、西联 in 丹灶镇 and 河岗 in 西樵镇 (南海区, 佛山). Idempotent.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.base import unit
from core.config import Config
from domain.actor import Actor
from domain.geography import import_outlines
from domain.meetings import admin
from domain.staff import save_account
from models import (
    Building,
    Community,
    Grid,
    GridWorker,
    Meeting,
    MeetingStatus,
    MeetingType,
    Resident,
    ResidentRole,
    Role,
)

COMMUNITIES = [
    # name, district, scene code, (centre lat, lng, radius m: approximate), {grid: [buildings]}
    ("金宁社区", "南海区丹灶镇", "jinning", (23.0435, 112.9165, 1500),
     {"金宁第一网格": ["1栋", "2栋", "3栋", "4栋"], "金宁第二网格": ["5栋", "6栋", "7栋", "8栋"]}),
    ("仙湖社区", "南海区丹灶镇", "xianhu", (23.0270, 112.9050, 1500),
     {"仙湖第一网格": ["仙湖花园1座", "仙湖花园2座"], "仙湖第二网格": ["湖景苑A栋", "湖景苑B栋"]}),
    ("西联社区", "南海区丹灶镇", "xilian", (23.0500, 112.9500, 1500),
     {"西联第一网格": ["幸福里1巷", "幸福里2巷"], "西联第二网格": ["工业区宿舍1栋"]}),
    ("河岗社区", "南海区西樵镇", "hegang", (22.9350, 112.9650, 2000),
     {"河岗第一网格": ["河岗村东片", "河岗村西片"], "河岗第二网格": ["爱心农场片区"]}),
]


# 金宁's grids and buildings as staff would draw them (illustrative positions).
DEMO_PLACES = Path(__file__).with_name("demo_places.geojson")


def _get_or_add(session: Session, model, defaults: dict | None = None, **keys):
    row = session.scalars(select(model).filter_by(**keys)).first()
    if row is None:
        row = model(**keys, **(defaults or {}))
        session.add(row)
        session.flush()
    return row


# One console account per role for the demo (password: demo.staff_password).
DEMO_ACCOUNTS = [
    # username, display name, role, community, grid
    ("jinning-staff", "金宁社区社工", "staff", "金宁社区", None),
    ("jinning-grid1", "金宁第一网格网格员", "grid_worker", "金宁社区", "金宁第一网格"),
    ("jinning-viewer", "金宁社区（只读）", "viewer", "金宁社区", None),
    ("xianhu-staff", "仙湖社区社工", "staff", "仙湖社区", None),
]


def seed(config: Config, role_accounts: bool = False) -> str:
    actor = Actor.cli("seed")
    with unit(config) as uow:
        session = uow.session
        for name, district, scene, (lat, lng, radius), grids in COMMUNITIES:
            community = _get_or_add(session, Community, {"district": district,
                                                         "scene_code": scene}, name=name)
            community.center_lat, community.center_lng, community.radius_m = lat, lng, radius
            for grid_no, (grid_name, buildings) in enumerate(grids.items(), start=1):
                grid = _get_or_add(session, Grid, community_id=community.id, name=grid_name)
                for building in buildings:
                    _get_or_add(session, Building, {"grid_id": grid.id},
                                community_id=community.id, name=building)
                worker = _get_or_add(session, Resident, {
                    "name": f"{grid_name}网格员", "community_id": community.id,
                    "followed": False}, openid=f"demo-gridworker-{scene}-{grid_no}")
                _get_or_add(session, ResidentRole, {"granted_by": "seed"},
                            resident_id=worker.id, role=Role.GRID_WORKER)
                _get_or_add(session, GridWorker, {"title": f"{grid_name} 网格员"},
                            grid_id=grid.id, resident_id=worker.id)
                if role_accounts and not worker.followed:  # the demo: a phone in the simulator
                    worker.followed, worker.followed_at = True, uow.now
                    worker.registered_at = worker.registered_at or uow.now
                    worker.consent_version, worker.consented_at = config.privacy.consent_version, uow.now
        import_outlines(uow, actor, json.loads(DEMO_PLACES.read_text(encoding="utf-8")))
        save_account(uow, actor, config.demo.staff_username, config.demo.staff_password,
                     role="admin", community_id=None, display_name="演示管理员")
        for username, display, role, community_name, grid_name in DEMO_ACCOUNTS if role_accounts else ():
            community = session.scalars(select(Community).where(Community.name == community_name)).one()
            grid = session.scalars(select(Grid).where(Grid.name == grid_name)).first() if grid_name else None
            save_account(uow, actor, username, config.demo.staff_password, role=role,
                         community_id=community.id, display_name=display,
                         grid_id=grid.id if grid else None)
        count = len(session.scalars(select(Community)).all())
    logins = [config.demo.staff_username]
    logins += [row[0] for row in DEMO_ACCOUNTS] if role_accounts else []
    return f"demo data ready: {count} communities, console logins {', '.join(logins)}"


# Meetings to sign up for in the demo: (community, type, title, place, hours from now, agenda).
# The first starts a day and five minutes ahead, so a sign-up's 24-hour reminder comes
# five minutes later (age the persona in the simulator to see it arrive as a card).
DEMO_MEETINGS = [
    ("金宁社区", MeetingType.COUNCIL, "3栋加装电梯居民议事会", "金宁社区党群服务中心二楼", 24 + 5 / 60,
     ["加装电梯费用分摊方案", "低楼层住户的意见"]),
    ("金宁社区", MeetingType.VOLUNTEER, "长者探访志愿活动", "金宁社区长者饭堂", 72, ["探访独居长者并送餐"]),
    # Starts half an hour after the first start: staff can 签到 the volunteer persona at once.
    ("金宁社区", MeetingType.VOLUNTEER, "楼道清洁志愿活动", "金宁社区3栋楼下", 0.5, ["清理楼道杂物"]),
    ("仙湖社区", MeetingType.COUNCIL, "仙湖花园停车议事会", "仙湖社区居委会", 120, ["夜间乱停车的处理办法"]),
]


def seed_meetings(config: Config) -> str:
    """Published meetings to sign up for (only when the seed has none still to come)."""
    actor = Actor.cli("seed")
    with unit(config) as uow:
        session = uow.session
        upcoming = session.scalar(select(Meeting.id).where(
            Meeting.created_by == actor.label, Meeting.status == MeetingStatus.PUBLISHED,
            Meeting.starts_at > uow.now))
        if upcoming is not None:
            return "demo meetings already there"
        for community_name, kind, title, place, hours_ahead, agenda in DEMO_MEETINGS:
            community = session.scalars(select(Community).where(Community.name == community_name)).one()
            starts = uow.now + timedelta(hours=hours_ahead)
            meeting = admin.create(uow, actor, community_id=community.id, type=kind, title=title,
                                   place=place, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                   agenda=[{"text": item} for item in agenda], capacity=40)
            admin.publish(uow, actor, meeting)
    return f"demo meetings ready: {len(DEMO_MEETINGS)}"
