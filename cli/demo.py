"""`linli demo`: the simulator, the web app and the scheduler together, on SQLite.

Every way of stopping it stops all three: Ctrl-C, SIGTERM, SIGHUP — also when the
demo was started in the background, where the shell makes it ignore SIGINT.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from sqlalchemy import select

from cli.demo_people import LABELS
from cli.menu import publish_menu
from core.config import Config
from core.db import make_engine, make_session_factory
from core.texts import text
from models import Resident

CHILD_STOP_SECONDS = 10


def run(config: Config) -> None:
    py = sys.executable
    sim_port, web_port = config.simulator.port, config.server.port
    # The demo delivers at once, day and night; LINLI_DELIVERY_QUIET_HOURS=21:30-08:00 turns
    # quiet hours on (the production default in config.yaml).
    quiet = os.environ.get("LINLI_DELIVERY_QUIET_HOURS", "")
    env = {"PYTHONUNBUFFERED": "1", "LINLI_DELIVERY_QUIET_HOURS": quiet}
    # The simulator first, with every phone back, so the scheduler's first pushes (the
    # seed's own) find their followers instead of failing with 40003.
    procs = [subprocess.Popen([py, "-m", "simulator", "--port", str(sim_port)], env=_env(env))]
    asked: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: asked.append(number))
    try:
        if _up(f"http://127.0.0.1:{sim_port}/sim/api/state", asked):
            _phones(config, sim_port)
            procs += [subprocess.Popen([py, "-m", "linli", "serve", "--port", str(web_port)], env=_env(env)),
                      subprocess.Popen([py, "-m", "linli", "scheduler"], env=_env(env))]
            if _up(f"http://127.0.0.1:{web_port}/healthz", asked):
                print(_menu(config))
                print(banner(config, quiet), flush=True)
        while not asked and all(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        _stop(procs)


def banner(config: Config, quiet: str) -> str:
    host, sim = config.server.public_url, f"http://127.0.0.1:{config.simulator.port}"
    return text("demo_banner", sim=sim, host=host, password=config.demo.staff_password,
                quiet=text("demo_quiet", hours=quiet) if quiet else text("demo_no_quiet"))


def _phones(config: Config, sim_port: int) -> None:
    """The simulator keeps no state across restarts; the database does. Give it back the
    residents who follow the account (else their pushes fail with 40003), the ready
    personas under their labels, with a chat window open."""
    base = f"http://127.0.0.1:{sim_port}/sim/api"
    engine = make_engine(config.database.url)
    try:
        with make_session_factory(engine)() as session:
            known = dict(session.execute(select(Resident.openid, Resident.name).where(
                Resident.followed.is_(True), Resident.openid.is_not(None))).all())
    finally:
        engine.dispose()
    for openid, nickname in known.items():
        requests.post(f"{base}/personas", timeout=5,
                      json={"openid": openid, "nickname": LABELS.get(openid) or nickname or openid[:8]})
    ready = [openid for openid in LABELS if openid in known]
    requests.post(f"{base}/followers", json={"openids": [o for o in known if o not in LABELS],
                                             "window": False}, timeout=5)
    requests.post(f"{base}/followers", json={"openids": ready, "window": True}, timeout=5)


def _env(extra: dict) -> dict:
    return {**os.environ, **extra}


def _menu(config: Config) -> str:
    try:
        return publish_menu(config)
    except Exception as exc:  # noqa: BLE001 - the demo still runs without a menu bar
        return f"menu not published: {exc}"


def _up(url: str, asked: list, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not asked:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    if not asked:
        raise SystemExit(f"{url} did not come up within {seconds:.0f}s")
    return False


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=CHILD_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print("Linli demo stopped.", flush=True)
