"""Time is injected: code asks a clock for "now"; tests move a manual clock instead of sleeping."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that stands still until told to move (tests, simulations)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a manual clock needs an aware datetime")
        self._now = moment

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


SYSTEM = SystemClock()


def local(config, moment: datetime, fmt: str = "%m月%d日 %H:%M") -> str:
    """`moment` as residents read it: in the community's time zone (`config.tz`)."""
    return moment.astimezone(config.tz).strftime(fmt)
