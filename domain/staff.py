"""Staff accounts: create and reset, sign-in with lock-out, (de)activation, the link to a
WeChat follower that brings the chat staff commands, and role grants by admins."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from domain import audit
from domain.actor import CONSOLE_ROLES, Actor
from domain.errors import Refused
from domain.unit import Unit, use_case
from models import Grid, GridWorker, Resident, ResidentRole, Role, StaffUser

STAFF_ROLES = {"admin", "staff", "grid_worker", "viewer"}
MIN_PASSWORD = 10
LINKED_BY = "console-link"
# Compared against when the username is unknown, so both cases take as long.
_DUMMY_HASH = "scrypt:32768:8:1$dummysalt$" + "0" * 128


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Refused("not_allowed")


def _state(user: StaffUser) -> dict:
    return {"role": user.role, "community_id": user.community_id, "grid_id": user.grid_id,
            "active": user.active, "resident_id": user.resident_id,
            "locked": user.locked_until is not None}


@use_case
def save_account(uow: Unit, actor: Actor, username: str, password: str, role: str,
                 community_id: int | None, display_name: str | None = None,
                 grid_id: int | None = None) -> StaffUser:
    """Create the account, or reset its password and role (open sessions end); scrypt hashes."""
    _admin(actor)
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise Refused("c_account_bad_username")
    if role not in STAFF_ROLES:
        raise Refused("c_account_bad_role")
    if len(password or "") < MIN_PASSWORD:
        raise Refused("c_account_short_password", n=MIN_PASSWORD)
    if role != "admin" and community_id is None:
        raise Refused("c_account_needs_community")
    if role == "grid_worker":
        grid = uow.session.get(Grid, grid_id) if grid_id else None
        if grid is None or grid.community_id != community_id:
            raise Refused("c_account_needs_grid")
    user = uow.session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    before = _state(user) if user else None
    if user is None:
        user = StaffUser(username=username, display_name=(display_name or username)[:64],
                         session_version=0, created_at=uow.now)
        uow.session.add(user)
    elif display_name:
        user.display_name = display_name[:64]
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.role, user.community_id, user.active = role, community_id, True
    user.grid_id = grid_id if role == "grid_worker" else None
    user.failed_logins, user.locked_until = 0, None
    user.session_version = (user.session_version or 0) + 1
    uow.session.flush()
    audit.record(uow, actor, "staff_save", f"staff:{user.username}", before, _state(user))
    return user


def sign_in(uow: Unit, username: str, password: str) -> StaffUser:
    """The account if the password is right; counts failures and locks after too many.
    Not a savepoint: a failed attempt must be remembered although it is refused."""
    user = uow.session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    now, console = uow.now, uow.config.console
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise Refused("c_login_locked")
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
        else:
            user.failed_logins += 1
            if user.failed_logins >= console.max_failed_logins:
                user.locked_until = now + timedelta(minutes=console.lockout_minutes)
                user.failed_logins = 0
        raise Refused("c_login_failed")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return user


@use_case
def sign_out(uow: Unit, user: StaffUser) -> None:
    """Every session of the account ends (a cookie copied before opens nothing)."""
    user.session_version = (user.session_version or 0) + 1


@use_case
def change_account(uow: Unit, actor: Actor, user: StaffUser, action: str,
                   openid: str = "") -> StaffUser:
    """Activate/deactivate, unlock, link or unlink a WeChat follower."""
    _admin(actor)
    before = _state(user)
    if action == "toggle":
        user.active = not user.active
        user.session_version = (user.session_version or 0) + 1
    elif action == "unlock":
        user.failed_logins, user.locked_until = 0, None
    elif action == "link":
        link_resident(uow, user, openid[:64])
    elif action == "unlink":
        unlink_resident(uow, user)
    else:
        raise Refused("c_bad_request")
    uow.session.flush()
    audit.record(uow, actor, f"staff_{action}", f"staff:{user.username}", before, _state(user))
    return user


def link_resident(uow: Unit, user: StaffUser, openid: str) -> Resident:
    """Let the account's holder use chat staff commands from their WeChat (the role follows)."""
    session = uow.session
    resident = session.scalars(select(Resident).where(Resident.openid == openid.strip())).first()
    if resident is None or not resident.followed:
        raise Refused("c_link_unknown")
    taken = session.scalars(select(StaffUser).where(StaffUser.resident_id == resident.id,
                                                    StaffUser.id != user.id)).first()
    if taken is not None:
        raise Refused("c_link_taken")
    if user.community_id is not None and resident.community_id not in (None, user.community_id):
        raise Refused("c_link_other_community")
    unlink_resident(uow, user)
    user.resident_id = resident.id
    resident.community_id = resident.community_id or user.community_id
    role = CONSOLE_ROLES.get(user.role)
    if role is not None and role not in resident.role_set:
        resident.roles.append(ResidentRole(role=role, granted_by=LINKED_BY))
    if user.role == "grid_worker" and user.grid_id is not None and not session.scalar(
            select(GridWorker.id).where(GridWorker.grid_id == user.grid_id,
                                        GridWorker.resident_id == resident.id)):
        grid = session.get(Grid, user.grid_id)
        session.add(GridWorker(grid_id=grid.id, resident_id=resident.id,
                               title=f"{grid.name} {user.display_name}"[:64]))
    return resident


def unlink_resident(uow: Unit, user: StaffUser) -> None:
    """Take back what linking granted (the resident stays a resident)."""
    if user.resident_id is None:
        return
    resident = uow.session.get(Resident, user.resident_id)
    for held in [r for r in resident.roles if r.granted_by == LINKED_BY]:
        resident.roles.remove(held)
    for worker in uow.session.scalars(select(GridWorker).where(
            GridWorker.resident_id == resident.id, GridWorker.grid_id == user.grid_id)):
        uow.session.delete(worker)
    user.resident_id = None


@use_case
def grant_role(uow: Unit, actor: Actor, resident: Resident, role: Role) -> None:
    """An admin grants any role (the command line's grant-role)."""
    _admin(actor)
    if role not in resident.role_set:
        resident.roles.append(ResidentRole(role=role, granted_by=actor.label[:64]))
        audit.record(uow, actor, "resident_grant_role", f"resident:{resident.id}", None,
                     {"role": role.value})
