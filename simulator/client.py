"""Python client of the simulator's control API: personas for tests and benchmarks.

    sim = SimulatorClient("http://127.0.0.1:8100")
    alice = sim.persona("alice")
    alice.follow(scene="jinning")
    assert "楼栋" in alice.say("1")
"""
from __future__ import annotations

from typing import Any

import requests


class SimulatorClient:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.http.request(method, f"{self.base_url}/sim/api{path}", timeout=60, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def persona(self, nickname: str | None = None, openid: str | None = None) -> "Persona":
        data = self.call("POST", "/personas", json={"nickname": nickname, "openid": openid})
        return Persona(self, data["openid"], data["nickname"])

    def deliveries(self, **filters: Any) -> list[dict]:
        return self.call("GET", "/deliveries", params=filters)["deliveries"]

    def fault(self, endpoint: str, kind: str, **options: Any) -> None:
        self.call("POST", "/faults", json={"endpoint": endpoint, "kind": kind, **options})

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def settings(self, **values: Any) -> None:
        self.call("POST", "/settings", json=values)

    def reset(self) -> None:
        self.call("POST", "/reset")

    def invalidate_tokens(self) -> None:
        self.call("POST", "/tokens/invalidate")

    def state(self) -> dict:
        return self.call("GET", "/state")


class Persona:
    """One simulated follower; every method returns what the phone shows (reply text or None)."""

    def __init__(self, sim: SimulatorClient, openid: str, nickname: str):
        self.sim, self.openid, self.nickname = sim, openid, nickname
        self.last_outcome: dict | None = None

    @property
    def last_reply(self) -> str | None:
        return self.last_outcome["reply"] if self.last_outcome else None

    def send(self, **payload: Any) -> str | None:
        self.last_outcome = self.sim.call("POST", f"/personas/{self.openid}/send", json=payload)
        return self.last_reply

    def say(self, content: str, **extra: Any) -> str | None:
        return self.send(type="text", content=content, **extra)

    def voice(self, recognition: str | None = None) -> str | None:
        return self.send(type="voice", recognition=recognition)

    def send_image(self) -> str | None:
        return self.send(type="image")

    def send_location(self, lat: float, lng: float, label: str = "") -> str | None:
        return self.send(type="location", lat=lat, lng=lng, label_text=label)

    def follow(self, scene: str | None = None) -> str | None:
        return self.send(type="subscribe", scene=scene)

    def unfollow(self) -> str | None:
        return self.send(type="unsubscribe")

    def scan(self, scene: str) -> str | None:
        return self.send(type="scan", scene=scene)

    def click(self, key: str) -> str | None:
        return self.send(type="click", key=key)

    def inbox(self, since: int = 0) -> list[dict]:
        return self.sim.call("GET", f"/personas/{self.openid}/inbox", params={"since": since})["messages"]

    def pushes(self) -> list[dict]:
        """Messages pushed outside a passive reply (customer service, template, mass)."""
        return [m for m in self.inbox() if m["channel"] in ("custom", "template", "subscribe", "mass")]

    def age(self, days: float) -> None:
        """Pretend the last message was `days` ago (WeChat's 48-hour window closes)."""
        self.sim.call("POST", f"/personas/{self.openid}/age", json={"days": days})

    def subscribe(self, *templates: str, accept: bool = True) -> dict:
        """Answer the subscribe pop-up for these subscription templates."""
        return self.sim.call("POST", f"/personas/{self.openid}/subscriptions",
                             json={"templates": list(templates), "accept": accept})["grants"]

    def revoke(self, template: str) -> dict:
        return self.sim.call("POST", f"/personas/{self.openid}/subscriptions",
                             json={"revoke": template})["grants"]
