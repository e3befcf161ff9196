"""Staff accounts and role grants (roles are never self-assigned)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from bot.config import Config
from bot.db import make_engine, make_session_factory, transaction
from models import Community, Grid, GridWorker, Resident, ResidentRole, Role, StaffUser

STAFF_ROLES = {"admin", "staff", "grid_worker", "viewer"}
MIN_PASSWORD = 10


def upsert_staff(session: Session, username: str, password: str, role: str,
                 community_id: int | None, display_name: str | None = None,
                 grid_id: int | None = None) -> StaffUser:
    """Create the account, or reset its password and role; hashes with scrypt."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {sorted(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if role != "admin" and community_id is None:
        raise ValueError("non-admin staff need a community")
    if role == "grid_worker":
        grid = session.get(Grid, grid_id) if grid_id else None
        if grid is None or grid.community_id != community_id:
            raise ValueError("a grid worker needs a grid of their community")
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        user = StaffUser(username=username, display_name=display_name or username)
        session.add(user)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.role, user.community_id, user.active = role, community_id, True
    user.grid_id = grid_id if role == "grid_worker" else None
    user.failed_logins, user.locked_until = 0, None
    return user


def _with_session(config: Config):
    engine = make_engine(config.get_path("database.url"))
    return engine, transaction(make_session_factory(engine))


def create_staff_user(config: Config, username: str, password: str, role: str,
                      community: str | None, display_name: str | None,
                      grid: str | None = None) -> str:
    engine, unit = _with_session(config)
    try:
        with unit as session:
            community_id = None
            if community:
                found = session.scalars(select(Community).where(Community.name == community)).first()
                if found is None:
                    raise SystemExit(f"no community named {community!r}")
                community_id = found.id
            grid_id = session.scalar(select(Grid.id).where(Grid.name == grid)) if grid else None
            try:
                upsert_staff(session, username, password, role, community_id, display_name, grid_id)
            except ValueError as exc:
                raise SystemExit(str(exc)) from None
    finally:
        engine.dispose()
    return f"staff account {username} ({role}) saved"


def grant_resident_role(config: Config, openid: str, role: str, granted_by: str) -> str:
    try:
        wanted = Role(role)
    except ValueError:
        raise SystemExit(f"role must be one of {[r.value for r in Role]}") from None
    engine, unit = _with_session(config)
    try:
        with unit as session:
            resident = session.scalars(select(Resident).where(Resident.openid == openid)).first()
            if resident is None:
                raise SystemExit(f"no resident with openid {openid}")
            if wanted not in resident.role_set:
                session.add(ResidentRole(resident_id=resident.id, role=wanted, granted_by=granted_by))
    finally:
        engine.dispose()
    return f"{openid[:8]}… now has role {wanted.value}"


CHAT_ROLE = {"admin": Role.ADMIN, "staff": Role.STAFF, "grid_worker": Role.GRID_WORKER}
LINKED_BY = "console-link"


class LinkError(ValueError):
    """`key` names the catalogue text explaining why the link was refused."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def link_resident(session: Session, user: StaffUser, openid: str) -> Resident:
    """Let the account's holder use chat staff commands from their WeChat (the role follows)."""
    resident = session.scalars(select(Resident).where(Resident.openid == openid.strip())).first()
    if resident is None or not resident.followed:
        raise LinkError("c_link_unknown")
    taken = session.scalars(select(StaffUser).where(StaffUser.resident_id == resident.id,
                                                    StaffUser.id != user.id)).first()
    if taken is not None:
        raise LinkError("c_link_taken")
    if user.community_id is not None and resident.community_id not in (None, user.community_id):
        raise LinkError("c_link_other_community")
    unlink_resident(session, user)
    user.resident_id = resident.id
    resident.community_id = resident.community_id or user.community_id
    role = CHAT_ROLE.get(user.role)
    if role is not None and role not in resident.role_set:
        resident.roles.append(ResidentRole(role=role, granted_by=LINKED_BY))
    if user.role == "grid_worker" and user.grid_id is not None and not session.scalar(
            select(GridWorker.id).where(GridWorker.grid_id == user.grid_id,
                                        GridWorker.resident_id == resident.id)):
        grid = session.get(Grid, user.grid_id)
        session.add(GridWorker(grid_id=grid.id, resident_id=resident.id,
                               title=f"{grid.name} {user.display_name}"[:64]))
    return resident


def unlink_resident(session: Session, user: StaffUser) -> None:
    """Take back what linking granted (the resident stays a resident)."""
    if user.resident_id is None:
        return
    resident = session.get(Resident, user.resident_id)
    for held in [r for r in resident.roles if r.granted_by == LINKED_BY]:
        resident.roles.remove(held)
    for worker in session.scalars(select(GridWorker).where(GridWorker.resident_id == resident.id,
                                                           GridWorker.grid_id == user.grid_id)):
        session.delete(worker)
    user.resident_id = None
