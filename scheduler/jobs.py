"""Scheduler jobs: importable module-level functions with fixed ids.

APScheduler stores jobs by reference ("scheduler.jobs:prune_processed"), so
they take no arguments and reach the database through `runtime`, set once by
the scheduler process before it starts. Each is a thin adapter: one use case
(or one delivery step) in its own transaction.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterator

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from core.clock import SYSTEM, Clock
from core.config import Config
from core.db import transaction
from core.wechat_api import WeChatAPI
from domain.unit import Unit
from models import Conversation, OutboxMessage, OutboxStatus, ProcessedMessage, Reminder
from scheduler import (
    broadcasts,
    deliberation_jobs,
    reminders,
    report_jobs,
    timebank_jobs,
)
from scheduler.dispatch import Dispatcher

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    sessions: sessionmaker[Session]
    api: WeChatAPI | None
    clock: Clock = SYSTEM
    dispatcher: Dispatcher | None = field(default=None)
    # Set when the process is asked to stop: long runs end after the batch in hand.
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.dispatcher is None and self.api is not None:
            self.dispatcher = Dispatcher(self.config, self.sessions, self.api, self.clock,
                                         self.stopping)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """One transaction, as a unit of work for use cases."""
        with transaction(self.sessions) as session:
            yield Unit(session, self.config, self.clock)


runtime: Runtime | None = None


def _rt() -> Runtime:
    if runtime is None:
        raise RuntimeError("scheduler runtime not initialised")
    return runtime


def refresh_token() -> None:
    """Keep the shared access token fresh ahead of expiry (no-op while it is fresh)."""
    _rt().api.token()


def prune_processed() -> None:
    """Keep the least data: dedup claims and their stored replies past the retention (WeChat
    retries within seconds), conversations idle for a day, finished pushes past theirs."""
    rt = _rt()
    now, retention = rt.clock.now(), rt.config.scheduler
    finished = [OutboxStatus.SENT, OutboxStatus.CANCELLED, OutboxStatus.UNDELIVERABLE]
    with transaction(rt.sessions) as session:
        counts = [session.execute(statement).rowcount for statement in (
            delete(ProcessedMessage).where(
                ProcessedMessage.created_at < now - timedelta(hours=retention.dedup_retention_hours)),
            delete(Conversation).where(Conversation.updated_at < now - timedelta(days=1)),
            delete(OutboxMessage).where(  # a broadcast's rows are its delivery record
                OutboxMessage.status.in_(finished), OutboxMessage.broadcast_id.is_(None),
                OutboxMessage.created_at < now - timedelta(days=retention.outbox_retention_days)),
            delete(Reminder).where(
                Reminder.done.is_(True),
                Reminder.created_at < now - timedelta(days=retention.outbox_retention_days)))]
    if any(counts):
        log.info("pruned %d claims, %d conversations, %d pushes, %d reminders", *counts)


DISPATCH_EVERY = 2.0
# A run drains a backlog for up to this long; ticks falling inside it are skipped
# (max_instances=1), which is the point, not a fault.
DISPATCH_BUDGET = 30.0


def dispatch_outbox() -> None:
    """Send what is due, draining a backlog before returning."""
    _rt().dispatcher.run(budget_seconds=DISPATCH_BUDGET)


def sweep_reminders() -> None:
    """Turn due reminders into outbox rows; stale ones are dropped."""
    counts = reminders.sweep(_rt().sessions, _rt().clock.now())
    if any(counts.values()):
        log.info("reminders: %(queued)d queued, %(stale)d stale", counts)


def start_broadcasts() -> None:
    """Start scheduled broadcasts whose time has come; close finished ones."""
    broadcasts.start_due(_rt())


def report_sla() -> None:
    """Remind assignees of overdue reports, then escalate to community staff."""
    report_jobs.escalate_overdue(_rt())


def report_digest() -> None:
    """Each grid worker's open items, every morning."""
    report_jobs.daily_digest(_rt())


def report_auto_close() -> None:
    """Close resolved reports nobody confirmed within the feedback period."""
    report_jobs.auto_close(_rt())


def report_photos() -> None:
    """Fetch reported photos from WeChat to storage."""
    report_jobs.fetch_photos(_rt())


def report_focal_issues() -> None:
    """Weekly focal issues (焦点议题) for each community's staff."""
    report_jobs.weekly_focal_issues(_rt())


def timebank_statements() -> None:
    """Monthly statements, pushed on the 1st (quiet hours respected by the outbox)."""
    timebank_jobs.monthly_statements(_rt())


def timebank_expiry() -> None:
    """Expire old unspent hours (only when timebank.expiry_months is set)."""
    timebank_jobs.expire_hours(_rt())


def timebank_pending() -> None:
    """Remind verifiers of service records waiting too long."""
    timebank_jobs.remind_pending(_rt())


def timebank_transfers() -> None:
    """Offers to family members not accepted in time go back to the giver."""
    timebank_jobs.return_transfers(_rt())


def decision_reminders() -> None:
    """Owners of decision items (议事结果落实) reminded before the due date and when overdue."""
    deliberation_jobs.remind_item_owners(_rt())


def vote_closing() -> None:
    """Votes past their deadline counted and frozen, followers told."""
    deliberation_jobs.close_votes(_rt())


# id → (function, trigger kwargs); cron times are local (config timezone).
JOBS = {
    "dispatch-outbox": (dispatch_outbox, {"trigger": "interval", "seconds": DISPATCH_EVERY}),
    "sweep-reminders": (sweep_reminders, {"trigger": "interval", "seconds": 60}),
    "start-broadcasts": (start_broadcasts, {"trigger": "interval", "seconds": 5}),
    "refresh-token": (refresh_token, {"trigger": "interval", "minutes": 1}),
    "prune-processed": (prune_processed, {"trigger": "interval", "hours": 1}),
    "report-sla": (report_sla, {"trigger": "interval", "minutes": 5}),
    "report-digest": (report_digest, {"trigger": "cron", "hour": 8, "minute": 30}),
    "report-auto-close": (report_auto_close, {"trigger": "interval", "hours": 1}),
    "report-photos": (report_photos, {"trigger": "interval", "seconds": 30}),
    "report-focal-issues": (report_focal_issues,
                            {"trigger": "cron", "day_of_week": "mon", "hour": 9}),
    "timebank-statements": (timebank_statements, {"trigger": "cron", "day": 1, "hour": 9}),
    "timebank-pending": (timebank_pending, {"trigger": "cron", "hour": 10}),
    "timebank-transfers": (timebank_transfers, {"trigger": "cron", "minute": 7}),
    "timebank-expiry": (timebank_expiry, {"trigger": "cron", "day": 1, "hour": 3}),
    "decision-reminders": (decision_reminders, {"trigger": "cron", "hour": 9, "minute": 30}),
    "vote-closing": (vote_closing, {"trigger": "interval", "minutes": 1}),
}
