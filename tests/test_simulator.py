"""The simulator keeps WeChat's rules, so the bot is tested against them."""
from __future__ import annotations

import pytest
import requests

APPID, SECRET = "wx5e11aa0000d3m0", "linli-demo-secret-not-for-production"


class Api:
    """Raw calls to the simulated /cgi-bin, the way any WeChat client makes them."""

    def __init__(self, base: str):
        self.base = base
        self.token = self.fetch_token()

    def fetch_token(self) -> str:
        r = requests.get(f"{self.base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET})
        return r.json()["access_token"]

    def post(self, endpoint: str, body: dict, token: str | None = None) -> dict:
        r = requests.post(f"{self.base}/cgi-bin/{endpoint}",
                          params={"access_token": token or self.token}, json=body)
        return r.json() if r.headers.get("content-type", "").startswith("application/json") \
            else {"http": r.status_code}

    def get(self, endpoint: str, **params) -> dict:
        r = requests.get(f"{self.base}/cgi-bin/{endpoint}",
                         params={"access_token": self.token, **params})
        return r.json()

    def custom(self, openid: str, text: str = "你好") -> int:
        return self.post("message/custom/send", {"touser": openid, "msgtype": "text",
                                                 "text": {"content": text}}).get("errcode")


@pytest.fixture
def api(sim, sim_server):
    return Api(sim_server.url)


@pytest.fixture
def follower(sim, registered):
    return registered()


def test_custom_message_allowance_after_a_message(api, follower, sim):
    follower.say("菜单")
    assert [api.custom(follower.openid) for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    follower.say("帮助")  # a new message opens a new allowance
    assert api.custom(follower.openid) == 0
    assert len(follower.pushes()) == 6


def test_custom_message_allowance_after_a_menu_click_is_three(api, follower, sim):
    follower.click("HELP")
    assert [api.custom(follower.openid) for _ in range(4)] == [0, 0, 0, 45047]


def test_custom_message_window_closes_after_48_hours(api, follower, sim):
    follower.say("菜单")
    sim.call("POST", "/clock", json={"offset_seconds": 48 * 3600 + 60})
    api.token = api.fetch_token()  # the old token expired too
    assert api.custom(follower.openid) == 45015


def test_token_expiry_and_invalidation(api, sim):
    assert api.get("menu/get")["errcode"] == 46003  # valid token, no menu yet
    old = api.token
    api.token = api.fetch_token()
    assert api.get("menu/get", access_token=old)["errcode"] == 46003  # 5-minute overlap
    sim.call("POST", "/clock", json={"offset_seconds": 301})
    assert api.get("menu/get", access_token=old)["errcode"] == 40001
    sim.call("POST", "/clock", json={"offset_seconds": 7300})
    assert api.get("menu/get")["errcode"] == 42001
    assert api.get("menu/get", access_token="")["errcode"] == 41001


def test_unfollowed_and_unknown_users(api, follower, sim):
    assert api.custom("o-nobody") == 40003
    follower.unfollow()
    assert api.custom(follower.openid) == 43004
    body = {"touser": follower.openid, "template_id": "TPL_NOTICE", "data": {"x": {"value": "1"}}}
    assert api.post("message/template/send", body)["errcode"] == 43004


NOTICE = {"thing1": {"value": "12月居民议事会通知"}, "thing2": {"value": "金宁社区"},
          "time3": {"value": "2026年12月01日 10:00"}}


def test_template_rules_and_client_msg_id(api, follower, sim):
    body = {"touser": follower.openid, "template_id": "TPL_NOPE", "data": NOTICE}
    assert api.post("message/template/send", body)["errcode"] == 40037
    body["template_id"] = "TPL_NOTICE"
    for broken in ({**NOTICE, "keyword9": {"value": "x"}}, {"thing1": NOTICE["thing1"]}):
        assert api.post("message/template/send", dict(body, data=broken))["errcode"] == 47003
    long = {**NOTICE, "thing1": {"value": "关于本社区三栋加装电梯费用分摊方案的居民议事会通知"}}
    body.update(data=long, client_msg_id="report-1-accepted")
    first = api.post("message/template/send", body)
    again = api.post("message/template/send", body)
    assert first["errcode"] == 0 and first["msgid"] == again["msgid"]
    [card] = [m for m in follower.pushes() if m["channel"] == "template"]
    shown = {f["label"]: f["value"] for f in card["fields"]}
    assert card["title"] == "社区公告通知" and len(shown["公告标题"]) == 20 and shown["公告标题"].endswith("…")


def test_tags_and_batch_limits(api, registered, sim):
    people = [registered(f"p{i}") for i in range(3)]
    tag = api.post("tags/create", {"tag": {"name": "金宁社区"}})["tag"]["id"]
    assert api.post("tags/create", {"tag": {"name": "金宁社区"}})["errcode"] == 45157
    assert api.post("tags/members/batchtagging",
                    {"openid_list": [f"o{i}" for i in range(51)], "tagid": tag})["errcode"] == 40032
    assert api.post("tags/members/batchtagging", {"openid_list": [], "tagid": tag})["errcode"] == 40032
    ok = api.post("tags/members/batchtagging",
                  {"openid_list": [p.openid for p in people], "tagid": tag})
    assert ok["errcode"] == 0
    assert api.get("tags/get")["tags"][0]["count"] == 3


def test_mass_send_quota_four_a_month(api, registered, sim):
    a, b = registered("a"), registered("b")
    for n in range(5):
        result = api.post("message/mass/send", {"touser": [a.openid, b.openid], "msgtype": "text",
                                                "text": {"content": f"通知{n}"}, "clientmsgid": f"m{n}"})
        assert result["errcode"] == 0
    assert len([m for m in a.pushes() if m["channel"] == "mass"]) == 4
    dup = api.post("message/mass/send", {"touser": [a.openid, b.openid], "msgtype": "text",
                                         "text": {"content": "x"}, "clientmsgid": "m1"})
    assert dup["errcode"] == 45065
    one = api.post("message/mass/send", {"touser": [a.openid], "msgtype": "text",
                                         "text": {"content": "x"}})
    assert one["errcode"] == 40130


def test_daily_quota_and_fault_injection(api, follower, sim):
    follower.say("菜单")
    sim.settings(quotas={"message/custom/send": 2})
    assert [api.custom(follower.openid) for _ in range(3)] == [0, 0, 45009]
    sim.fault("menu/get", "http500", count=1)
    r = requests.get(f"{api.base}/cgi-bin/menu/get", params={"access_token": api.token})
    assert r.status_code == 502
    sim.fault("menu/get", "errcode", errcode=-1, count=1)
    assert api.get("menu/get")["errcode"] == -1
    assert api.get("menu/get")["errcode"] == 46003  # faults were for one call each


def test_menu_limits(api, sim):
    four = [{"type": "click", "name": f"b{i}", "key": f"K{i}"} for i in range(4)]
    assert api.post("menu/create", {"button": four})["errcode"] == 40016
    six_subs = [{"name": "更多", "sub_button": four + four[:2]}]
    assert api.post("menu/create", {"button": six_subs})["errcode"] == 40023
    assert api.post("menu/create", {"button": four[:3]})["errcode"] == 0
    assert api.get("menu/get")["menu"]["button"][2]["key"] == "K2"


def test_user_info_and_media(api, follower, sim):
    info = api.get("user/info", openid=follower.openid)
    assert info["subscribe"] == 1 and info["openid"] == follower.openid
    assert api.get("media/get", media_id="nope")["errcode"] == 40007


def test_delivery_reports_reach_the_webhook(api, follower, sim, db):
    import time

    from sqlalchemy import select

    from models import PlatformEvent
    sim.settings(report_events=True)
    body = {"touser": follower.openid, "template_id": "TPL_NOTICE", "data": NOTICE}
    msgid = api.post("message/template/send", body)["msgid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        db.rollback()
        event = db.scalars(select(PlatformEvent).where(PlatformEvent.msg_id == str(msgid))).first()
        if event:
            break
        time.sleep(0.1)
    assert event is not None and event.event == "templatesendjobfinish" and event.status == "success"
