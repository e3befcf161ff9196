"""Outbox dispatch: claim due rows, send them through the channel rules, record outcomes.

Rows are claimed in batches (`pending → sending`, committed before any call to
WeChat), sent by a small thread pool under a rate limit, and their outcomes
written in one transaction per batch. A crash leaves at most the claimed batch
in `sending`; after `sending_timeout_seconds` those rows go back to pending, so
only that in-flight batch can ever be sent twice (template messages not even
then: WeChat drops a repeated client_msg_id).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import SYSTEM, Clock
from core.config import Config
from core.db import transaction
from core.outbox import quiet_until
from core.wechat_api import WeChatAPI
from models import (
    DeliveryPause,
    OutboxMessage,
    OutboxStatus,
    Resident,
    SubscriptionGrant,
)
from scheduler.channels import Outcome, Push, Result, deliver

log = logging.getLogger("linli.delivery")
_outbox = OutboxMessage.__table__
RECORD = (update(_outbox).where(_outbox.c.id == bindparam("oid"))
          .values(status=bindparam("st"), channel=bindparam("ch"), sent_at=bindparam("at"),
                  next_attempt_at=bindparam("nxt"), last_error_code=bindparam("code"),
                  last_error=bindparam("err")))


class RateLimiter:
    """At most `rate` acquisitions per second across threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next = time.monotonic()

    def acquire(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Dispatcher:
    """Sends due outbox rows; `run` drains the backlog within a time budget."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], api: WeChatAPI,
                 clock: Clock = SYSTEM, stopping: threading.Event | None = None):
        self.config, self.sessions, self.api, self.clock = config, sessions, api, clock
        self.stopping = stopping or threading.Event()
        d = config.delivery
        self.batch_size, self.max_attempts, self.backoff = d.batch_size, d.max_attempts, d.backoff_seconds
        self.sending_timeout = timedelta(seconds=d.sending_timeout_seconds)
        self.limiter = RateLimiter(d.rate_per_second)
        self.pool = ThreadPoolExecutor(d.concurrency, thread_name_prefix="send")

    def run(self, budget_seconds: float = 20.0, now: datetime | None = None) -> int:
        """Send batches until nothing is due or the budget is spent; returns rows handled."""
        started, handled = time.monotonic(), 0
        self.recover_stale(now)
        while time.monotonic() - started < budget_seconds and not self.stopping.is_set():
            batch = self.claim(now)
            if not batch:
                break
            handled += self.send_batch(batch, now)
        return handled

    def recover_stale(self, now: datetime | None = None) -> int:
        """Rows left in `sending` by a crashed dispatcher go back to pending."""
        now = now or self.clock.now()
        with transaction(self.sessions) as session:
            result = session.execute(update(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_at < now - self.sending_timeout)
                .values(status=OutboxStatus.PENDING))
        if result.rowcount:
            log.warning("requeued %d rows left in 'sending' by a crash", result.rowcount)
        return result.rowcount or 0

    def claim(self, now: datetime | None = None) -> list[Push]:
        """Mark a batch of due rows `sending` and return what is needed to send them."""
        now = now or self.clock.now()
        with transaction(self.sessions) as session:
            paused = list(session.scalars(select(DeliveryPause.kind).where(DeliveryPause.until > now)))
            query = (select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.urgent.desc(), OutboxMessage.priority.desc(),
                          OutboxMessage.next_attempt_at).limit(self.batch_size)
                .with_for_update(skip_locked=True))
            if paused:
                query = query.where(OutboxMessage.kind.not_in(paused))
            if quiet_until(self.config, now) is not None:
                query = query.where(OutboxMessage.urgent.is_(True))
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(
                status=OutboxStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1))
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload,
                       OutboxMessage.expires_at, OutboxMessage.attempts, OutboxMessage.resident_id,
                       Resident.openid, Resident.followed, Resident.last_message_at)
                .join(Resident, Resident.id == OutboxMessage.resident_id)
                .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all()
            grants: dict[int, dict[str, bool]] = {}
            for grant in session.scalars(select(SubscriptionGrant).where(
                    SubscriptionGrant.resident_id.in_({r.resident_id for r in rows}),
                    (SubscriptionGrant.long_term.is_(True)) | (SubscriptionGrant.remaining > 0))):
                grants.setdefault(grant.resident_id, {})[grant.template_id] = grant.long_term
            return [Push(r.id, r.kind, r.payload, r.openid, r.followed, r.last_message_at,
                         r.expires_at, r.attempts, grants.get(r.resident_id, {}),
                         r.resident_id) for r in rows]

    def send_batch(self, batch: list[Push], now: datetime | None = None) -> int:
        def one(push: Push) -> Outcome:
            self.limiter.acquire()
            outcome = deliver(self.api, self.config, push, now or self.clock.now())
            log.info("send outbox=%d kind=%s to=%s… channel=%s result=%s code=%s", push.id,
                     push.kind, (push.openid or "-")[:6], outcome.channel, outcome.result,
                     outcome.code)
            return outcome

        outcomes = list(self.pool.map(one, batch))
        self.record(batch, outcomes, now or self.clock.now())
        return len(batch)

    def record(self, batch: list[Push], outcomes: list[Outcome], now: datetime) -> None:
        """Write every outcome of a batch in one transaction."""
        params, unfollowed, pauses, used, lost = [], [], {}, [], []
        for push, outcome in zip(batch, outcomes):
            if outcome.used_grant:
                used.append((push.resident_id, outcome.used_grant))
            if outcome.lost_grant:
                lost.append((push.resident_id, outcome.lost_grant))
            status, nxt = self._status(outcome, push.attempts, now)
            if outcome.result is Result.UNFOLLOWED and push.openid:
                unfollowed.append(push.openid)
            if outcome.result is Result.PAUSE:
                pauses[push.kind] = self._quota_reset(now)
                nxt = pauses[push.kind]
            params.append({"oid": push.id, "st": status.value,
                           "ch": outcome.channel.value if outcome.channel else None,
                           "at": now if outcome.result is Result.SENT else None, "nxt": nxt,
                           "code": outcome.code, "err": outcome.reason[:255] or None})
        with transaction(self.sessions) as session:
            session.execute(RECORD, params)
            if unfollowed:
                session.execute(update(Resident).where(Resident.openid.in_(unfollowed))
                                .values(followed=False, unfollowed_at=now))
            for resident_id, template_id in used:  # a one-time grant allows one send
                session.execute(update(SubscriptionGrant).where(
                    SubscriptionGrant.resident_id == resident_id,
                    SubscriptionGrant.template_id == template_id)
                    .values(remaining=SubscriptionGrant.remaining - 1, updated_at=now))
            for resident_id, template_id in lost:
                session.execute(delete(SubscriptionGrant).where(
                    SubscriptionGrant.resident_id == resident_id,
                    SubscriptionGrant.template_id == template_id))
            for kind, until in pauses.items():
                session.merge(DeliveryPause(kind=kind, until=until, reason="45009 daily quota"))
                log.warning("pausing kind=%s until %s (daily quota)", kind, until.isoformat())

    def _status(self, outcome: Outcome, attempts: int, now: datetime) -> tuple[OutboxStatus, datetime]:
        if outcome.result is Result.SENT:
            return OutboxStatus.SENT, now
        if outcome.result is Result.CANCELLED:
            return OutboxStatus.CANCELLED, now
        if outcome.result in (Result.UNDELIVERABLE, Result.UNFOLLOWED):
            return OutboxStatus.UNDELIVERABLE, now
        if outcome.result is Result.PAUSE:
            return OutboxStatus.PENDING, now
        if attempts >= self.max_attempts:
            return OutboxStatus.FAILED, now
        delay = self.backoff * 2 ** (attempts - 1)
        return OutboxStatus.PENDING, now + timedelta(seconds=delay * random.uniform(0.8, 1.2))

    def _quota_reset(self, now: datetime) -> datetime:
        """WeChat's daily quotas reset at midnight Beijing time."""
        local = now.astimezone(self.config.tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.astimezone(now.tzinfo)

