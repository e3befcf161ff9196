"""Meetings at scale: 议事会 and 报名 through the webhook, and the 24 h reminder sweep.

Fills the database with 2,000 meetings and 100,000 sign-ups (with their
reminders), serves the bot with gunicorn (2 workers, plaintext mode), and times
sequential requests from one client; then times one reminder sweep with 1,000
24-hour reminders due among all of them.

    python bench/meetings.py [--meetings 2000] [--signups 100000] [--requests 300]
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
from sqlalchemy import insert, select, update

from common import bench_env, chat_xml, gunicorn, signed_params, timed  # puts the project on sys.path
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from cli.seed import seed  # noqa: E402
from models import (Community, Meeting, MeetingStatus, MeetingType, Reminder, Resident, Signup,  # noqa: E402
                    SignupStatus, utcnow)
from scheduler.reminders import sweep  # noqa: E402

PORT = 18600


def fill(url: str, n_meetings: int, n_signups: int) -> int:
    upgrade(url)
    seed(load_config(overrides={"database": {"url": url}}, environ={}))
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = utcnow()
    people = max(1000, n_signups // 20)
    with transaction(sessions) as session:
        community = session.scalar(select(Community.id).where(Community.name == "金宁社区"))
        session.execute(insert(Resident), [
            {"openid": f"omeet{i}", "community_id": community, "followed": True,
             "registered_at": now, "created_at": now} for i in range(people)])
        first = session.scalar(select(Resident.id).where(Resident.openid == "omeet0"))
        session.execute(insert(Meeting), [{
            "id": m + 1, "community_id": community, "type": MeetingType.COUNCIL,
            "title": f"议事会{m}", "agenda": [], "place": "党群服务中心",
            "starts_at": now + timedelta(hours=25 + m), "ends_at": now + timedelta(hours=27 + m),
            "capacity": 0, "reserved_seats": 0, "confirmed_count": n_signups // n_meetings,
            "signup_deadline": now + timedelta(hours=24 + m),
            "audience": {"type": "community", "id": community}, "allow_proxy": True,
            "status": MeetingStatus.PUBLISHED, "created_by": "bench", "alerted_percent": 0,
            "decisions": [], "created_at": now} for m in range(n_meetings)])
    rng = random.Random(5)
    per = n_signups // n_meetings
    for start in range(0, n_meetings, 100):
        signups, reminders = [], []
        for m in range(start, min(n_meetings, start + 100)):
            for j, person in enumerate(rng.sample(range(people), per)):
                sid = m * per + j + 1
                signups.append({"id": sid, "meeting_id": m + 1, "resident_id": first + person,
                                "status": SignupStatus.CONFIRMED, "checkin_code": f"{j:06d}",
                                "walk_in": False, "created_at": now})
                for offset in (24, 1):
                    reminders.append({
                        "resident_id": first + person, "kind": "meeting_reminder",
                        "payload": {"text": "提醒"}, "urgent": False, "done": False,
                        "due_at": now + timedelta(hours=25 + m - offset),
                        "expires_at": now + timedelta(hours=25 + m),
                        "dedup_key": f"meeting:{m + 1}:remind-{offset}h:{sid}", "created_at": now})
        with transaction(sessions) as session:
            session.execute(insert(Signup), signups)
            session.execute(insert(Reminder), reminders)
    engine.dispose()
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meetings", type=int, default=2000)
    parser.add_argument("--signups", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='linli-meet-')) / 'meet.db'}"
    started = time.monotonic()
    people = fill(url, args.meetings, args.signups)
    print(f"filled {args.meetings} meetings, {args.signups} sign-ups in {time.monotonic() - started:.0f}s")
    http = requests.Session()
    params, rng, msg_base = signed_params(), random.Random(9), time.time_ns()
    with gunicorn("bot.app:create_app()", PORT, bench_env(url)) as base:
        def say(openid: str, content: str, expect: str) -> None:
            reply = http.post(f"{base}/wechat", params=params, data=chat_xml(
                openid, content, msg_base + rng.randrange(10**12))).text
            assert expect in reply, reply[:300]

        browse = timed(lambda i: say(f"omeet{rng.randrange(people)}", "议事会", "议事会"),
                       args.requests)
        signup = timed(lambda i: say(f"omeet{rng.randrange(people)}", f"报名 {rng.randrange(1, 6)}",
                                     "报名"), args.requests)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    # make the first 1,000 24-hour reminders due, then sweep once
    with transaction(sessions) as session:
        due = select(Reminder.id).where(Reminder.dedup_key.like("%remind-24h%")).order_by(
            Reminder.due_at).limit(1000).scalar_subquery()
        session.execute(update(Reminder).where(Reminder.id.in_(due))
                        .values(due_at=utcnow() - timedelta(minutes=1)))
    started = time.perf_counter()
    counts = sweep(sessions)
    sweep_s = time.perf_counter() - started
    engine.dispose()
    print(f"\n{args.meetings} meetings, {args.signups} sign-ups, {people} residents, "
          f"database {url.split(':')[0]}")
    print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in (("议事会 (webhook)", browse), ("报名 n (webhook)", signup)):
        print(f"{name:28}{r['p50']:>9.1f}{r['p99']:>9.1f}")
    print(f"24 h reminder sweep: {counts['queued']} queued from "
          f"{2 * args.signups} stored reminders in {sweep_s:.3f} s")


if __name__ == "__main__":
    main()
