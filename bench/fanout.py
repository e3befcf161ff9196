"""Broadcast fan-out: N-recipient per-resident broadcast delivered to the simulator.

Prints wall time, msgs/s, duplicates, missing and the dispatcher's peak memory
(VmHWM of the scheduler process), for each audience size given, so memory can
be seen to stay flat as the audience grows.

    python bench/fanout.py [--sizes 10000 45000]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.broadcasts import create  # noqa: E402
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from cli.seed import seed  # noqa: E402
from simulator.client import SimulatorClient  # noqa: E402
from tests.scheduler_helpers import open_rows, seed_followers, start_scheduler, wait_until  # noqa: E402

SIM_PORT = 18400


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run(size: int, tmp: Path, sim: SimulatorClient) -> dict:
    url = f"sqlite:///{tmp / f'fanout-{size}.db'}"
    upgrade(url)
    config = load_config(overrides={"database": {"url": url}}, environ={})
    seed(config)
    sim.reset()
    sim.settings(report_events=False)
    openids = seed_followers(url, sim, size, prefix=f"ofan{size}-")
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        create(session, config, title="停水通知", text="明天9点至12点停水，请提前储水。",
               audience={"type": "all"}, created_by="bench")
    engine.dispose()
    started = time.monotonic()
    proc = start_scheduler(url, f"http://127.0.0.1:{SIM_PORT}",
                           LINLI_DELIVERY_RATE_PER_SECOND="100000")
    try:
        wait_until(lambda: sim.call("GET", "/deliveries/stats")["total"] > 0, 60, step=0.05)
        first_send = time.monotonic()
        wait_until(lambda: open_rows(url) == 0, 1800, step=0.5)
        wall = time.monotonic() - first_send
        peak = peak_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    stats = sim.call("GET", "/deliveries/stats", params={"full": 1})
    missing = sum(1 for o in openids if o not in stats["received"])
    return {"size": size, "wall": wall, "total_wall": time.monotonic() - started,
            "rate": stats["total"] / wall, "duplicates": stats["extra"], "missing": missing,
            "peak_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 45_000])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-fanout-"))
    env = {**os.environ, "LINLI_DATABASE_URL": f"sqlite:///{tmp / 'sim.db'}"}
    sim_proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(SIM_PORT),
                                 "--webhook", "http://127.0.0.1:9/unused"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _up(f"http://127.0.0.1:{SIM_PORT}/sim/api/state"), 30)
        sim = SimulatorClient(f"http://127.0.0.1:{SIM_PORT}")
        results = [run(size, tmp, sim) for size in args.sizes]
    finally:
        sim_proc.terminate()
        sim_proc.wait()
    print(f"\n{'recipients':>10}{'wall s':>9}{'msgs/s':>9}{'dups':>6}{'missing':>9}{'peak MiB':>10}")
    for r in results:
        print(f"{r['size']:>10}{r['wall']:>9.1f}{r['rate']:>9.0f}{r['duplicates']:>6}"
              f"{r['missing']:>9}{r['peak_mib']:>10.1f}")


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
