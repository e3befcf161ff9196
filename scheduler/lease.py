"""A database lease so that exactly one scheduler acts at a time.

The holder renews it every few seconds; a second scheduler started by mistake
waits in standby and takes over once the lease has expired (the first died).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import SYSTEM, Clock
from core.db import insert_ignore, transaction
from models import Lease


def try_acquire(sessions: sessionmaker[Session], name: str, holder: str, ttl: float,
                clock: Clock = SYSTEM) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    with transaction(sessions) as session:
        now = clock.now()
        insert_ignore(session, Lease.__table__, {"name": name, "holder": "", "expires_at": now,
                                                 "heartbeat_at": now}, ["name"])
        lease = session.scalars(select(Lease).where(Lease.name == name).with_for_update()).one()
        if lease.holder != holder and lease.expires_at > now:
            return False
        lease.holder, lease.heartbeat_at = holder, now
        lease.expires_at = now + timedelta(seconds=ttl)
        return True


def release(sessions: sessionmaker[Session], name: str, holder: str, clock: Clock = SYSTEM) -> None:
    """Give the lease up at a clean shutdown so a standby takes over at once."""
    with transaction(sessions) as session:
        lease = session.scalars(select(Lease).where(Lease.name == name).with_for_update()).first()
        if lease is not None and lease.holder == holder:
            lease.expires_at = clock.now()
