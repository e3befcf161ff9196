"""The audit log: who changed which record, when, with the values before and after.

Every staff use case writes exactly one row here, whichever adapter it came
from (chat, console, CLI); admins read it in the console.
"""
from __future__ import annotations

from domain.actor import Actor
from domain.unit import Unit
from models import AuditLog


def record(uow: Unit, actor: Actor, action: str, target: str, before: dict | None = None,
           after: dict | None = None, note: str | None = None) -> None:
    uow.session.add(AuditLog(actor=actor.label[:64], actor_name=actor.display[:64],
                             action=action[:64], target=target[:64], before=before, after=after,
                             note=note, created_at=uow.now))
