"""Time bank at scale: 我的时间 through the webhook with 1,000,000 ledger entries, and the
monthly statement run for 10,000 volunteers (time and peak memory).

    python bench/timebank.py [--entries 1000000] [--volunteers 10000] [--requests 300]
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, select

from common import bench_env, chat_xml, gunicorn, signed_params, timed  # puts the project on sys.path
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from cli.seed import seed  # noqa: E402
from models import Account, Community, EntryKind, LedgerEntry, Resident, utcnow  # noqa: E402
from scheduler.jobs import Runtime  # noqa: E402
from scheduler.timebank_jobs import monthly_statements  # noqa: E402

PORT = 18700


def fill(url: str, entries: int, volunteers: int) -> None:
    upgrade(url)
    seed(load_config(overrides={"database": {"url": url}}, environ={}))
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = utcnow()
    with transaction(sessions) as session:
        community = session.scalar(select(Community.id).where(Community.name == "金宁社区"))
        session.execute(insert(Resident), [
            {"openid": f"otb{i}", "community_id": community, "followed": True,
             "registered_at": now, "created_at": now} for i in range(volunteers)])
        first = session.scalar(select(Resident.id).where(Resident.openid == "otb0"))
        per = entries // volunteers
        session.execute(insert(Account), [
            {"id": i + 1, "owner_id": first + i, "community_id": community, "balance": per * 30,
             "earned_total": per * 30, "leaderboard_opt_out": False, "created_at": now}
            for i in range(volunteers)])
    rng = random.Random(1)
    per = entries // volunteers
    for start in range(0, volunteers, 500):
        rows = [{"account_id": a + 1, "kind": EntryKind.EARN, "minutes": 30, "source": f"record:{a}",
                 "actor": "bench", "created_at": now - timedelta(days=rng.randrange(0, 60))}
                for a in range(start, min(volunteers, start + 500)) for _ in range(per)]
        with transaction(sessions) as session:
            session.execute(insert(LedgerEntry), rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--volunteers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='linli-tb-')) / 'tb.db'}"
    started = time.monotonic()
    fill(url, args.entries, args.volunteers)
    print(f"filled {args.entries} ledger entries for {args.volunteers} volunteers "
          f"in {time.monotonic() - started:.0f}s")
    http, rng, params = requests.Session(), random.Random(2), signed_params()

    def my_time(i: int) -> None:
        reply = http.post(f"{base}/wechat", params=params, data=chat_xml(
            f"otb{rng.randrange(args.volunteers)}", "我的时间", time.time_ns())).text
        assert "余额" in reply, reply[:200]

    with gunicorn("bot.app:create_app()", PORT, bench_env(url)) as base:
        latency = timed(my_time, args.requests)
    config = load_config(overrides={"database": {"url": url}}, environ={})
    engine = make_engine(url)
    rt = Runtime(config, make_session_factory(engine), api=None)
    tracemalloc.start()
    t0 = time.perf_counter()
    sent = monthly_statements(rt, utcnow() + timedelta(days=31))
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    print(f"\n{args.entries} ledger entries, {args.volunteers} volunteers, database {url.split(':')[0]}")
    print(f"我的时间 (webhook): p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms")
    print(f"monthly statements: {sent} queued in {elapsed:.1f} s, peak Python memory "
          f"{peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
