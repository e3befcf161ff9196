"""The unit of work: a refused use case leaves nothing behind, in whatever transaction the
adapter runs it (the pipeline's, a console request's, a command's)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.errors import Refused
from domain.unit import use_case
from models import AuditLog, Resident


@use_case
def _writes_then_refuses(uow, name: str) -> None:
    uow.session.add(Resident(openid=f"o-{name}", followed=True, created_at=uow.now))
    uow.session.flush()
    uow.session.add(AuditLog(actor="t", action="half-done", target=name, created_at=uow.now))
    uow.session.flush()
    raise Refused("not_allowed")


@use_case
def _writes(uow, name: str) -> None:
    uow.session.add(Resident(openid=f"o-{name}", followed=True, created_at=uow.now))
    uow.session.flush()


@use_case
def _nested(uow) -> None:
    _writes(uow, "outer")
    try:
        _writes_then_refuses(uow, "inner")
    except Refused:
        pass  # the inner refusal is undone; the outer work stands


def _count(session, openid: str) -> int:
    return session.scalar(select(func.count()).select_from(Resident).where(Resident.openid == openid))


def test_a_refusal_undoes_exactly_what_the_use_case_wrote(uow, fast_db):
    _writes(uow, "before")
    with pytest.raises(Refused):
        _writes_then_refuses(uow, "refused")
    _writes(uow, "after")
    fast_db.flush()
    assert _count(fast_db, "o-refused") == 0
    assert fast_db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "half-done")) == 0
    assert _count(fast_db, "o-before") == _count(fast_db, "o-after") == 1


def test_nested_use_cases_undo_only_the_refused_part(uow, fast_db):
    _nested(uow)
    assert _count(fast_db, "o-outer") == 1 and _count(fast_db, "o-inner") == 0
