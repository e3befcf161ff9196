"""The demo after a restart: the simulator keeps nothing, the database keeps the residents;
starting again gives the simulator back every follower and the grid workers' phones, so
pushes reach them instead of failing with 40003 (real HTTP to the simulator)."""
from __future__ import annotations

from cli.demo import WORKER_PHONES, _worker_phones


def test_a_restarted_simulator_gets_its_followers_back(sim, sim_server, registered, config):
    alice = registered("alice")
    sim.reset()  # what a restart of the simulator looks like
    assert alice.openid not in {p["openid"] for p in sim.call("GET", "/personas")["personas"]}
    _worker_phones(config, sim_server.port)
    phones = {p["openid"]: p for p in sim.call("GET", "/personas")["personas"]}
    assert phones[alice.openid]["followed"]
    assert all(phones[o]["followed"] and phones[o]["nickname"] == name for o, name in WORKER_PHONES.items())
