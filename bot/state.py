"""Where a resident is in a conversation: the facade handlers use over the row.

The row lives in the database keyed by resident, so any web worker can continue
any conversation and a restart loses nothing. Handlers move a plain value; the
pipeline writes it back (one upsert or delete) when the message commits, so a
reply worked out from a snapshot carries its conversation step to the commit.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, delete

from core.db import execute_fast, upsert_statement
from models import Conversation

_table = Conversation.__table__
_DELETE = delete(_table).where(_table.c.resident_id == bindparam("rid"))


@dataclass(frozen=True)
class Step:
    flow: str
    step: str
    data: dict[str, Any]
    updated_at: datetime


class ConversationState:
    """Read and move one resident's conversation; `save` writes what changed."""

    def __init__(self, resident_id: int | None, now: datetime, idle_timeout: timedelta,
                 row: Step | None = None):
        """`row` is the resident's conversation, loaded by the caller (None: there is none)."""
        self._now = now
        self._row = row
        self._resident_id = resident_id
        self.changed = False
        self.expired = bool(self._row and now - self._row.updated_at > idle_timeout)

    @property
    def active(self) -> bool:
        return self._row is not None and not self.expired

    @property
    def flow(self) -> str | None:
        return self._row.flow if self.active else None

    @property
    def step(self) -> str | None:
        return self._row.step if self.active else None

    @property
    def data(self) -> dict[str, Any]:
        return dict(self._row.data) if self.active else {}

    def _move(self, row: Step | None) -> None:
        self._row, self.changed = row, True

    def start(self, flow: str, step: str, **data: Any) -> None:
        """Begin `flow` at `step`, replacing any conversation in progress."""
        self._move(Step(flow, step, data, self._now))
        self.expired = False

    def goto(self, step: str, **data: Any) -> None:
        """Move to `step`, merging `data` into what the flow has collected."""
        if self._row is None:
            raise RuntimeError("goto() outside a conversation")
        self._move(replace(self._row, step=step, data={**self._row.data, **data}, updated_at=self._now))

    def update(self, **data: Any) -> None:
        """Keep more data at the current step."""
        self.goto(self._row.step if self._row else "", **data)

    def forget(self, *keys: str) -> None:
        """Drop collected values at the current step."""
        if self._row is not None:
            self._move(replace(self._row, updated_at=self._now,
                               data={k: v for k, v in self._row.data.items() if k not in keys}))

    def clear(self) -> None:
        """End the conversation."""
        if self._row is not None:
            self._move(None)
        self.expired = False

    def change(self) -> tuple[str, dict] | None:
        """How to write the conversation back if a handler moved it: ("save", the row) or
        ("delete", {"rid": …}); None when it did not move."""
        if not self.changed or self._resident_id is None:
            return None
        if self._row is None:
            return "delete", {"rid": self._resident_id}
        return "save", {"resident_id": self._resident_id, "flow": self._row.flow,
                        "step": self._row.step, "data": self._row.data, "updated_at": self._row.updated_at}

    def pending(self, connection: Connection) -> tuple[Executable, dict] | None:
        """The statement that writes the conversation back if a handler moved it, or None."""
        if (change := self.change()) is None:
            return None
        how, values = change
        if how == "delete":
            return _DELETE, values
        return upsert_statement(connection, _table, values, ["resident_id"]), values

    def save(self, connection: Connection) -> None:
        """Write the conversation back if a handler moved it: one statement, or none."""
        if (pending := self.pending(connection)) is not None:
            execute_fast(connection, *pending)
