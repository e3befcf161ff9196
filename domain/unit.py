"""The unit of work a use case runs in, and the savepoint that makes a refusal leave nothing.

`@use_case` wraps the function in a SAVEPOINT: when it raises `Refused` (or
anything else), every row it flushed is rolled back before the error reaches
the adapter, which may then commit what it did itself (a chat reply, a
conversation step) without committing half of the refused operation.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from core import outbox
from core.clock import Clock
from core.config import Config
from core.db import read_only

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Unit:
    """Session, configuration and clock: what every use case works with."""

    session: Session
    config: Config
    clock: Clock

    # Set while a sweep runs (see `sweep`): pushes gathered, look-ups remembered.
    _pushes: list[dict[str, Any]] | None = field(default=None, repr=False)
    _memo: dict[Any, Any] | None = field(default=None, repr=False)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def push(self, resident_id: int, kind: str, payload: dict[str, Any], key: str,
             **options: Any) -> bool:
        """Queue a push that commits (or rolls back) with this unit's work (during a sweep,
        gathered and written at its end: True then means only "asked for")."""
        if self._pushes is not None:
            self._pushes.append(outbox.row(resident_id, kind, payload, key, now=self.now, **options))
            return True
        return outbox.enqueue(self.session, resident_id, kind, payload, key, now=self.now,
                              **options)

    @contextmanager
    def sweep(self) -> Iterator[None]:
        """A scheduler sweep over many rows: its pushes go out in one INSERT at the end,
        `remember` answers each look-up once, and nothing is flushed on the way."""
        self._pushes, self._memo = [], {}
        try:
            with self.session.no_autoflush:
                yield
            outbox.enqueue_many(self.session, self._pushes)
        finally:
            self._pushes = self._memo = None

    def remember(self, key: Any, look_up: Callable[[], R]) -> R:
        """`look_up()`, asked once per sweep for `key` (always asked outside a sweep)."""
        if self._memo is None:
            return look_up()
        if key not in self._memo:
            self._memo[key] = look_up()
        return self._memo[key]

    def remind(self, resident_id: int, kind: str, payload: dict[str, Any], due_at: datetime,
               key: str, **options: Any) -> bool:
        return outbox.remind(self.session, resident_id, kind, payload, due_at, key, now=self.now,
                             **options)


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the use case in a savepoint; any exception rolls back what it wrote. In a read
    snapshot nothing can be written, so there is nothing to roll back (and PostgreSQL's
    snapshot, outside a transaction block, could not take a savepoint)."""
    @functools.wraps(fn)
    def run(uow: Unit, *args: P.args, **kwargs: P.kwargs) -> R:
        if read_only(uow.session):
            return fn(uow, *args, **kwargs)
        with uow.session.begin_nested():
            return fn(uow, *args, **kwargs)
    return run  # type: ignore[return-value]
