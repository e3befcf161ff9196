"""What a handler receives (`Context`) and returns (`Reply`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.config import Config
from bot.texts import text

if TYPE_CHECKING:
    from bot.conversation import ConversationState
    from bot.router import Router
    from models import Resident


@dataclass(frozen=True)
class Reply:
    """A passive text reply."""

    text: str

    def prefixed(self, prefix: str | None) -> "Reply":
        return Reply(f"{prefix}\n{self.text}") if prefix else self


@dataclass
class Context:
    """Everything a handler may use. Handlers never commit and never call WeChat."""

    session: Session
    resident: "Resident | None"
    config: Config
    now: datetime
    conversation: "ConversationState"
    router: "Router"

    def reply(self, key: str, **values: object) -> Reply:
        """A reply from the message catalogue."""
        return Reply(text(key, **values))
