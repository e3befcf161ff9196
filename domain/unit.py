"""The unit of work a use case runs in, and the savepoint that makes a refusal leave nothing.

`@use_case` wraps the function in a SAVEPOINT: when it raises `Refused` (or
anything else), every row it flushed is rolled back before the error reaches
the adapter, which may then commit what it did itself (a chat reply, a
conversation step) without committing half of the refused operation.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from core import outbox
from core.clock import Clock
from core.config import Config

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Unit:
    """Session, configuration and clock: what every use case works with."""

    session: Session
    config: Config
    clock: Clock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def push(self, resident_id: int, kind: str, payload: dict[str, Any], key: str,
             **options: Any) -> bool:
        """Queue a push that commits (or rolls back) with this unit's work."""
        return outbox.enqueue(self.session, resident_id, kind, payload, key, now=self.now,
                              **options)

    def remind(self, resident_id: int, kind: str, payload: dict[str, Any], due_at: datetime,
               key: str, **options: Any) -> bool:
        return outbox.remind(self.session, resident_id, kind, payload, due_at, key, now=self.now,
                             **options)


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the use case in a savepoint; any exception rolls back what it wrote."""
    @functools.wraps(fn)
    def run(uow: Unit, *args: P.args, **kwargs: P.kwargs) -> R:
        with uow.session.begin_nested():
            return fn(uow, *args, **kwargs)
    return run  # type: ignore[return-value]
