"""The webhook's contract with WeChat: signatures, timestamps, encryption, every bad input.
Most run against the app in-process (its test client, the real signing and AES); key
rotation and plaintext mode run their own servers."""
from __future__ import annotations

import hashlib
import time

import pytest
import requests as http
from wechatpy.crypto import WeChatCrypto

from linli.app import create_app
from tests.conftest import AES_KEY, LiveServer, free_port

TOKEN = "linlidemotoken"
APPID = "wx5e11aa0000d3m0"
OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlk0"


def sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(extra: dict | None = None, token: str = TOKEN, ts: str | None = None,
           nonce: str = "nonce42") -> dict:
    ts = str(int(time.time())) if ts is None else ts
    return {"timestamp": ts, "nonce": nonce, "signature": sha1(token, ts, nonce), **(extra or {})}


def text_xml(content: str = "菜单", openid: str = "oTester", msg_id: int = 1,
             create_time: str | None = None) -> str:
    create_time = str(int(time.time())) if create_time is None else create_time
    return (f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]>"
            f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def encrypt(xml: str, key: str = AES_KEY, compatible: bool = False) -> tuple[dict, str]:
    params = signed()
    envelope = WeChatCrypto(TOKEN, key, APPID).encrypt_message(xml, params["nonce"],
                                                                params["timestamp"])
    enc = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    params.update(encrypt_type="aes", msg_signature=sha1(TOKEN, params["timestamp"],
                                                         params["nonce"], enc))
    inner = xml[5:-6] if compatible else "<ToUserName><![CDATA[gh_x]]></ToUserName>"
    return params, f"<xml>{inner}<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"


def decrypt_reply(body: str, key: str = AES_KEY) -> str:
    crypto = WeChatCrypto(TOKEN, key, APPID)
    import re
    sig = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", body).group(1)
    ts = re.search(r"<TimeStamp>(.*?)</TimeStamp>", body).group(1)
    nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", body).group(1)
    return crypto.decrypt_message(body, sig, ts, nonce)


class InProcess:
    """`requests`-like calls against the app's test client (the clock is the real time here:
    WeChat signs with its own clock, and the window is checked against ours)."""

    def __init__(self, client):
        self.client = client

    def get(self, _url, params=None):
        return _Answer(self.client.get("/wechat", query_string=params or {}))

    def post(self, _url, params=None, data=b""):
        return _Answer(self.client.post("/wechat", query_string=params or {}, data=data))


class _Answer:
    def __init__(self, response):
        self.status_code, self.text = response.status_code, response.get_data(as_text=True)


@pytest.fixture
def url(app, clock):
    from datetime import datetime, timezone

    clock.set(datetime.now(timezone.utc))
    return "/wechat"


@pytest.fixture
def requests(app):  # noqa: F811 - shadows the module for the in-process tests
    return InProcess(app.test_client())


def test_url_verification_echoes(url, requests):
    r = requests.get(url, params=signed({"echostr": "8372645"}))
    assert r.status_code == 200 and r.text == "8372645"


def test_url_verification_with_bad_signature_is_403(url, requests):
    r = requests.get(url, params={**signed({"echostr": "x"}), "signature": "0" * 40})
    assert r.status_code == 403 and "signature" in r.text


@pytest.mark.parametrize("params", [{}, {"signature": "abc", "timestamp": "1", "nonce": "n"}])
def test_post_without_valid_signature_is_403(url, requests, params):
    r = requests.post(url, params=params, data=text_xml())
    assert r.status_code == 403


def test_safe_mode_round_trip(url, requests):
    params, body = encrypt(text_xml("菜单", msg_id=11))
    r = requests.post(url, params=params, data=body.encode())
    assert r.status_code == 200
    plain = decrypt_reply(r.text)
    assert "请回复数字选择" in plain or "请先选择" in plain


def test_compatible_mode_body_is_decrypted(url, requests):
    params, body = encrypt(text_xml("菜单", msg_id=12), compatible=True)
    r = requests.post(url, params=params, data=body.encode())
    assert r.status_code == 200 and "<Encrypt>" in r.text


def test_wrong_msg_signature_is_403(url, requests):
    params, body = encrypt(text_xml(msg_id=13))
    params["msg_signature"] = "f" * 40
    assert requests.post(url, params=params, data=body.encode()).status_code == 403


def test_undecryptable_message_is_400(url, requests):
    params, body = encrypt(text_xml(msg_id=14), key=OTHER_KEY)
    r = requests.post(url, params=params, data=body.encode())
    assert r.status_code == 400 and "decrypt" in r.text


def test_plaintext_request_to_safe_mode_account_is_400(url, requests):
    r = requests.post(url, params=signed(), data=text_xml(msg_id=15))
    assert r.status_code == 400 and "safe mode" in r.text


def test_oversized_body_is_413(url, requests):
    r = requests.post(url, params=signed(), data=b"<xml>" + b"a" * 70_000 + b"</xml>")
    assert r.status_code == 413


@pytest.mark.parametrize("body, reason", [
    ("this is not xml", "not well-formed"),
    ("<xml><ToUserName>a</ToUserName>", "not well-formed"),
    ("<html></html>", "root element"),
    ("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>",
     "CreateTime"),
    ("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
     "<MsgType>text</MsgType><Content>x</Content></xml>", "MsgId"),
    ("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
     "<MsgType>event</MsgType></xml>", "Event"),
    ("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>soon</CreateTime>"
     "<MsgType>text</MsgType><MsgId>1</MsgId></xml>", "CreateTime"),
])
def test_malformed_messages_are_400(url, requests, body, reason):
    params, enc = encrypt(body)
    r = requests.post(url, params=params, data=enc.encode())
    assert r.status_code == 400 and reason in r.text
    assert "Traceback" not in r.text


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10))
                  + ']><xml><Content>&lol9;</Content></xml>')
