"""Who is acting: a resident in chat, a console account, the CLI or the system.

One shape for every adapter, so permission rules are written once: staff of a
community, an admin, a grid worker of a grid, or the person a record belongs to.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.people import person_name
from models import Resident, Role, StaffUser

CONSOLE_ROLES = {"admin": Role.ADMIN, "staff": Role.STAFF, "grid_worker": Role.GRID_WORKER}


@dataclass(frozen=True)
class Actor:
    """`label` is what the audit log records; `display` what a timeline shows."""

    label: str
    display: str
    resident_id: int | None = None
    community_id: int | None = None
    grid_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    read_only: bool = False

    @classmethod
    def resident(cls, resident: Resident) -> "Actor":
        return cls(label=f"chat:{resident.id}", display=person_name(resident),
                   resident_id=resident.id, community_id=resident.community_id,
                   roles=frozenset(resident.role_set))

    @classmethod
    def staff(cls, user: StaffUser) -> "Actor":
        role = CONSOLE_ROLES.get(user.role)
        return cls(label=f"console:{user.username}", display=user.display_name,
                   resident_id=user.resident_id, community_id=user.community_id,
                   grid_id=user.grid_id, roles=frozenset({role}) if role else frozenset(),
                   read_only=user.role == "viewer")

    @classmethod
    def system(cls, display: str = "系统") -> "Actor":
        return cls(label="system", display=display, roles=frozenset({Role.ADMIN}))

    @classmethod
    def cli(cls, by: str = "cli") -> "Actor":
        return cls(label=f"cli:{by}"[:64], display=by, roles=frozenset({Role.ADMIN}))

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def is_staff_of(self, community_id: int | None) -> bool:
        """Community staff (or an admin) for records of `community_id`."""
        if self.read_only:
            return False
        return self.is_admin or (Role.STAFF in self.roles and community_id is not None
                                 and community_id == self.community_id)

    def works_grid(self, grid_id: int | None) -> bool:
        return (Role.GRID_WORKER in self.roles and grid_id is not None
                and self.grid_id == grid_id)
