"""The scheduler: one acting instance (database lease), housekeeping jobs."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
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


def test_pruning_keeps_only_what_is_still_needed(rt, chat, fast_db, clock):
    """Claims (and their stored replies) after 72 h, idle conversations after a day, finished
    pushes after 30 days; a broadcast's rows stay as its delivery record."""
    from core.outbox import enqueue, message
    from models import Conversation, OutboxMessage, OutboxStatus

    p = chat.registered()
    p.say("我的信息")  # a conversation left open
    rid = p.resident.id
    enqueue(fast_db, rid, "timebank", message("旧消息"), "old-push", now=clock.now())
    fast_db.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))
    clock.advance(days=31)
    fresh = chat.persona()
    fresh.follow()  # a new claim and a fresh conversation
    enqueue(fast_db, rid, "timebank", message("新消息"), "new-push", now=clock.now())
    jobs.runtime = rt
    try:
        jobs.prune_processed()
    finally:
        jobs.runtime = None
    fast_db.expire_all()
    claims = fast_db.scalars(select(ProcessedMessage.openid)).all()
    assert p.openid not in claims and fresh.openid in claims
    assert fast_db.get(Conversation, rid) is None and fast_db.get(Conversation, fresh.resident.id)
    assert fast_db.scalars(select(OutboxMessage.dedup_key)).all() == ["new-push"]


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


def _says(proc: subprocess.Popen, words: str, seconds: float = 15) -> bool:
    """Whether the process logs `words` within `seconds` (read on a thread: no blocking)."""
    heard = threading.Event()

    def listen():
        for line in proc.stdout:  # keep draining: a full pipe would block the process
            if words in line:
                heard.set()
    threading.Thread(target=listen, daemon=True).start()
    return heard.wait(seconds)


def test_two_processes_one_acts_and_standby_takes_over_after_kill(sim, sim_server, db_url, db):
    first = _start(db_url, sim_server.url)
    try:
        assert _wait_for(lambda: (_holder(db) or "").endswith(f":{first.pid}"))
        second = _start(db_url, sim_server.url)
        try:
            assert _says(second, "standing by")  # the second stands by
            assert _holder(db).endswith(f":{first.pid}")
            first.kill()  # kill -9: no clean release
            first.wait()
            assert _wait_for(lambda: (_holder(db) or "").endswith(f":{second.pid}"))
        finally:
            second.terminate()
            second.wait(timeout=15)
    finally:
        if first.poll() is None:
            first.kill()


def test_logs_never_show_the_secret(tmp_path, config):
    """A failed token fetch is logged with its traceback; the URL's credentials are blanked."""
    env = {**os.environ, "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
           "LINLI_WECHAT_API_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
           "LINLI_WECHAT_SECRET": "very-secret-value-42"}
    subprocess.run([sys.executable, "-m", "linli", "init-db"], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "linli", "scheduler"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:  # until the failed job's traceback has been written
        lines.append(line)
        if line.startswith("requests.exceptions.ConnectionError"):
            break
    proc.terminate()
    output = "".join(lines) + proc.communicate(timeout=15)[0]
    assert "refresh_token" in output and "Traceback" in output  # the job ran, and failed
    assert "very-secret-value-42" not in output and "secret=***" in output


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
