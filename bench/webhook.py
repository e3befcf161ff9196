"""Webhook throughput and latency: Linli's full path vs a bare wechatpy echo and WeRoBot.

Signed plaintext-mode text messages over loopback against gunicorn (2 sync
workers), 32 concurrent connections, 15 s each, driven by wrk. Linli runs on a
fresh seeded SQLite database (or LINLI_BENCH_DATABASE_URL) with 1,000
registered residents; each message goes through dedup claim, resident lock,
conversation load/save, routing and the stored reply.

    python bench/webhook.py [--seconds 15] [--connections 32] [--words commands|free]

`--words free` sends what residents type instead of menu words (greetings, questions,
problems in their own words), so every message goes through intent recognition.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from common import ROOT, bench_env, gunicorn, signed_params  # puts the project on sys.path
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from cli.seed import seed  # noqa: E402
from models import Community, Resident, utcnow  # noqa: E402



def prepare_database(url: str) -> None:
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
                          f"http://127.0.0.1:{port}", "--", path, str(base), words],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.split("RESULT ", 1)[1])
    result["msgs_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--words", choices=("commands", "free"), default="commands")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    url = os.environ.get("LINLI_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    prepare_database(url)
    results = {}
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    env = {**bench_env(url), "BENCH_WEROBOT_DB": str(tmp / "werobot_session.sqlite3")}
    for name, app, port in (("wechatpy echo", "bench.echo_app:app", 18201),
                            ("werobot+session", "bench.werobot_app:app", 18203),
                            ("linli full path", "linli.app:create_app()", 18202)):
        with gunicorn(app, port, env, workers=workers):
            check_reply(port)
            results[name] = wrk(port, args.seconds, args.connections, int(time.time()) * 1000, args.words)
    print(f"\n{args.connections} connections, {args.seconds}s each, gunicorn 2 workers, "
          f"database {url.split(':')[0]}, {args.words} words")
    print(f"{'':18}{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'non-2xx':>9}")
    for name, r in results.items():
        print(f"{name:18}{r['msgs_per_s']:>10.0f}{r['p50_us'] / 1000:>10.1f}"
              f"{r['p99_us'] / 1000:>10.1f}{r['errors']:>8}{r['non2xx']:>9}")
    linli = results["linli full path"]["msgs_per_s"]
    print(f"linli / echo throughput: {linli / results['wechatpy echo']['msgs_per_s']:.2f}×; "
          f"linli / werobot+session: {linli / results['werobot+session']['msgs_per_s']:.2f}×")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
