"""Large audiences and scheduler processes for the fault and load tests and benchmarks."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from sqlalchemy import func, insert, select

from core.config import PROJECT_ROOT, PrivacyConfig
from core.db import make_engine, make_session_factory, transaction
from models import Community, OutboxMessage, OutboxStatus, Resident, utcnow


def seed_followers(db_url: str, sim, count: int, prefix: str = "oload") -> list[str]:
    """`count` registered residents of 金宁 who wrote just now, known to the simulator too."""
    engine = make_engine(db_url)
    openids = [f"{prefix}{i:06d}" for i in range(count)]
    now = utcnow()
    try:
        with transaction(make_session_factory(engine)) as session:
            community = session.scalar(select(Community.id).where(Community.name == "金宁社区"))
            for start in range(0, count, 5000):
                session.execute(insert(Resident), [
                    {"openid": o, "community_id": community, "followed": True, "followed_at": now,
                     "registered_at": now, "last_message_at": now, "created_at": now,
                     "consent_version": PrivacyConfig().consent_version, "consented_at": now}
                    for o in openids[start:start + 5000]])
    finally:
        engine.dispose()
    for start in range(0, count, 5000):
        sim.call("POST", "/followers", json={"openids": openids[start:start + 5000]})
    return openids


def start_scheduler(db_url: str, sim_url: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "LINLI_DATABASE_URL": db_url, "LINLI_WECHAT_API_BASE_URL": sim_url,
               "LINLI_DELIVERY_QUIET_HOURS": "", "LINLI_LOG_LEVEL": "WARNING",
               "LINLI_SCHEDULER_LEASE_SECONDS": "3", **env}
    return subprocess.Popen([sys.executable, "-m", "linli", "scheduler"], cwd=PROJECT_ROOT,
                            env=environ)


def open_rows(db_url: str) -> int:
    engine = make_engine(db_url, sqlite_begin="DEFERRED")
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))).scalar()
    finally:
        engine.dispose()


def wait_until(predicate, seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
