"""`create-staff` and `grant-role`: console accounts and resident roles from the command line."""
from __future__ import annotations

from sqlalchemy import select

from cli.base import unit
from core.config import Config
from domain import staff
from domain.actor import Actor
from models import Community, Grid, Resident, Role


def create_staff_user(config: Config, username: str, password: str, role: str,
                      community: str | None, display_name: str | None,
                      grid: str | None = None) -> str:
    with unit(config) as uow:
        community_id = None
        if community:
            community_id = uow.session.scalar(select(Community.id).where(Community.name == community))
            if community_id is None:
                raise SystemExit(f"no community named {community!r}")
        grid_id = uow.session.scalar(select(Grid.id).where(Grid.name == grid)) if grid else None
        staff.save_account(uow, Actor.cli(), username, password, role, community_id,
                           display_name, grid_id)
    return f"staff account {username} ({role}) saved"


def grant_resident_role(config: Config, openid: str, role: str, granted_by: str) -> str:
    try:
        wanted = Role(role)
    except ValueError:
        raise SystemExit(f"role must be one of {[r.value for r in Role]}") from None
    with unit(config) as uow:
        resident = uow.session.scalars(select(Resident).where(Resident.openid == openid)).first()
        if resident is None:
            raise SystemExit(f"no resident with openid {openid}")
        staff.grant_role(uow, Actor.cli(granted_by), resident, wanted)
    return f"{openid[:8]}… now has role {wanted.value}"
