"""Staff accounts and role grants (roles are never self-assigned)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from bot.config import Config
from bot.db import make_engine, make_session_factory, transaction
from models import Community, Resident, ResidentRole, Role, StaffUser

STAFF_ROLES = {"admin", "staff", "grid_worker", "viewer"}
MIN_PASSWORD = 10


def upsert_staff(session: Session, username: str, password: str, role: str,
                 community_id: int | None, display_name: str | None = None) -> StaffUser:
    """Create the account, or reset its password and role; hashes with scrypt."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {sorted(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if role != "admin" and community_id is None:
        raise ValueError("non-admin staff need a community")
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        user = StaffUser(username=username, display_name=display_name or username)
        session.add(user)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.role, user.community_id, user.active = role, community_id, True
    return user


def _with_session(config: Config):
    engine = make_engine(config.get_path("database.url"))
    return engine, transaction(make_session_factory(engine))


def create_staff_user(config: Config, username: str, password: str, role: str,
                      community: str | None, display_name: str | None) -> str:
    engine, unit = _with_session(config)
    try:
        with unit as session:
            community_id = None
            if community:
                found = session.scalars(select(Community).where(Community.name == community)).first()
                if found is None:
                    raise SystemExit(f"no community named {community!r}")
                community_id = found.id
            try:
                upsert_staff(session, username, password, role, community_id, display_name)
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
