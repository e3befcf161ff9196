"""Conversation engine: explicit state machines persisted per resident.

A `Flow` is data: a name, a `step → handler` table and a `step → prompt`
table. `ConversationState` is the small facade handlers use to move between
steps; the row lives in the database so any worker can continue it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from bot.context import Context, Reply
from bot.inbound import Incoming
from models import Conversation

StepHandler = Callable[[Context, Incoming], Reply | None]
Prompt = Callable[[Context], str]


@dataclass(frozen=True)
class Flow:
    """A multi-step conversation: its steps, what each asks, and its title."""

    name: str
    title_key: str
    steps: Mapping[str, StepHandler]
    prompts: Mapping[str, Prompt] = field(default_factory=dict)

    def prompt(self, ctx: Context, step: str) -> str:
        asker = self.prompts.get(step)
        return asker(ctx) if asker else ""


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
        assert self._row is not None, "goto() outside a conversation"
        self._row.step = step
        self._row.data = {**self._row.data, **data}
        self._row.updated_at = self._now

    def clear(self) -> None:
        """End the conversation."""
        if self._row is not None:
            self._session.delete(self._row)
            self._session.flush()  # so a new flow may start in the same unit of work
            self._row = None
        self.expired = False
