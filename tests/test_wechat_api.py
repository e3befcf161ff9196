"""The outbound client: one access token shared by every process, refreshed under a lock."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from wechatpy.exceptions import WeChatClientException

from core.db import make_engine, make_session_factory
from core.wechat_api import WeChatAPI
from models import AccessToken


@pytest.fixture
def make_api(sim, config):
    """Each call builds a client with its own engine, as a separate process would."""
    engines = []

    def make() -> WeChatAPI:
        engine = make_engine(config.database.url)
        engines.append(engine)
        return WeChatAPI(config, make_session_factory(engine))
    yield make
    for engine in engines:
        engine.dispose()


def test_processes_share_one_token(sim, make_api, db):
    first, second = make_api(), make_api()
    assert first.token() == second.token()
    assert sim.state()["token_fetches"] == 1
    db.rollback()
    assert db.get(AccessToken, first.appid).token == first.token()


def test_concurrent_first_use_fetches_once(sim, make_api):
    apis = [make_api() for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        tokens = set(pool.map(lambda api: api.token(), apis))
    assert len(tokens) == 1 and sim.state()["token_fetches"] == 1


def test_invalidated_token_is_refreshed_once_and_the_call_retried(sim, make_api):
    api, other = make_api(), make_api()
    api.post("menu/create", {"button": [{"type": "click", "name": "帮助", "key": "HELP"}]})
    sim.invalidate_tokens()
    assert api.get("menu/get")["menu"]["button"][0]["key"] == "HELP"
    assert sim.state()["token_fetches"] == 2
    # the other process picks up the refreshed token instead of fetching its own
    assert other.get("menu/get")["menu"]["button"][0]["key"] == "HELP"
    assert sim.state()["token_fetches"] == 2


def test_api_errors_surface_with_their_code(sim, make_api):
    api = make_api()
    with pytest.raises(WeChatClientException) as err:
        api.post("menu/create", {"button": []})
    assert err.value.errcode == 40016


def test_http_timeout_is_applied(sim, config):
    import time

    import requests
    quick = config.with_overrides({"wechat": {"http_timeout": 0.5}})
    engine = make_engine(quick.database.url)
    try:
        api = WeChatAPI(quick, make_session_factory(engine))
        api.token()
        sim.fault("menu/get", "latency", latency_ms=1300, count=1)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            api.get("menu/get")
        assert time.monotonic() - started < 1.2  # the configured timeout, not the server's pace
    finally:
        engine.dispose()


def test_wrong_secret_is_reported(sim, config):
    bad = config.with_overrides({"wechat": {"secret": "wrong"}})
    engine = make_engine(bad.database.url)
    try:
        with pytest.raises(WeChatClientException) as err:
            WeChatAPI(bad, make_session_factory(engine)).token()
        assert err.value.errcode == 40001
    finally:
        engine.dispose()
