"""Who handles a report: the building's 楼道长 for 小事, the grid worker, else community staff;
who may act on it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.texts import text
from domain.actor import Actor
from models import (
    Building,
    Community,
    Grid,
    GridWorker,
    Report,
    Resident,
    ResidentRole,
    Role,
    Tier,
)

STAFF_TITLE_KEY = "community_staff_title"


def staff_title(session: Session, community_id: int) -> str:
    name = session.scalar(select(Community.name).where(Community.id == community_id)) or ""
    return text(STAFF_TITLE_KEY, community=name)


def route(session: Session, community_id: int, building_id: int | None,
          tier: Tier = Tier.SMALL, grid_id: int | None = None) -> tuple[int | None, int | None, str]:
    """(grid id, assignee resident id, title shown to residents), by the tier's path
    (三事分流): 大事 and 私事 are community staff's (no single assignee; every staff member
    is told); 小事 go first to the building's 楼道长 (the grid worker oversees and takes over
    if nobody accepts in time), else the grid worker of the building's grid (or of the grid
    the point lies in); a 小事 nobody can take is flagged as unassigned."""
    if building_id is not None:
        grid_id = session.scalar(select(Building.grid_id).where(Building.id == building_id))
    if tier is not Tier.SMALL:
        return grid_id, None, staff_title(session, community_id)
    if building_id is not None:
        head = building_head(session, building_id)
        if head is not None:
            return grid_id, head[0], head[1]
    if grid_id is not None:
        worker = grid_worker(session, grid_id)
        if worker is not None:
            return grid_id, worker.resident_id, worker.title
    return grid_id, None, staff_title(session, community_id)


def grid_worker(session: Session, grid_id: int) -> GridWorker | None:
    return session.scalars(select(GridWorker).where(GridWorker.grid_id == grid_id)
                           .order_by(GridWorker.id)).first()


def building_head(session: Session, building_id: int) -> tuple[int, str] | None:
    """The building's 楼道长 who follows the account: (resident id, title)."""
    row = session.execute(select(Resident.id, Building.name).join(ResidentRole).join(
        Building, Building.id == Resident.building_id).where(
        Resident.building_id == building_id, Resident.followed.is_(True),
        ResidentRole.role == Role.BUILDING_HEAD).order_by(Resident.id)).first()
    return (row[0], text("building_head_title", building=row[1])) if row else None


def assignees(session: Session, community_id: int) -> list[tuple[int, int, str]]:
    """(grid id, grid worker resident id, title) for each grid worker of the community."""
    return list(session.execute(select(Grid.id, GridWorker.resident_id, GridWorker.title)
                                .join(GridWorker, GridWorker.grid_id == Grid.id)
                                .where(Grid.community_id == community_id).order_by(Grid.id)))


def may_work(actor: Actor, report: Report) -> bool:
    """The assignee, a grid worker of the report's grid, or staff of its community."""
    if actor.read_only:
        return False
    return (actor.resident_id is not None and actor.resident_id == report.assignee_id) \
        or actor.works_grid(report.grid_id) or actor.is_staff_of(report.community_id)


def community_staff(session: Session, community_id: int) -> list[int]:
    """Residents who are staff or admins of the community and still follow (their WeChat)."""
    return list(session.scalars(select(Resident.id).join(ResidentRole).where(
        Resident.community_id == community_id, Resident.followed.is_(True),
        ResidentRole.role.in_([Role.STAFF, Role.ADMIN])).distinct()))
