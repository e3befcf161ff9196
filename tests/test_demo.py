"""The demo a newcomer meets: ready personas linked to the console logins, and a restart
(the simulator keeps nothing, the database keeps the residents) gives the simulator back
every follower, so pushes reach them instead of failing with 40003 (real HTTP)."""
from __future__ import annotations

from sqlalchemy import select

from cli.demo import _phones
from cli.demo_people import LABELS, seed_personas
from cli.seed import seed
from models import Resident, StaffUser


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
    assert "李婆婆母亲" in kin and "已确认" in kin
    review = _say(sim, "demo-staff-jinning", "审核")
    assert "张敏" in review and "【家属】" in review
    assert "社工审核后" in _say(sim, "demo-elder-jinning", "确认")
    me = _say(sim, "demo-resident-jinning", "我的信息")
    assert "陈小玲" in me and "3栋2单元502" in me
