"""The audit log: who changed which record, when, with the values before and after.

Every staff action that changes state — from the console or a chat staff
command — writes one row here; admins read it in the console.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import AuditLog, utcnow


def record(session: Session, actor: str, action: str, target: str, before: dict | None,
           after: dict | None, note: str | None = None) -> None:
    session.add(AuditLog(actor=actor[:64], action=action[:64], target=target[:64], before=before,
                         after=after, note=note, created_at=utcnow()))
