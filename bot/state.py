"""Where a resident is in a conversation: the facade handlers use over the row.

The row lives in the database keyed by resident, so any web worker can continue
any conversation and a restart loses nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from models import Conversation


class ConversationState:
    """Read and move one resident's conversation; changes are flushed with the unit of work."""

    def __init__(self, session: Session, resident_id: int | None, now: datetime,
                 idle_timeout: timedelta, row: Conversation | None = None):
        """`row` is the resident's conversation, loaded by the caller (None: there is none)."""
        self._session = session
        self._now = now
        self._row = row
        self._resident_id = resident_id
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

    def start(self, flow: str, step: str, **data: Any) -> None:
        """Begin `flow` at `step`, replacing any conversation in progress."""
        if self._row is None:
            self._row = Conversation(resident_id=self._resident_id, flow=flow, step=step,
                                     data=data, updated_at=self._now)
            self._session.add(self._row)
        else:
            self._row.flow, self._row.step, self._row.data = flow, step, data
            self._row.updated_at = self._now
        self.expired = False

    def goto(self, step: str, **data: Any) -> None:
        """Move to `step`, merging `data` into what the flow has collected."""
        if self._row is None:
            raise RuntimeError("goto() outside a conversation")
        self._row.step = step
        self._row.data = {**self._row.data, **data}
        self._row.updated_at = self._now

    def update(self, **data: Any) -> None:
        """Keep more data at the current step."""
        self.goto(self._row.step if self._row else "", **data)

    def forget(self, *keys: str) -> None:
        """Drop collected values at the current step."""
        if self._row is not None:
            self._row.data = {k: v for k, v in self._row.data.items() if k not in keys}
            self._row.updated_at = self._now

    def clear(self) -> None:
        """End the conversation."""
        if self._row is not None:
            self._session.delete(self._row)
            self._session.flush()  # so a new flow may start in the same unit of work
            self._row = None
        self.expired = False
