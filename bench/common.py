"""Shared by the benchmarks: serve the bot under gunicorn, sign and build chat messages, time calls."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.signing import sign  # noqa: E402

TOKEN = "benchtoken"


def bench_env(url: str) -> dict:
    """Plaintext mode (wrk and simple clients can sign it) with a benchmark token."""
    return {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_WECHAT_TOKEN": TOKEN,
            "LINLI_WECHAT_ENCODING_AES_KEY": "", "LINLI_LOG_LEVEL": "WARNING"}


@contextmanager
def gunicorn(app: str, port: int, env: dict, workers: int = 2) -> Iterator[str]:
    """Run `app` under gunicorn on loopback until the block ends; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
                             f"127.0.0.1:{port}", "--log-level", "warning", app], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{app} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait()


def signed_params() -> dict:
    """Signed now: the webhook refuses timestamps more than 5 minutes off."""
    ts, nonce = str(int(time.time())), "benchnonce"
    return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def chat_xml(openid: str, content: str, msg_id: int) -> bytes:
    return (f"<xml><ToUserName>gh_bench</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>{content}</Content>"
            f"<MsgId>{msg_id}</MsgId></xml>").encode()


def timed(fn: Callable[[int], object], n: int) -> dict:
    """p50 and p99 in milliseconds of `n` sequential calls."""
    samples = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[max(0, int(len(samples) * 0.99) - 1)]}
