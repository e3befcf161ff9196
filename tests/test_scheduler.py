"""The scheduler: one acting instance (database lease), housekeeping jobs."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import select, update

from core.config import PROJECT_ROOT
from core.db import make_session_factory
from models import Lease, ProcessedMessage, utcnow
from scheduler import jobs
from scheduler.lease import release, try_acquire


def test_second_scheduler_waits_then_takes_over(sim, engine):
    sessions = make_session_factory(engine)
    assert try_acquire(sessions, "scheduler", "host:1", ttl=30)
    assert not try_acquire(sessions, "scheduler", "host:2", ttl=30)
    assert try_acquire(sessions, "scheduler", "host:1", ttl=30)  # renewal
    with sessions.begin() as s:  # the first one died: its lease runs out
        s.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert try_acquire(sessions, "scheduler", "host:2", ttl=30)
    assert not try_acquire(sessions, "scheduler", "host:1", ttl=30)
    release(sessions, "scheduler", "host:2")
    assert try_acquire(sessions, "scheduler", "host:1", ttl=30)


def test_prune_processed_keeps_recent_claims(sim, engine, config, db):
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        s.add_all([ProcessedMessage(key="old", reply="", created_at=utcnow() - timedelta(days=4)),
                   ProcessedMessage(key="new", reply="", created_at=utcnow())])
    jobs.runtime = jobs.Runtime(config, sessions, api=None)
    try:
        jobs.prune_processed()
    finally:
        jobs.runtime = None
    keys = {p.key for p in db.scalars(select(ProcessedMessage))}
    assert "old" not in keys and "new" in keys


def _start(db_url: str, sim_url: str) -> subprocess.Popen:
    env = {**os.environ, "LINLI_DATABASE_URL": db_url, "LINLI_WECHAT_API_BASE_URL": sim_url,
           "LINLI_SCHEDULER_LEASE_SECONDS": "3"}
    return subprocess.Popen([sys.executable, "-m", "linli", "scheduler"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _holder(db) -> str | None:
    db.rollback()
    lease = db.scalars(select(Lease).where(Lease.name == "scheduler")).first()
    return lease.holder if lease and lease.expires_at > utcnow() else None


def _wait_for(predicate, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_two_processes_one_acts_and_standby_takes_over_after_kill(sim, sim_server, db_url, db):
    first = _start(db_url, sim_server.url)
    try:
        assert _wait_for(lambda: (_holder(db) or "").endswith(f":{first.pid}"))
        second = _start(db_url, sim_server.url)
        try:
            time.sleep(2)
            assert _holder(db).endswith(f":{first.pid}")  # the second stands by
            first.kill()  # kill -9: no clean release
            first.wait()
            assert _wait_for(lambda: (_holder(db) or "").endswith(f":{second.pid}"))
        finally:
            second.terminate()
            second.wait(timeout=15)
    finally:
        if first.poll() is None:
            first.kill()
