"""What a handler receives (`Context`) and returns (`Reply`, or `AGAIN`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.state import ConversationState
from core.config import Config
from core.texts import text
from domain.actor import Actor
from domain.unit import Unit
from models import Resident, Role

# Who may use staff commands in chat: people who work reports or the time bank.
WORKERS = (Role.BUILDING_HEAD, Role.GRID_WORKER, Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class Reply:
    """A passive text reply."""

    text: str

    def prefixed(self, prefix: str | None) -> "Reply":
        return Reply(f"{prefix}\n{self.text}") if prefix else self

    def then(self, suffix: str | None) -> "Reply":
        return Reply(f"{self.text}\n{suffix}") if suffix else self


class Again:
    """Returned by a step that wants the message handled afresh, outside its conversation."""

    def __repr__(self) -> str:
        return "AGAIN"


AGAIN = Again()


class Routes(Protocol):
    """What a handler may ask of the router (implemented by `bot.router.Router`)."""

    flows: dict[str, Any]
    flow_owners: dict[str, str]
    intents: dict[str, Any]
    intent_owners: dict[str, str]

    def match(self, words: str, works: Any = None) -> Any: ...

    def menu_text(self) -> str: ...

    def fresh(self, ctx: "Context", msg: Any, words: str) -> Any: ...

    def remind_step(self, ctx: "Context", prefix: str | None = None) -> "Reply": ...


@dataclass
class Context:
    """Everything a handler may use. Handlers never commit and never call WeChat."""

    uow: Unit
    resident: Resident | None
    conversation: ConversationState
    router: Routes

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def config(self) -> Config:
        return self.uow.config

    @property
    def now(self) -> datetime:
        return self.uow.now

    @property
    def works(self) -> bool:
        """Whether staff commands are commands for this sender (their roles load only now)."""
        return self.resident is not None and self.resident.has_role(*WORKERS)

    @property
    def actor(self) -> Actor:
        return Actor.resident(self.resident)

    def reply(self, key: str, **values: object) -> Reply:
        """A reply from the message catalogue."""
        return Reply(text(key, **values))
