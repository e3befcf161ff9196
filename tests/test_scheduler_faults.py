"""Scheduler processes under faults: kill -9 mid-broadcast, two started at once."""
from __future__ import annotations

import json

from core.clock import SYSTEM
from core.config import PROJECT_ROOT
from core.db import make_engine, make_session_factory, transaction
from domain.actor import Actor
from domain.broadcasts import create
from domain.unit import Unit
from tests.scheduler_helpers import open_rows, seed_followers, start_scheduler, wait_until

BATCH = 200


def _broadcast(db_url: str, config) -> int:
    engine = make_engine(db_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return create(Unit(session, config, SYSTEM), Actor.cli("test"), title="停电通知",
                          text="今晚检修线路，20点至22点停电。", audience={"type": "all"}).id
    finally:
        engine.dispose()


def test_kill_9_mid_broadcast_reaches_everyone_once(sim, sim_server, db_url, config):
    sim.settings(report_events=False)
    openids = seed_followers(db_url, sim, 10_000)
    _broadcast(db_url, config)
    env = {"LINLI_DELIVERY_RATE_PER_SECOND": "5000", "LINLI_DELIVERY_BATCH_SIZE": str(BATCH),
           "LINLI_DELIVERY_SENDING_TIMEOUT_SECONDS": "3"}
    first = start_scheduler(db_url, sim_server.url, **env)
    try:
        assert wait_until(lambda: sim.call("GET", "/deliveries/stats")["total"] >= 3000, 120)
    finally:
        first.kill()  # SIGKILL: no clean shutdown, no lease release
        first.wait()
    second = start_scheduler(db_url, sim_server.url, **env)
    try:
        assert wait_until(lambda: open_rows(db_url) == 0, 240, step=1)
    finally:
        second.terminate()
        second.wait(timeout=30)
    stats = sim.call("GET", "/deliveries/stats", params={"full": 1})
    missing = [o for o in openids if o not in stats["received"]]
    assert missing == []
    assert stats["extra"] <= BATCH  # only the batch in flight at the kill may repeat
    (PROJECT_ROOT / "artifacts").mkdir(exist_ok=True)
    (PROJECT_ROOT / "artifacts" / "kill9.json").write_text(json.dumps(
        {"recipients": len(openids), "delivered": stats["total"], "repeated": stats["extra"],
         "missing": len(missing), "database": db_url.split(":")[0]}))


def test_two_schedulers_started_at_once_send_once(sim, sim_server, db_url, config):
    sim.settings(report_events=False)
    openids = seed_followers(db_url, sim, 1_000, prefix="otwo")
    _broadcast(db_url, config)
    env = {"LINLI_DELIVERY_RATE_PER_SECOND": "5000"}
    procs = [start_scheduler(db_url, sim_server.url, **env) for _ in range(2)]
    try:
        assert wait_until(lambda: sim.call("GET", "/deliveries/stats")["total"] >= len(openids), 120)
        assert wait_until(lambda: open_rows(db_url) == 0, 30)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    stats = sim.call("GET", "/deliveries/stats")
    assert stats["recipients"] == len(openids) and stats["extra"] == 0
