"""Who may do what in the console: roles, community/grid scope, and the audit trail.

Roles: admin (everything, every community), staff (own community), grid_worker
(own grid's reports only), viewer (read-only, own community). A role outside a
route's list gets 403; a record outside the user's scope answers 404, so ids of
other communities reveal nothing.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import UserMixin, current_user, login_required
from sqlalchemy import select

from console.web import db, get_or_404, to_id
from domain.actor import Actor
from models import Community, Grid, Report, StaffUser

READ = ("admin", "staff", "viewer")
WRITE = ("admin", "staff")
REPORT_WORK = ("admin", "staff", "grid_worker")
EVERYONE = ("admin", "staff", "grid_worker", "viewer")


class Staff(UserMixin):
    """The signed-in account, detached from any DB session."""

    def __init__(self, row: StaffUser):
        self.id, self.username, self.display_name = row.id, row.username, row.display_name
        self.role, self.community_id, self.grid_id = row.role, row.community_id, row.grid_id
        self.session_version = row.session_version
        self.actor = Actor.staff(row)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, *roles: str) -> bool:
        return self.role in roles

    def sees_community(self, community_id: int | None) -> bool:
        return self.is_admin or (community_id is not None and community_id == self.community_id)

    def sees_report(self, report: Report) -> bool:
        if self.role == "grid_worker":
            return report.grid_id is not None and report.grid_id == self.grid_id
        return self.sees_community(report.community_id)


def allow(*roles: str):
    """Signed in (else to the login page) and holding one of `roles` (else 403)."""
    def decorate(view):
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorate


def require_community(community_id: int | None) -> None:
    if not current_user.sees_community(community_id):
        abort(404)


def in_scope(model, ident):
    """The row with this id if it belongs to a community the user may see (else 404)."""
    row = get_or_404(model, ident)
    require_community(row.community_id)
    return row


def scoped(query, community_column, grid_column=None):
    """Limit a query to what the user may see."""
    if current_user.role == "grid_worker" and grid_column is not None:
        return query.where(grid_column == current_user.grid_id)
    if not current_user.is_admin:
        return query.where(community_column == current_user.community_id)
    return query


def chosen_community(raw: str | int | None) -> int | None:
    """The community picked in a filter (admins), or the user's own."""
    if not current_user.is_admin:
        return current_user.community_id
    return to_id(raw)


def communities() -> list[Community]:
    return list(db().scalars(scoped(select(Community).order_by(Community.id), Community.id)))


def grids(community_id: int | None = None) -> list[Grid]:
    query = scoped(select(Grid).order_by(Grid.id), Grid.community_id, Grid.id)
    if community_id:
        query = query.where(Grid.community_id == community_id)
    return list(db().scalars(query))