XXE = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>'
       '<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
@pytest.mark.parametrize("layer", ["envelope", "inner"])
def test_entity_attacks_are_rejected_quickly(url, requests, body, layer):
    if layer == "inner":
        params, data = encrypt(body)
    else:
        params = {**signed(), "encrypt_type": "aes", "msg_signature": "x"}
        data = body
    started = time.monotonic()
    r = requests.post(url, params=params, data=data.encode())
    assert r.status_code == 400 and "DTD" in r.text
    assert time.monotonic() - started < 1.0
    assert "root:" not in r.text


def test_unknown_message_type_gets_polite_reply(url, requests):
    xml = text_xml(msg_id=16).replace("<MsgType><![CDATA[text]]>", "<MsgType><![CDATA[hologram]]>")
    params, body = encrypt(xml)
    reply = decrypt_reply(requests.post(url, params=params, data=body.encode()).text)
    assert "暂时无法处理这类消息" in reply


def test_unknown_event_gets_success(url, requests):
    xml = (f"<xml><ToUserName>gh</ToUserName><FromUserName>oEv</FromUserName><CreateTime>"
           f"{int(time.time())}</CreateTime><MsgType>event</MsgType><Event>teleport</Event></xml>")
    params, body = encrypt(xml)
    r = requests.post(url, params=params, data=body.encode())
    assert r.status_code == 200 and r.text == "success"


@pytest.fixture
def rotated_server(config):
    """The bot after a key rotation: new key in force, the old one kept as fallback."""
    rotated = config.with_overrides({"wechat": {
                          "encoding_aes_key": OTHER_KEY, "previous_encoding_aes_key": AES_KEY}})
    server = LiveServer(create_app(rotated), free_port())
    yield f"{server.url}/wechat"
    server.stop()


def test_previous_key_still_decrypts_after_rotation(sim, rotated_server):
    requests = http
    for key, msg_id in ((OTHER_KEY, 21), (AES_KEY, 22)):
        params, body = encrypt(text_xml("菜单", openid="oRot", msg_id=msg_id), key=key)
        r = requests.post(rotated_server, params=params, data=body.encode())
        assert r.status_code == 200
        assert "请" in decrypt_reply(r.text, key=key)  # answered with the key that worked


@pytest.fixture
def plain_server(config):
    plain = config.with_overrides({"wechat": {"encoding_aes_key": ""}})
    server = LiveServer(create_app(plain), free_port())
    yield f"{server.url}/wechat"
    server.stop()


def test_plaintext_mode_round_trip_and_refuses_encrypted(sim, plain_server):
    requests = http
    r = requests.post(plain_server, params=signed(), data=text_xml("菜单", openid="oPlain", msg_id=31))
    assert r.status_code == 200 and "<Content><![CDATA[" in r.text
    params, body = encrypt(text_xml(msg_id=32))
    r = requests.post(plain_server, params=params, data=body.encode())
    assert r.status_code == 400 and "no EncodingAESKey" in r.text


def test_simulator_in_plain_mode_talks_to_plain_server(sim, plain_server):
    sim.settings(webhook_url=plain_server, mode="plain")
    p = sim.persona()
    assert "请先选择您所在的社区" in p.follow()


@pytest.mark.parametrize("params", [
    {"timestamp": "", "nonce": ""}, {"timestamp": "", "nonce": "n"}, {"nonce": "n"}, {}],
    ids=["both-empty", "no-timestamp", "timestamp-missing", "nothing"])
def test_signature_without_timestamp_or_nonce_is_refused(url, requests, params):
    parts = [params.get("timestamp", ""), params.get("nonce", "")]
    query = {**params, "signature": sha1(TOKEN, *parts), "echostr": "x"}
    assert requests.get(url, params=query).status_code == 403
    assert requests.post(url, params=query, data=text_xml()).status_code == 403


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_timestamp_outside_the_window_is_refused(url, requests, skew):
    stale = signed(ts=str(int(time.time()) + skew))
    assert requests.get(url, params={**stale, "echostr": "x"}).status_code == 403
    r = requests.post(url, params=stale, data=text_xml())
    assert r.status_code == 403 and "window" in r.text


def test_timestamp_inside_the_window_is_fine(url, requests):
    assert requests.get(url, params=signed({"echostr": "ok"}, ts=str(int(time.time()) - 120))).text == "ok"


@pytest.mark.parametrize("create_time", ["²", "፩", "1" * 5000, "-1", "1e9", " "])
def test_odd_create_times_are_400(url, requests, create_time):
    params, body = encrypt(text_xml(msg_id=41, create_time=create_time))
    r = requests.post(url, params=params, data=body.encode())
    assert r.status_code == 400 and "CreateTime" in r.text


@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="bogus"?>',
                                         '<?xml version="1.0" encoding="utf-32"?>'])
def test_unknown_xml_encodings_are_400(url, requests, declaration):
    # inside the AES envelope the text is already decoded: the declaration has nothing to do
    params, body = encrypt(declaration + text_xml(msg_id=42))
    assert requests.post(url, params=params, data=body.encode()).status_code in (200, 400)
    # as the envelope itself, it cannot be read: 400, never 500
    params, body = encrypt(text_xml(msg_id=43))
    r = requests.post(url, params=params, data=(declaration + body).encode())
    assert r.status_code == 400 and "Traceback" not in r.text
