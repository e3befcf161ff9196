"""Time bank at scale: 我的时间 through the webhook with 1,000,000 ledger entries, and the
monthly statement run for 10,000 volunteers (time and peak memory).

    python bench/timebank.py [--entries 1000000] [--volunteers 10000] [--requests 300]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.db import make_engine, make_session_factory, transaction  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.seed import seed  # noqa: E402
from bot.signing import sign  # noqa: E402
from models import Account, Community, EntryKind, LedgerEntry, Resident, utcnow  # noqa: E402
from scheduler.jobs import Runtime  # noqa: E402
from scheduler.timebank_jobs import monthly_statements  # noqa: E402

TOKEN, PORT = "benchtoken", 18700


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
    env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_WECHAT_TOKEN": TOKEN,
           "LINLI_WECHAT_ENCODING_AES_KEY": "", "LINLI_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}",
                             "--log-level", "warning", "bot.app:create_app()"], cwd=ROOT, env=env)
    http, base = requests.Session(), f"http://127.0.0.1:{PORT}"
    ts, nonce = "1700000000", "n"
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    rng, samples = random.Random(2), []
    try:
        for _ in range(100):
            try:
                http.get(f"{base}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        for i in range(args.requests):
            body = (f"<xml><ToUserName>gh</ToUserName><FromUserName>otb{rng.randrange(args.volunteers)}"
                    f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType>text</MsgType>"
                    f"<Content>我的时间</Content><MsgId>{time.time_ns()}</MsgId></xml>").encode()
            t0 = time.perf_counter()
            reply = http.post(f"{base}/wechat", params=params, data=body).text
            samples.append((time.perf_counter() - t0) * 1000)
            assert "余额" in reply, reply[:200]
    finally:
        proc.terminate()
        proc.wait()
    samples.sort()
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
    print(f"我的时间 (webhook): p50 {statistics.median(samples):.1f} ms, "
          f"p99 {samples[int(len(samples) * 0.99) - 1]:.1f} ms")
    print(f"monthly statements: {sent} queued in {elapsed:.1f} s, peak Python memory "
          f"{peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
