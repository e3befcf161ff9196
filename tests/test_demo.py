"""The demo a newcomer meets: ready personas linked to the console logins, and a restart
(the simulator keeps nothing, the database keeps the residents) gives the simulator back
every follower, so pushes reach them instead of failing with 40003 (real HTTP)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
import requests
from sqlalchemy import select

from cli.demo import _phones
from cli.demo_people import LABELS, seed_personas
from cli.seed import seed, seed_meetings
from models import Resident, StaffUser
from tests.conftest import PROJECT_ROOT, free_port
from tests.scheduler_helpers import wait_until


def _say(sim, openid: str, words: str) -> str:
    return sim.call("POST", f"/personas/{openid}/send", json={"type": "text", "content": words})["reply"]


def test_a_restarted_simulator_gets_its_followers_and_personas_back(sim, sim_server, registered, config):
    seed(config, role_accounts=True)
    seed_personas(config)
    alice = registered("alice")
    sim.reset()  # what a restart of the simulator looks like
    assert alice.openid not in {p["openid"] for p in sim.call("GET", "/personas")["personas"]}
    _phones(config, sim_server.port)
    phones = {p["openid"]: p for p in sim.call("GET", "/personas")["personas"]}
    assert phones[alice.openid]["followed"]
    assert all(phones[o]["followed"] and phones[o]["nickname"] == label for o, label in LABELS.items())


def test_ready_personas_play_each_role(sim, sim_server, config, db):
    seed(config, role_accounts=True)
    seed_meetings(config)
    seed_personas(config)
    seed_personas(config)  # idempotent: a second start adds nothing
    _phones(config, sim_server.port)
    db.rollback()
    people = {r.openid: r for r in db.scalars(select(Resident).where(Resident.openid.in_(list(LABELS))))}
    logins = {u.username: u.resident_id for u in db.scalars(select(StaffUser))}
    assert logins["jinning-staff"] == people["demo-staff-jinning"].id
    assert logins["jinning-grid1"] == people["demo-gridworker-jinning-1"].id
    assert "余额3小时" in _say(sim, "demo-volunteer-jinning", "我的时间")
    kin = _say(sim, "demo-volunteer-jinning", "家人")
    assert "李婆婆（母亲）" in kin and "已确认" in kin
    review = _say(sim, "demo-staff-jinning", "审核")
    assert "张敏" in review and "【家属】" in review
    assert "社工审核后" in _say(sim, "demo-elder-jinning", "确认")
    # the activity about to start: the social worker checks the volunteer in, hours proposed
    code = re.search(r"签到码(\d{6})", _say(sim, "demo-volunteer-jinning", "我的报名")).group(1)
    assert "签到成功" in _say(sim, "demo-staff-jinning", f"签到 {code}")
    assert "待审核：2条共3小时" in _say(sim, "demo-volunteer-jinning", "我的时间")
    me = _say(sim, "demo-resident-jinning", "我的信息")
    assert "陈小玲" in me and "3栋2单元502" in me


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_demo_stops_cleanly_when_run_in_the_background(tmp_path, stop):
    """Started the way `make demo &` starts it (SIGINT ignored, as a shell does for a
    background job): one signal to the demo stops simulator, webhook and scheduler, and
    their ports are free again."""
    web, simulator = free_port(), free_port()
    text = (PROJECT_ROOT / "config.yaml").read_text(encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        text.replace("8000", str(web)).replace("8100", str(simulator)), encoding="utf-8")
    env = {**os.environ, "LINLI_CONFIG": str(tmp_path / "config.yaml"),
           "LINLI_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PYTHONUNBUFFERED": "1"}
    demo = subprocess.Popen([sys.executable, "-m", "linli", "demo"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if "按 Ctrl-C 停止" in line:
                break
        banner = "".join(lines)
        assert "模拟器里的现成角色" in banner and "xianhu-staff" in banner, banner[-2000:]
        assert requests.get(f"http://127.0.0.1:{web}/healthz", timeout=5).ok
        # the seed's own pushes reach the ready personas (the simulator knew them in time)
        inbox = f"http://127.0.0.1:{simulator}/sim/api/personas/demo-elder-jinning/inbox"
        assert wait_until(lambda: "请确认志愿服务" in json.dumps(
            requests.get(inbox, timeout=5).json()["messages"], ensure_ascii=False), 30)
        demo.send_signal(stop)
        assert demo.wait(timeout=30) is not None
    finally:
        if demo.poll() is None:
            demo.kill()
    for port in (web, simulator):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still held"
