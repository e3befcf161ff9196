"""Who handles a report: the building's grid worker, else community staff; who may act on it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.texts import text
from domain.actor import Actor
from models import Building, Community, Grid, GridWorker, Report, Resident, ResidentRole, Role

STAFF_TITLE_KEY = "community_staff_title"


def staff_title(session: Session, community_id: int) -> str:
    name = session.scalar(select(Community.name).where(Community.id == community_id)) or ""
    return text(STAFF_TITLE_KEY, community=name)


def route(session: Session, community_id: int,
          building_id: int | None) -> tuple[int | None, int | None, str]:
    """(grid id, assignee resident id, title shown to residents): the building's grid
    worker, else community staff."""
    grid_id = session.scalar(select(Building.grid_id).where(Building.id == building_id)) \
        if building_id else None
    if grid_id is not None:
        worker = session.scalars(select(GridWorker).where(GridWorker.grid_id == grid_id)
                                 .order_by(GridWorker.id)).first()
        if worker is not None:
            return grid_id, worker.resident_id, worker.title
    return grid_id, None, staff_title(session, community_id)


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
