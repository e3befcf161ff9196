"""Webhook throughput and latency: Linli's full path vs a bare wechatpy echo and WeRoBot.

Signed plaintext-mode messages over loopback against gunicorn (2 sync workers),
32 concurrent connections, 15 s a run, driven by wrk. Linli runs on a fresh
seeded SQLite database (or LINLI_BENCH_DATABASE_URL, whose tables are dropped
and made afresh) with 1,000 registered residents; each message goes through
dedup claim, the person's sequence or row lock, conversation load/save, routing
and the stored reply. The three servers run in turn, `--rounds` times, so a
noisy neighbour on the machine hits all of them alike; medians are printed.

    python bench/webhook.py [--seconds 15] [--rounds 3] [--words commands|free|mix]

`--words free` sends what residents type instead of menu words (greetings, questions,
problems in their own words), so every message goes through intent recognition.
`--words mix` walks residents through whole conversations: registrations of new
followers, report flows that end in a submitted report, 我的报事, 议事会, 菜单, 我的时间.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from common import ROOT, bench_env, gunicorn, signed_params  # puts the project on sys.path
from sqlalchemy import func, select, text  # noqa: E402

from cli.seed import seed  # noqa: E402
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.texts import text as catalogue  # noqa: E402
from models import Community, Report, Resident, utcnow  # noqa: E402

SERVERS = (("wechatpy echo", "bench.echo_app:app", 18201),
           ("werobot+session", "bench.werobot_app:app", 18203),
           ("linli full path", "linli.app:create_app()", 18202))


def prepare_database(url: str) -> None:
    if not url.startswith("sqlite"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    config = load_config(overrides={"database": {"url": url}}, environ={})
    seed(config)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        community = s.query(Community).first()
        now = utcnow()
        s.add_all(Resident(openid=f"obench{i}", community_id=community.id, address="1栋",
                           registered_at=now, followed_at=now, consent_version=config.privacy.consent_version,
                           consented_at=now) for i in range(1000))
    engine.dispose()


def signed_path() -> str:
    return "/wechat?" + "&".join(f"{k}={v}" for k, v in signed_params().items())


def check_reply(port: int) -> None:
    """One real exchange first: a benchmark of error replies would measure nothing."""
    body = ("<xml><ToUserName>gh_bench</ToUserName><FromUserName>obench1</FromUserName>"
            "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>菜单</Content>"
            f"<MsgId>{time.time_ns()}</MsgId></xml>")
    reply = requests.post(f"http://127.0.0.1:{port}{signed_path()}", data=body.encode()).text
    if "菜单" not in reply and "请回复数字选择" not in reply:
        raise SystemExit(f"unexpected reply on port {port}: {reply[:200]}")


def wrk(port: int, seconds: int, connections: int, base: int, words: str) -> dict:
    path = signed_path()
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", str(ROOT / "bench" / "wechat.lua"),
                          f"http://127.0.0.1:{port}", "--", path, str(base), words, catalogue("busy")],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.split("RESULT ", 1)[1])
    result["msgs_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def reports_submitted(url: str) -> int:
    engine = make_engine(url, sqlite_begin="DEFERRED")
    with make_session_factory(engine)() as s:
        count = s.scalar(select(func.count()).select_from(Report))
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--words", choices=("commands", "free", "mix"), default="commands")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    prepare_database(url)
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in SERVERS}
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    env = {**bench_env(url), "BENCH_WEROBOT_DB": str(tmp / "werobot_session.sqlite3")}
    with contextlib.ExitStack() as servers:
        for _, app, port in SERVERS:
            servers.enter_context(gunicorn(app, port, env, workers=workers))
            check_reply(port)
        for round_no in range(args.rounds):
            for name, _, port in SERVERS:
                base = (int(time.time()) * 10 + round_no) * 1000
                runs[name].append(wrk(port, args.seconds, args.connections, base, args.words))
    reports = reports_submitted(url)
    median = {name: {key: statistics.median(r[key] for r in results)
                     for key in ("msgs_per_s", "p50_us", "p99_us")} for name, results in runs.items()}
    print(f"\n{args.connections} connections, {args.rounds} rounds of {args.seconds}s each, gunicorn "
          f"{workers} workers, database {url.split(':')[0]}, {args.words} words (medians)")
    print(f"{'':18}{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'non-2xx':>9}")
    for name, m in median.items():
        errors = sum(r["errors"] for r in runs[name])
        non2xx = sum(r["non2xx"] for r in runs[name])
        print(f"{name:18}{m['msgs_per_s']:>10.0f}{m['p50_us'] / 1000:>10.1f}"
              f"{m['p99_us'] / 1000:>10.1f}{errors:>8}{non2xx:>9}")
    linli = [r["msgs_per_s"] for r in runs["linli full path"]]
    for other in ("wechatpy echo", "werobot+session"):
        ratios = [a / r["msgs_per_s"] for a, r in zip(linli, runs[other])]
        print(f"linli / {other}: {statistics.median(ratios):.2f}× "
              f"(rounds {min(ratios):.2f}–{max(ratios):.2f})")
    busy = sum(r["busy"] for r in runs["linli full path"])
    print(f"linli replies with the busy text: {busy}; reports submitted: {reports}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
