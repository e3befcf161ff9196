"""Report look-ups at scale: 我的报事 and 查询 through the webhook, Open311 GET with filters.

Fills the database with 200,000 reports (20,000 residents, 10 each, with a
timeline event each), serves the bot with gunicorn (2 workers, plaintext mode)
and times sequential requests from one client: latency, not throughput.

    python bench/reports.py [--reports 200000] [--requests 500]
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, select

from common import bench_env, chat_xml, gunicorn, signed_params, timed  # puts the project on sys.path
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from cli.seed import seed  # noqa: E402
from models import Community, Report, ReportEvent, Resident, Status, Tier, utcnow  # noqa: E402

PORT = 18500
CATEGORIES = ["environment", "facilities", "roads", "greening", "noise", "safety"]
STATUSES = [Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED]


def fill(url: str, total: int) -> tuple[int, int]:
    upgrade(url)
    seed(load_config(overrides={"database": {"url": url}}, environ={}))
    engine = make_engine(url)
    people = max(1, total // 10)
    now = utcnow()
    with transaction(make_session_factory(engine)) as session:
        community = session.scalar(select(Community.id))
        session.execute(insert(Resident), [
            {"openid": f"orep{i}", "community_id": community, "followed": True,
             "registered_at": now, "created_at": now} for i in range(people)])
        first = session.scalar(select(Resident.id).where(Resident.openid == "orep0"))
    rng = random.Random(7)
    for start in range(0, total, 10_000):
        rows = []
        for i in range(start, min(total, start + 10_000)):
            created = now - timedelta(minutes=i)
            rows.append({"id": i + 1, "code": f"BS{i + 1:06d}", "resident_id": first + i % people,
                         "community_id": community, "category": rng.choice(CATEGORIES),
                         "tier": Tier.SMALL, "description": f"第{i}号问题：路灯不亮",
                         "status": rng.choice(STATUSES), "assignee_title": "金宁社区工作人员",
                         "source": "wechat", "accept_due_at": created + timedelta(hours=24),
                         "resolve_due_at": created + timedelta(hours=72), "escalation": 0,
                         "updated_at": created, "created_at": created,
                         "lat": 23.04 + rng.random() / 100, "lng": 112.91 + rng.random() / 100})
        with transaction(make_session_factory(engine)) as session:
            session.execute(insert(Report), rows)
            session.execute(insert(ReportEvent), [
                {"report_id": r["id"], "actor": "居民", "to_status": Status.SUBMITTED,
                 "created_at": r["created_at"]} for r in rows])
    engine.dispose()
    return people, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='linli-rep-')) / 'rep.db'}"
    started = time.monotonic()
    people, _ = fill(url, args.reports)
    print(f"filled {args.reports} reports in {time.monotonic() - started:.0f}s")
    http = requests.Session()
    params, rng, msg_base = signed_params(), random.Random(3), time.time_ns()
    with gunicorn("bot.app:create_app()", PORT, bench_env(url)) as base:
        def chat(content_for):
            def one(i: int) -> None:
                who = rng.randrange(people)
                reply = http.post(f"{base}/wechat", params=params, data=chat_xml(
                    f"orep{who}", content_for(who), msg_base + rng.randrange(10**12))).text
                assert "BS" in reply, reply[:200]
            return one

        mine = timed(chat(lambda who: "我的报事"), args.requests)
        # resident `who` owns reports who+1, who+1+people, …: query one of their own
        query = timed(chat(lambda who: f"查询 BS{who + 1 + people * rng.randrange(10):06d}"),
                      args.requests)
        open311 = timed(lambda i: http.get(f"{base}/open311/v2/requests.json", params={
            "service_code": rng.choice(CATEGORIES), "status": rng.choice(["open", "closed"]),
            "start_date": (utcnow() - timedelta(days=rng.randrange(1, 60))).isoformat()})
            .raise_for_status(), max(50, args.requests // 5))
        one = timed(lambda i: http.get(
            f"{base}/open311/v2/requests/BS{rng.randrange(1, args.reports):06d}.json")
            .raise_for_status(), args.requests)
    print(f"\n{args.reports} reports, {people} residents, database {url.split(':')[0]}")
    print(f"{'':34}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("我的报事 (webhook)", mine), ("查询 <code> (webhook)", query),
                    ("Open311 GET requests (filters)", open311), ("Open311 GET one request", one)):
        print(f"{name:34}{r['p50']:>9.1f}{r['p99']:>9.1f}")


if __name__ == "__main__":
    main()
