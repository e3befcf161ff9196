"""Scheduler jobs: importable module-level functions with fixed ids.

APScheduler stores jobs by reference ("scheduler.jobs:prune_processed"), so
they take no arguments and reach the database through `runtime`, set once by
the scheduler process before it starts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.db import transaction
from bot.wechat_api import WeChatAPI
from models import ProcessedMessage, utcnow

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    sessions: sessionmaker[Session]
    api: WeChatAPI


runtime: Runtime | None = None


def _rt() -> Runtime:
    if runtime is None:
        raise RuntimeError("scheduler runtime not initialised")
    return runtime


def refresh_token() -> None:
    """Keep the shared access token fresh ahead of expiry (no-op while it is fresh)."""
    _rt().api.token()


def prune_processed() -> None:
    """Forget dedup claims older than the retention (WeChat retries within seconds)."""
    rt = _rt()
    hours = rt.config.get_path("scheduler.dedup_retention_hours", 72)
    with transaction(rt.sessions) as session:
        result = session.execute(delete(ProcessedMessage).where(
            ProcessedMessage.created_at < utcnow() - timedelta(hours=hours)))
    if result.rowcount:
        log.info("pruned %d processed-message records", result.rowcount)


# id → (function, trigger kwargs). Feature issues add their sweeps here.
JOBS = {
    "refresh-token": (refresh_token, {"trigger": "interval", "minutes": 1}),
    "prune-processed": (prune_processed, {"trigger": "interval", "hours": 1}),
}
